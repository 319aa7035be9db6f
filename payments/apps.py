from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from brokerage.dashboard import Card, register_card
        from brokerage.navigation import NavItem, register_ops, register_portal
        from payments import selectors

        register_ops(NavItem("Payments", "ops:payments_home", "payments_view", order=30))
        register_portal(NavItem("Funds", "portal:funds", "portal_access", order=10))
        # One COUNT query each: the dashboard is everyone's first page.
        register_card(
            Card(
                "Deposits today", "payments_view", selectors.deposits_completed_today_count, "ops:payments_deposits", 30
            )
        )
        register_card(
            Card("Open withdrawals", "payments_view", selectors.withdrawals_open_count, "ops:payments_withdrawals", 31)
        )
        post_migrate.connect(_defaults_after_migrate, sender=self, dispatch_uid="payments.defaults")


def _defaults_after_migrate(sender, using, **kwargs) -> None:
    from django.db import connections

    from payments.defaults import payment_defaults_ensure

    if connections[using].schema_name != "public":
        payment_defaults_ensure()
