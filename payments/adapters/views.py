"""Hosted pages of the built-in sandbox PSPs (what the provider would serve on its own site)."""

from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from payments.adapters.forms import SandboxCardForm
from payments.adapters.registry import adapter_for
from payments.adapters.sandbox_card import TEST_CARDS
from payments.adapters.simulators import FAILING_PAYOUT_CENTS
from payments.models import SandboxCheckout


def sandbox_card_checkout(request, token: str):
    """The card checkout: the opaque token is the only key, as on a real PSP's hosted page."""
    checkout = get_object_or_404(SandboxCheckout.objects.select_related("method"), token=token)
    is_open = checkout.status == SandboxCheckout.Status.OPEN and checkout.expires_at > timezone.now()
    form = SandboxCardForm(request.POST or None)
    if request.method == "POST" and is_open:
        approve = request.POST.get("action") == "approve"
        if not approve or form.is_valid():
            card = form.card if form.is_valid() else None
            adapter_for(checkout.method).checkout_complete(checkout, approve=approve, card=card)
            return redirect(checkout.return_url)
    context = {
        "checkout": checkout,
        "is_open": is_open,
        "form": form,
        "test_cards": TEST_CARDS.values(),
        "failing_cents": f".{FAILING_PAYOUT_CENTS}",
    }
    return render(request, "payments/psp/sandbox_card_checkout.html", context)
