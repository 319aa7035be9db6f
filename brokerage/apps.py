from django.apps import AppConfig


class BrokerageConfig(AppConfig):
    name = "brokerage"
    verbose_name = "Kernel"

    def ready(self) -> None:
        from brokerage import navigation

        navigation.register_ops(
            navigation.NavItem("Dashboard", "ops:dashboard", "ops_access", order=0),
            navigation.NavItem("Staff", "ops:staff_list", "staff_manage", order=90),
            navigation.NavItem("Audit trail", "ops:audit_list", "audit_view", order=95),
        )
