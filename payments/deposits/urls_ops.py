from django.urls import path

from payments.deposits import views

urlpatterns = [
    path("", views.ops_deposit_list, name="payments_deposits"),
    # By public id; by primary key too, for pages that hold only a foreign key (reconciliation).
    path("<uuid:public_id>/", views.ops_deposit_detail, name="payments_deposit"),
    path("<int:pk>/", views.ops_deposit_detail, name="payments_deposit"),
    path("<uuid:public_id>/confirm/", views.ops_deposit_confirm, name="payments_deposit_confirm"),
    path("<uuid:public_id>/fail/", views.ops_deposit_fail, name="payments_deposit_fail"),
]
