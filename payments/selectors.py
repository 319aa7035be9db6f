"""Reads of the payments module used by more than one page, API or task."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from payments.models import Deposit, LedgerAccount, LedgerLine, Withdrawal

OPEN_WITHDRAWALS = (
    Withdrawal.Status.PENDING_REVIEW,
    Withdrawal.Status.PENDING_SECOND_APPROVAL,
    Withdrawal.Status.APPROVED,
    Withdrawal.Status.PROCESSING,
)


def _totals(queryset, amount_field: str = "amount") -> list[dict]:
    rows = queryset.values("currency").annotate(count=Count("id"), total=Sum(amount_field)).order_by("currency")
    return list(rows)


def deposits_completed_today() -> list[dict]:
    return _totals(Deposit.objects.filter(status=Deposit.Status.COMPLETED, completed_at__date=timezone.localdate()))


def withdrawals_open() -> list[dict]:
    return _totals(Withdrawal.objects.filter(status__in=OPEN_WITHDRAWALS))


def withdrawals_paid_today() -> list[dict]:
    return _totals(Withdrawal.objects.filter(status=Withdrawal.Status.PAID, updated_at__date=timezone.localdate()))


def client_wallets(client) -> list[LedgerAccount]:
    return list(LedgerAccount.objects.filter(client=client, kind=LedgerAccount.Kind.CLIENT_WALLET).order_by("currency"))


def client_statement(client, *, currency: str = ""):
    """The client's wallet lines, newest first, with their transactions."""
    lines = LedgerLine.objects.filter(
        account__client=client, account__kind=LedgerAccount.Kind.CLIENT_WALLET
    ).select_related("transaction", "account")
    if currency:
        lines = lines.filter(currency=currency)
    return lines.order_by("-id")


def wallet_totals() -> dict[str, Decimal]:
    """What the broker owes clients, per currency (the sum of every wallet)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    rows = LedgerAccount.objects.filter(kind=LedgerAccount.Kind.CLIENT_WALLET).values("currency")
    for row in rows.annotate(total=Sum("balance")):
        totals[row["currency"]] += row["total"]
    return dict(sorted(totals.items()))
