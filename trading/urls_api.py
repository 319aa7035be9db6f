"""/api/v1/ endpoints of the trading module."""

from django.urls import include, path

urlpatterns = [path("", include("trading.ops.urls_api"))]
