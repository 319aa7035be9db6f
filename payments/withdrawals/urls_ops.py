from django.urls import path

from payments.withdrawals import views

urlpatterns = [
    path("", views.ops_withdrawal_list, name="payments_withdrawals"),
    path("<uuid:public_id>/", views.ops_withdrawal_detail, name="payments_withdrawal"),
    path("<uuid:public_id>/approve/", views.ops_withdrawal_approve, name="payments_withdrawal_approve"),
    path("<uuid:public_id>/reject/", views.ops_withdrawal_reject, name="payments_withdrawal_reject"),
    path("<uuid:public_id>/send-again/", views.ops_withdrawal_requeue, name="payments_withdrawal_requeue"),
    path("<uuid:public_id>/fail/", views.ops_withdrawal_fail, name="payments_withdrawal_fail"),
]
