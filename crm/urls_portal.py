from django.urls import path

from crm.views import portal as views

urlpatterns = [path("", views.portal_home, name="home")]
