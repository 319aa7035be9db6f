"""/ops/trading/: platforms, accounts, deals, positions, symbols."""

from django.urls import include, path

urlpatterns = [path("", include("trading.ops.urls"))]
