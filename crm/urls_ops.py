from django.urls import path

from crm import views

urlpatterns = [path("clients/", views.client_list, name="crm_client_list")]
