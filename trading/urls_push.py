"""/trading/push/<platform>/: signed real-time events from a platform's push bridge."""

from django.urls import include, path

urlpatterns = [path("", include("trading.sync.urls_push"))]
