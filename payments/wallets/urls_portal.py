from django.urls import path

from payments.wallets import views

urlpatterns = [path("", views.portal_funds, name="funds")]
