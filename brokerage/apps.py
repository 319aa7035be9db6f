from django.apps import AppConfig


class BrokerageConfig(AppConfig):
    name = "brokerage"
    verbose_name = "Kernel"

    def ready(self) -> None:
        from brokerage import navigation
        from brokerage.dashboard import Card, register_card
        from brokerage.selectors import staff_list

        navigation.register_ops(
            navigation.NavItem("Dashboard", "ops:dashboard", "ops_access", order=0),
            navigation.NavItem("Staff", "ops:staff_list", "staff_manage", order=90),
            navigation.NavItem("Audit trail", "ops:audit_list", "audit_view", order=95),
        )
        register_card(
            Card(
                "Active staff",
                "staff_manage",
                lambda: staff_list().filter(is_active=True).count(),
                "ops:staff_list",
                90,
            )
        )
