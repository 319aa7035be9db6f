from django.urls import path

from kyc import views

urlpatterns = [path("", views.kyc_home, name="kyc_home")]
