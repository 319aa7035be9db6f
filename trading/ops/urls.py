"""/ops/trading/ (namespace "ops"): overview and platforms, accounts, deals, positions, symbols, clients."""

from django.urls import path, register_converter

from trading.ops import views, views_accounts, views_deals, views_symbols


class PlatformNameConverter:
    """A login or symbol name as platforms spell them ("500012", "EURUSD.pro", "US30#"): any characters
    but a slash or a NUL byte. A NUL would reach PostgreSQL, which refuses it (a 500); now it is a 404."""

    regex = r"[^/\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(PlatformNameConverter, "trading_name")

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
    path("accounts/<trading_name:login>/", views_accounts.account_detail, name="trading_account"),
    path("accounts/<trading_name:login>/leverage/", views_accounts.account_leverage, name="trading_account_leverage"),
    path("accounts/<trading_name:login>/group/", views_accounts.account_group, name="trading_account_group"),
    path("accounts/<trading_name:login>/status/", views_accounts.account_status, name="trading_account_status"),
    path("accounts/<trading_name:login>/refresh/", views_accounts.account_refresh, name="trading_account_refresh"),
    path("deals/", views_deals.deal_list, name="trading_deals"),
    path("deals/today/", views_deals.deals_today, name="trading_deals_today"),
    path("deals.csv", views_deals.deal_csv, name="trading_deals_csv"),
    path("positions/", views_deals.position_list, name="trading_positions"),
    path("clients/<int:client_id>/", views_deals.client_summary, name="trading_client"),
    path("symbols/", views_symbols.symbol_list, name="trading_symbols"),
    path("symbols/policy/", views_symbols.policy_edit, name="trading_policy"),
    path("symbols/<trading_name:name>/", views_symbols.symbol_edit, name="trading_symbol"),
    path("symbols/<trading_name:name>/aliases/", views_symbols.alias_add, name="trading_symbol_alias_add"),
    path(
        "symbols/<trading_name:name>/aliases/<int:alias_id>/remove/",
        views_symbols.alias_remove,
        name="trading_symbol_alias_remove",
    ),
]
