"""The payments overview in /ops/ and the client's funds pages in /portal/ (wallets, statement, conversion)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from brokerage.csv_export import csv_download, csv_safe
from brokerage.errors import ApplicationError
from brokerage.money import quantize
from brokerage.permissions import capability_required
from kyc.requirements import deposit_allowance
from payments import ledger, selectors
from payments.models import Deposit, TradingTransfer, Withdrawal
from payments.rates import is_stale
from payments.wallets.conversion import conversion_execute, conversion_quote
from payments.wallets.forms import ConvertForm, StatementFilterForm, show_refusal
from payments.wallets.trading import RECOVER_AFTER


@capability_required("payments_view")
def ops_home(request):
    """What finance wants at a glance; POST runs the ledger proof (on demand: it reads every line)."""
    proof = None
    if request.method == "POST":
        proof = {"problems": ledger.ledger_problems(), "totals": ledger.ledger_totals(), "at": timezone.now()}
        if request.htmx:
            return render(request, "payments/wallets/_ledger_proof.html", {"proof": proof})
    rates = selectors.rates_latest()
    context = {
        "tab": "home",
        "proof": proof,
        "deposits_today": selectors.deposits_completed_today(),
        "withdrawals_open": selectors.withdrawals_open(),
        "withdrawals_paid_today": selectors.withdrawals_paid_today(),
        "wallet_totals": selectors.wallet_totals(),
        "stale_rates": sum(1 for rate in rates if is_stale(rate)),
        "rate_pairs": len(rates),
        "stuck_transfers": TradingTransfer.objects.filter(
            status=TradingTransfer.Status.PENDING, created_at__lt=timezone.now() - RECOVER_AFTER
        ).count(),
        "recent_deposits": Deposit.objects.select_related("client", "method")[:8],
        "recent_withdrawals": Withdrawal.objects.select_related("client", "method")[:8],
    }
    return render(request, "payments/wallets/ops_home.html", context)


# Portal -------------------------------------------------------------------------------------------


def _statement(request, client):
    wallets = selectors.client_wallets(client)
    form = StatementFilterForm(request.GET or None, currencies=[w.currency for w in wallets])
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    filters = {key: value for key, value in filters.items() if value}
    return wallets, form, selectors.client_statement(client, **filters)


@capability_required("portal_access")
def portal_funds(request):
    client = selectors.client_of(request.user)
    if client is None:
        return render(request, "payments/wallets/portal_funds.html", {"client": None})
    wallets, form, lines = _statement(request, client)
    page = Paginator(lines, 20).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "client": client,
        "wallets": wallets,
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "has_funds": any(w.available > 0 for w in wallets),
        # At a verification level without deposits, the first step is verifying, not depositing.
        "deposits_open": deposit_allowance(client).allowed,
    }
    return render(request, "payments/wallets/portal_funds.html", context)


@capability_required("portal_access")
def portal_statement_csv(request):
    client = selectors.client_of(request.user)
    if client is None:
        raise Http404
    _, _, lines = _statement(request, client)
    rows = (
        [
            line.transaction.posted_at.isoformat(),
            line.transaction.get_kind_display(),
            csv_safe(line.transaction.description),
            line.currency,
            f"{line.amount:f}",
            f"{line.balance_after:f}",
        ]
        for line in lines.iterator(chunk_size=500)
    )
    header = ["posted_at", "type", "description", "currency", "amount", "balance_after"]
    return csv_download("statement", header, rows)


def _convert_context(client):
    wallets = selectors.client_wallets(client)
    from_currencies = [w.currency for w in wallets if w.available > 0]
    to_currencies = selectors.rate_currencies()
    return wallets, from_currencies, to_currencies


def _quote_or_error(client, data) -> tuple[object, str]:
    try:
        quote = conversion_quote(
            client=client, from_currency=data["from_currency"], to_currency=data["to_currency"], amount=data["amount"]
        )
    except ApplicationError as error:
        return None, error.message
    return quote, ""


@capability_required("portal_access")
def portal_convert(request):
    client = selectors.client_of(request.user)
    if client is None:
        raise Http404
    wallets, from_currencies, to_currencies = _convert_context(client)
    form = ConvertForm(
        request.POST if request.method == "POST" else (request.GET or None),
        from_currencies=from_currencies,
        to_currencies=to_currencies,
    )
    quote, quote_error = None, ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            conversion = conversion_execute(
                client=client,
                from_currency=data["from_currency"],
                to_currency=data["to_currency"],
                amount=data["amount"],
                request_key=data["request_key"],
                actor=request.user,
                min_to_amount=data.get("quoted_to_amount"),
            )
        except ApplicationError as error:
            show_refusal(error, form)
        else:
            sold = quantize(conversion.from_amount, conversion.from_currency)
            bought = quantize(conversion.to_amount, conversion.to_currency)
            messages.success(
                request, f"Converted {sold:f} {conversion.from_currency} to {bought:f} {conversion.to_currency}."
            )
            return redirect("portal:funds")
    if form.is_bound and form.is_valid():
        quote, quote_error = _quote_or_error(client, form.cleaned_data)
    context = {
        "form": form,
        "wallets": wallets,
        "quote": quote,
        "quote_error": quote_error,
        "can_convert": bool(from_currencies),
    }
    return render(request, "payments/wallets/portal_convert.html", context)


@capability_required("portal_access")
def portal_convert_quote(request):
    """The live quote under the conversion form (HTMX), for what the form holds right now."""
    client = selectors.client_of(request.user)
    if client is None:
        raise Http404
    _, from_currencies, to_currencies = _convert_context(client)
    form = ConvertForm(request.GET, from_currencies=from_currencies, to_currencies=to_currencies)
    quote, quote_error = None, ""
    if form.is_valid():
        quote, quote_error = _quote_or_error(client, form.cleaned_data)
    elif form.errors.get("amount") or form.errors.get("to_currency"):
        quote_error = " ".join(form.errors.get("amount", []) + form.errors.get("to_currency", []))
    return render(request, "payments/wallets/_convert_quote.html", {"quote": quote, "quote_error": quote_error})
