"""/ops/trading/ (namespace "ops"): overview and platforms, accounts, deals, positions, symbols, clients."""

from django.urls import path

from trading.ops import views, views_accounts, views_deals, views_symbols

urlpatterns = [
    path("", views.overview, name="trading_home"),
    path("platforms/new/", views.platform_new, name="trading_platform_new"),
    path("platforms/<slug:code>/", views.platform_edit, name="trading_platform"),
    path("platforms/<slug:code>/test/", views.platform_test, name="trading_platform_test"),
    path("platforms/<slug:code>/sync/", views.platform_sync_now, name="trading_platform_sync"),
    path("platforms/<slug:code>/active/", views.platform_active, name="trading_platform_active"),
    path("platforms/<slug:code>/rotate-secret/", views.platform_rotate_secret, name="trading_platform_rotate_secret"),
    path("problems/<int:pk>/resolve/", views.problem_resolve, name="trading_problem_resolve"),
    path("accounts/", views_accounts.account_list, name="trading_accounts"),
    path("accounts/<str:login>/", views_accounts.account_detail, name="trading_account"),
    path("accounts/<str:login>/leverage/", views_accounts.account_leverage, name="trading_account_leverage"),
    path("accounts/<str:login>/group/", views_accounts.account_group, name="trading_account_group"),
    path("accounts/<str:login>/status/", views_accounts.account_status, name="trading_account_status"),
    path("accounts/<str:login>/refresh/", views_accounts.account_refresh, name="trading_account_refresh"),
    path("deals/", views_deals.deal_list, name="trading_deals"),
    path("deals/today/", views_deals.deals_today, name="trading_deals_today"),
    path("deals.csv", views_deals.deal_csv, name="trading_deals_csv"),
    path("positions/", views_deals.position_list, name="trading_positions"),
    path("clients/<int:client_id>/", views_deals.client_summary, name="trading_client"),
    path("symbols/", views_symbols.symbol_list, name="trading_symbols"),
    path("symbols/policy/", views_symbols.policy_edit, name="trading_policy"),
    path("symbols/<str:name>/", views_symbols.symbol_edit, name="trading_symbol"),
    path("symbols/<str:name>/aliases/", views_symbols.alias_add, name="trading_symbol_alias_add"),
    path(
        "symbols/<str:name>/aliases/<int:alias_id>/remove/",
        views_symbols.alias_remove,
        name="trading_symbol_alias_remove",
    ),
]
