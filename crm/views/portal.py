from django.db.models import Count, Q
from django.shortcuts import render

from brokerage.permissions import capability_required
from crm.models import Client


@capability_required("portal_access")
def portal_home(request):
    """The client's overview; its next steps follow where they are (wallet funded? live account? funded?)."""
    client = Client.objects.filter(user=request.user).first()
    progress = {}
    if client is not None:
        # Two small aggregates over the client's own rows, through the reverse relations of the
        # payments ledger and the trading accounts.
        money = client.ledger_accounts.aggregate(
            wallet=Count("id", filter=Q(kind="client_wallet", balance__gt=0)),
            trading=Count("id", filter=Q(kind="client_trading", balance__gt=0)),
        )
        accounts = client.trading_accounts.aggregate(
            live=Count("id", filter=Q(is_demo=False)), demo=Count("id", filter=Q(is_demo=True))
        )
        progress = {
            "wallet_funded": bool(money["wallet"] or money["trading"]),
            "trading_funded": bool(money["trading"]),
            "has_live": bool(accounts["live"]),
            "has_demo": bool(accounts["demo"]),
        }
    return render(request, "portal/home.html", {"client": client, "progress": progress})
