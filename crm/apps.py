from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"

    def ready(self) -> None:
        from allauth.account.signals import email_changed

        from brokerage.navigation import NavItem, register_ops, register_portal

        # Registered on import: dashboard cards, timeline and activity hooks, segment criteria, search,
        # and the Celery task modules beside crm.tasks (which autodiscovery finds by itself).
        from crm import activity_tasks, cards, criteria, event_hooks, import_tasks, search  # noqa: F401

        email_changed.connect(_sync_client_email, dispatch_uid="crm.client_email_sync")
        register_ops(
            NavItem("Clients", "ops:crm_client_list", "crm_view_client", order=10),
            NavItem("Leads", "ops:crm_leads", "crm_view_client", order=11),
            NavItem("Segments", "ops:crm_segments", "crm_view_client", order=12),
            NavItem("Tasks", "ops:crm_tasks", "crm_change_client", order=13),
            NavItem("Sales", "ops:crm_kpis", "crm_view_client", order=15),
            NavItem("Email templates", "ops:crm_email_templates", "crm_manage", order=16),
        )
        register_portal(
            NavItem("Overview", "portal:home", "portal_access", order=0),
            NavItem("Profile", "portal:profile", "portal_access", order=90),
        )


def _sync_client_email(sender, request, user, **kwargs) -> None:
    from crm.services import client_email_sync

    client_email_sync(user=user)
