from django.apps import AppConfig


class BrokerageConfig(AppConfig):
    name = "brokerage"
    verbose_name = "Kernel"

    def ready(self) -> None:
        from brokerage import navigation
        from brokerage.dashboard import Card, register_card
        from brokerage.models import User
        from brokerage.roles import STAFF_ROLES

        navigation.register_ops(
            navigation.NavItem("Dashboard", "ops:dashboard", "ops_access", order=0),
            navigation.NavItem("Staff", "ops:staff_list", "staff_manage", order=90),
            navigation.NavItem("Audit trail", "ops:audit_list", "audit_view", order=95),
        )
        register_card(
            Card(
                "Active staff",
                "staff_manage",
                lambda: User.objects.filter(is_active=True, groups__name__in=STAFF_ROLES).distinct().count(),
                "ops:staff_list",
                90,
            )
        )
