from django.urls import path

from crm import views

urlpatterns = [path("", views.portal_home, name="home")]
