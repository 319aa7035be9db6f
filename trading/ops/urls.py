from django.urls import path

from brokerage.module_page import module_home

urlpatterns = [
    path("", module_home(title="Trading", capability="trading_view", summary="", coming=[]), name="trading_home")
]
