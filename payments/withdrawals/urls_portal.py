from django.urls import path

from payments.withdrawals import views

urlpatterns = [
    path("", views.portal_withdrawal_new, name="withdrawal_new"),
    path("quote/", views.portal_withdrawal_quote, name="withdrawal_quote"),
    path("history/", views.portal_withdrawal_list, name="withdrawal_list"),
    path("<uuid:public_id>/", views.portal_withdrawal_detail, name="withdrawal_detail"),
    path("<uuid:public_id>/cancel/", views.portal_withdrawal_cancel, name="withdrawal_cancel"),
]
