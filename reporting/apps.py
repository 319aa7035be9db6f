from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"

    def ready(self) -> None:
        from brokerage.navigation import NavItem, register_ops

        register_ops(NavItem("Reports", "ops:reporting_home", "reporting_view", order=70))
