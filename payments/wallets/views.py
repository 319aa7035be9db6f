from django.core.paginator import Paginator
from django.shortcuts import render

from brokerage.permissions import capability_required
from crm.models import Client
from payments import selectors
from payments.models import Deposit, Withdrawal


@capability_required("payments_view")
def ops_home(request):
    context = {
        "tab": "home",
        "deposits_today": selectors.deposits_completed_today(),
        "withdrawals_open": selectors.withdrawals_open(),
        "withdrawals_paid_today": selectors.withdrawals_paid_today(),
        "wallet_totals": selectors.wallet_totals(),
        "recent_deposits": Deposit.objects.select_related("client", "method")[:8],
        "recent_withdrawals": Withdrawal.objects.select_related("client", "method")[:8],
    }
    return render(request, "payments/wallets/ops_home.html", context)


@capability_required("portal_access")
def portal_funds(request):
    client = Client.objects.filter(user=request.user).first()
    wallets = selectors.client_wallets(client) if client else []
    lines = selectors.client_statement(client) if client else []
    page = Paginator(lines, 20).get_page(request.GET.get("page"))
    return render(request, "payments/wallets/portal_funds.html", {"client": client, "wallets": wallets, "page": page})
