from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from brokerage.dashboard import Card, register_card
        from brokerage.navigation import NavItem, register_ops, register_portal
        from payments.trading_gateway import gateway_register
        from trading import gateway, selectors

        register_ops(NavItem("Trading", "ops:trading_home", "trading_view", order=40))
        register_portal(NavItem("Trading", "portal:trading_accounts", "portal_access", order=20))
        # One query each: the dashboard is everyone's first page.
        register_card(
            Card(
                "Trading volume today (lots)",
                "trading_view",
                selectors.volume_today_lots,
                "ops:trading_deals_today",
                40,
            )
        )
        register_card(
            Card(
                "Platforms with problems",
                "trading_view",
                selectors.platforms_with_problems_count,
                "ops:trading_home",
                41,
            )
        )
        gateway_register("platforms", gateway.PlatformGateway(), handles=gateway.handles)
        post_migrate.connect(_defaults_after_migrate, sender=self, dispatch_uid="trading.defaults")


def _defaults_after_migrate(sender, using, **kwargs) -> None:
    from django.db import connections

    from trading.defaults import trading_defaults_ensure

    if connections[using].schema_name != "public":
        trading_defaults_ensure()
