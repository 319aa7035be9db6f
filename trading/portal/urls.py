from django.urls import path

from brokerage.module_page import module_home

urlpatterns = [
    path("", module_home(title="Trading", capability="portal_access", summary="", coming=[]), name="trading_accounts")
]
