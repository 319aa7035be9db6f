"""/trading/push/<platform code>/ (mounted by trading.urls_push)."""

from django.urls import path

from trading.sync.views import push_endpoint

app_name = "trading_push"
urlpatterns = [path("<slug:platform_code>/", push_endpoint, name="push")]
