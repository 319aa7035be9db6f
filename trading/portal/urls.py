"""/portal/trading/ (namespace "portal"): the client's trading accounts, transfers and history."""

from django.urls import path

from trading.portal import views

urlpatterns = [
    path("", views.accounts, name="trading_accounts"),
    path("open/", views.account_open, name="trading_open"),
    path("history/", views.history, name="trading_history"),
    path("history/export.csv", views.history_csv, name="trading_history_csv"),
    path("<str:login>/", views.account_detail, name="trading_account"),
    path("<str:login>/refresh/", views.account_refresh, name="trading_account_refresh"),
    path("<str:login>/transfers/", views.account_transfers, name="trading_account_transfers"),
    path("<str:login>/transfer/<str:direction>/", views.account_transfer, name="trading_transfer"),
]
