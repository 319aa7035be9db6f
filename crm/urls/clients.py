from django.urls import path

from crm.views import clients as views

urlpatterns = [
    path("clients/", views.client_list, name="crm_client_list"),
]
