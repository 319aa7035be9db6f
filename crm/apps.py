from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"

    def ready(self) -> None:
        from allauth.account.signals import email_changed

        from brokerage.navigation import NavItem, register_ops, register_portal

        # Dashboard cards, timeline and activity hooks, segment criteria and search, registered on import.
        from crm import cards, criteria, event_hooks, search  # noqa: F401

        email_changed.connect(_sync_client_email, dispatch_uid="crm.client_email_sync")
        register_ops(NavItem("Clients", "ops:crm_client_list", "crm_view_client", order=10))
        register_portal(NavItem("Overview", "portal:home", "portal_access", order=0))


def _sync_client_email(sender, request, user, **kwargs) -> None:
    from crm.services import client_email_sync

    client_email_sync(user=user)
