"""The CRM's figures on the ops dashboard."""

from django.utils import timezone

from brokerage.dashboard import Card, register_card
from crm.models import Client

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
