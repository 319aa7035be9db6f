from django.urls import path

from payments.deposits import views

urlpatterns = [
    path("", views.deposit_new, name="deposit_new"),
    path("preview/", views.deposit_preview, name="deposit_preview"),
    path("history/", views.deposit_list, name="deposit_list"),
    path("<uuid:public_id>/", views.deposit_detail, name="deposit_detail"),
    path("<uuid:public_id>/simulate-send/", views.deposit_simulate_send, name="deposit_simulate_send"),
]
