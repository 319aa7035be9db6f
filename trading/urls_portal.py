"""/portal/trading/: the client's trading accounts and history."""

from django.urls import include, path

urlpatterns = [path("", include("trading.portal.urls"))]
