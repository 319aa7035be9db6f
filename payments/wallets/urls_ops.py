from django.urls import path

from payments.wallets import views

urlpatterns = [path("", views.ops_home, name="payments_home")]
