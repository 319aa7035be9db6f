"""KYC's figures on the ops dashboard."""

from brokerage.dashboard import Card, register_card
from crm.models import Client

register_card(
    Card(
        "Awaiting verification",
        "kyc_review",
        lambda: Client.objects.filter(status=Client.Status.REGISTERED).count(),
        "ops:kyc_home",
        20,
    )
)
