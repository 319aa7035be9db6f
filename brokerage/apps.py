from django.apps import AppConfig


class BrokerageConfig(AppConfig):
    name = "brokerage"
    verbose_name = "Kernel"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(_roles_sync_after_migrate, dispatch_uid="brokerage.roles_sync")
        from brokerage import cards, jobs, navigation  # noqa: F401 - cards register, jobs connects task_failure

        navigation.register_ops(
            navigation.NavItem("Dashboard", "ops:dashboard", "ops_access", order=0),
            navigation.NavItem("Staff", "ops:staff_list", "staff_manage", order=90),
            navigation.NavItem("Audit trail", "ops:audit_list", "audit_view", order=95),
            navigation.NavItem("Failed jobs", "ops:jobs", "staff_manage", order=96),
        )


def _roles_sync_after_migrate(sender, using, **kwargs) -> None:
    """Keep each tenant's role groups in step with the table when capabilities change."""
    from django.apps import apps
    from django.db import connections

    from brokerage.staff import roles_sync

    # post_migrate fires once per app; permissions exist only after the last one.
    last = [config for config in apps.get_app_configs() if config.models_module][-1]
    if sender is last and connections[using].schema_name != "public":
        roles_sync()
