from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "risk"

    def ready(self) -> None:
        from brokerage.navigation import NavItem, register_ops

        register_ops(NavItem("Risk", "ops:risk_home", "risk_view", order=60))
