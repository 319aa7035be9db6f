from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"

    def ready(self) -> None:
        from brokerage.navigation import NavItem, register_ops

        register_ops(NavItem("Trading", "ops:trading_home", "trading_view", order=40))
