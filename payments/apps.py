from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from brokerage.navigation import NavItem, register_ops, register_portal

        # Dashboard cards, client 360 panels and timeline hooks, segment criteria, search: on import.
        from payments import cards, crm_hooks, search, segment_criteria  # noqa: F401

        register_ops(NavItem("Payments", "ops:payments_home", "payments_view", order=30))
        register_portal(NavItem("Funds", "portal:funds", "portal_access", order=10))
        post_migrate.connect(_defaults_after_migrate, sender=self, dispatch_uid="payments.defaults")


def _defaults_after_migrate(sender, using, **kwargs) -> None:
    from django.db import connections

    from payments.defaults import payment_defaults_ensure

    if connections[using].schema_name != "public":
        payment_defaults_ensure()
