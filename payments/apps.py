from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from brokerage.navigation import NavItem, register_ops

        register_ops(NavItem("Payments", "ops:payments_home", "payments_view", order=30))
