from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from brokerage.navigation import NavItem, register_ops, register_portal
        from payments.trading_gateway import gateway_register

        # gateway is used below; the rest register dashboard cards, client 360 panels, timeline hooks,
        # segment criteria and search providers on import.
        from trading import cards, crm_hooks, gateway, search, segment_criteria  # noqa: F401

        register_ops(NavItem("Trading", "ops:trading_home", "trading_view", order=40))
        register_portal(NavItem("Trading", "portal:trading_accounts", "portal_access", order=20))
        gateway_register("platforms", gateway.PlatformGateway(), handles=gateway.handles)
        post_migrate.connect(_defaults_after_migrate, sender=self, dispatch_uid="trading.defaults")


def _defaults_after_migrate(sender, using, **kwargs) -> None:
    from django.db import connections

    from trading.defaults import trading_defaults_ensure

    if connections[using].schema_name != "public":
        trading_defaults_ensure()
