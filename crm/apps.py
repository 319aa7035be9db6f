from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"

    def ready(self) -> None:
        from allauth.account.signals import email_changed
        from django.utils import timezone

        from brokerage.dashboard import Card, register_card
        from brokerage.navigation import NavItem, register_ops, register_portal
        from crm.models import Client

        email_changed.connect(_sync_client_email, dispatch_uid="crm.client_email_sync")
        register_ops(NavItem("Clients", "ops:crm_client_list", "crm_view_client", order=10))
        register_portal(NavItem("Overview", "portal:home", "portal_access", order=0))
        register_card(Card("Clients", "crm_view_client", lambda: Client.objects.count(), "ops:crm_client_list", 10))
        register_card(
            Card(
                "Sign-ups today",
                "crm_view_client",
                lambda: Client.objects.filter(created_at__date=timezone.localdate()).count(),
                "ops:crm_client_list",
                11,
            )
        )


def _sync_client_email(sender, request, user, **kwargs) -> None:
    from crm.services import client_email_sync

    client_email_sync(user=user)
