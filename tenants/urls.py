from django.urls import path

from tenants import views

urlpatterns = [
    path("", views.tenant_list, name="tenant_list"),
    path("tenants/<slug:slug>/", views.tenant_detail, name="tenant_detail"),
    path("tenants/<slug:slug>/status/", views.tenant_status, name="tenant_status"),
]
