"""Ledger pages in /ops/payments/: accounts, an account's lines, a transaction, reversal and adjustment."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from brokerage.errors import ApplicationError
from brokerage.permissions import capability_required
from brokerage.roles import perm
from payments import ledger, selectors
from payments.models import LedgerAccount, LedgerTransaction
from payments.wallets.forms import AccountFilterForm, AdjustForm, BalanceAtForm, ReasonForm, show_refusal
from payments.wallets.services import transaction_reverse_by_staff, wallet_adjust


def _can_manage(request) -> bool:
    return request.user.has_perm(perm("payments_manage"))


@capability_required("payments_view")
def account_list(request):
    form = AccountFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    accounts = selectors.account_list(
        kind=filters.get("kind", ""), currency=filters.get("currency", ""), search=filters.get("q", "")
    )
    page = Paginator(accounts, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"tab": "accounts", "form": form, "page": page, "query": query.urlencode()}
    template = "payments/wallets/_account_rows.html" if request.htmx else "payments/wallets/account_list.html"
    return render(request, template, context)


def _account_page(request, account: LedgerAccount, *, adjust_form: AdjustForm | None = None, status: int = 200):
    balance_form = BalanceAtForm(request.GET if "at" in request.GET else None)
    balance_then = None
    if balance_form.is_bound and balance_form.is_valid():
        balance_then = ledger.balance_at(account, balance_form.cleaned_data["at"])
    page = Paginator(selectors.account_lines(account), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    can_adjust = _can_manage(request) and account.kind == LedgerAccount.Kind.CLIENT_WALLET
    context = {
        "tab": "accounts",
        "account": account,
        "page": page,
        "query": query.urlencode(),
        "balance_form": balance_form,
        "balance_then": balance_then,
        "adjust_form": (adjust_form or AdjustForm()) if can_adjust else None,
    }
    return render(request, "payments/wallets/account_detail.html", context, status=status)


@capability_required("payments_view")
def account_detail(request, pk: int):
    account = get_object_or_404(LedgerAccount.objects.select_related("client"), pk=pk)
    return _account_page(request, account)


@require_POST
@capability_required("payments_manage")
def account_adjust(request, pk: int):
    account = get_object_or_404(LedgerAccount.objects.select_related("client"), pk=pk)
    if account.kind != LedgerAccount.Kind.CLIENT_WALLET:
        messages.error(request, "Only client wallets are adjusted by hand.")
        return redirect("ops:payments_account", pk=account.pk)
    form = AdjustForm(request.POST)
    if form.is_valid():
        try:
            txn = wallet_adjust(
                wallet=account,
                amount=form.signed_amount(),
                reason=form.cleaned_data["reason"],
                actor=request.user,
                request_key=form.cleaned_data["request_key"],
            )
        except ApplicationError as error:
            show_refusal(error, form)
        else:
            messages.success(request, f"Adjustment posted: {txn.description}.")
            return redirect("ops:payments_transaction", pk=txn.pk)
    return _account_page(request, account, adjust_form=form, status=400)


@capability_required("payments_view")
def transaction_detail(request, pk: int):
    try:
        txn = selectors.transaction_detail(pk)
    except LedgerTransaction.DoesNotExist:
        raise Http404 from None
    reversal = selectors.transaction_reversal(txn)
    context = {
        "tab": "accounts",
        "txn": txn,
        "lines": list(txn.lines.all()),
        "reversal": reversal,
        "can_reverse": _can_manage(request) and reversal is None and txn.kind != LedgerTransaction.Kind.REVERSAL,
    }
    return render(request, "payments/wallets/transaction_detail.html", context)


@capability_required("payments_manage")
def transaction_reverse(request, pk: int):
    """Confirmation page (GET) and the reversal itself (POST, with a reason)."""
    txn = get_object_or_404(LedgerTransaction.objects.select_related("client"), pk=pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reversal = transaction_reverse_by_staff(txn=txn, actor=request.user, reason=form.cleaned_data["reason"])
        except ApplicationError as error:
            show_refusal(error, form)
        else:
            messages.success(request, f"Transaction {txn.reference} reversed.")
            return redirect("ops:payments_transaction", pk=reversal.pk)
    lines = [(line, -line.amount) for line in txn.lines.select_related("account")]
    context = {"tab": "accounts", "txn": txn, "lines": lines, "form": form}
    return render(request, "payments/wallets/transaction_reverse.html", context, status=400 if form.errors else 200)
