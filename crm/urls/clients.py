from django.urls import path

from crm.views import clients as views

urlpatterns = [
    path("clients/", views.client_list, name="crm_client_list"),
    path("clients/<int:client_id>/", views.client_detail, name="crm_client_detail"),
    path("clients/<int:client_id>/timeline/", views.client_timeline, name="crm_client_timeline"),
    path("clients/<int:client_id>/edit/", views.client_edit, name="crm_client_edit"),
]
