from django.urls import path

from partners import views

urlpatterns = [path("", views.portal_home, name="home")]
