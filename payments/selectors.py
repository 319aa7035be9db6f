"""Reads of the payments module used by more than one page, API or task."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from payments.models import (
    Conversion,
    Deposit,
    ExchangeRate,
    LedgerAccount,
    LedgerLine,
    LedgerTransaction,
    TradingTransfer,
    Withdrawal,
)

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


def deposits_completed_today_count() -> int:
    return Deposit.objects.filter(status=Deposit.Status.COMPLETED, completed_at__date=timezone.localdate()).count()


def withdrawals_open() -> list[dict]:
    return _totals(Withdrawal.objects.filter(status__in=OPEN_WITHDRAWALS))


def withdrawals_open_count() -> int:
    return Withdrawal.objects.filter(status__in=OPEN_WITHDRAWALS).count()


def withdrawals_paid_today() -> list[dict]:
    return _totals(Withdrawal.objects.filter(status=Withdrawal.Status.PAID, updated_at__date=timezone.localdate()))


def client_of(user):
    """The client record behind a portal sign-in, or None (staff, partners)."""
    from crm.models import Client

    if not getattr(user, "is_authenticated", False):
        return None
    return Client.objects.filter(user=user).first()


def client_wallets(client) -> list[LedgerAccount]:
    return list(LedgerAccount.objects.filter(client=client, kind=LedgerAccount.Kind.CLIENT_WALLET).order_by("currency"))


def client_statement(
    client, *, currency: str = "", kind: str = "", since: date | None = None, until: date | None = None
) -> QuerySet[LedgerLine]:
    """The client's wallet lines, newest first, with their transactions; filters are optional."""
    lines = LedgerLine.objects.filter(
        account__client=client, account__kind=LedgerAccount.Kind.CLIENT_WALLET
    ).select_related("transaction", "account", "transaction__reversed_by")
    if currency:
        lines = lines.filter(currency=currency)
    if kind:
        lines = lines.filter(transaction__kind=kind)
    if since:
        lines = lines.filter(transaction__posted_at__date__gte=since)
    if until:
        lines = lines.filter(transaction__posted_at__date__lte=until)
    return lines.order_by("-id")


def wallet_totals() -> dict[str, Decimal]:
    """What the broker owes clients, per currency (the sum of every wallet)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    rows = LedgerAccount.objects.filter(kind=LedgerAccount.Kind.CLIENT_WALLET).values("currency")
    for row in rows.annotate(total=Sum("balance")):
        totals[row["currency"]] += row["total"]
    return dict(sorted(totals.items()))


# Ledger ------------------------------------------------------------------------------------------


def account_list(*, kind: str = "", currency: str = "", search: str = "") -> QuerySet[LedgerAccount]:
    accounts = LedgerAccount.objects.select_related("client")
    if kind:
        accounts = accounts.filter(kind=kind)
    if currency:
        accounts = accounts.filter(currency=currency)
    for word in search.split()[:5]:
        accounts = accounts.filter(
            Q(code__icontains=word)
            | Q(name__icontains=word)
            | Q(client__first_name__icontains=word)
            | Q(client__last_name__icontains=word)
            | Q(client__email__icontains=word)
        )
    return accounts.order_by("kind", "currency", "code")


def account_lines(account: LedgerAccount) -> QuerySet[LedgerLine]:
    """An account's lines, newest first; `balance_after` is the running balance."""
    return account.lines.select_related("transaction").order_by("-id")


def transaction_list(*, kind: str = "", client_id: int | None = None) -> QuerySet[LedgerTransaction]:
    txns = LedgerTransaction.objects.select_related("client", "created_by", "reverses").prefetch_related(
        "lines__account"
    )
    if kind:
        txns = txns.filter(kind=kind)
    if client_id:
        txns = txns.filter(client_id=client_id)
    return txns


def transaction_detail(pk: int) -> LedgerTransaction:
    """A transaction with its lines and whatever it belongs to (deposit, withdrawal, conversion, transfer)."""
    return (
        LedgerTransaction.objects.select_related(
            "client", "created_by", "reverses", "deposit", "withdrawal", "conversion", "trading_transfer"
        )
        .prefetch_related("lines__account")
        .get(pk=pk)
    )


def transaction_reversal(txn: LedgerTransaction) -> LedgerTransaction | None:
    return LedgerTransaction.objects.filter(reverses=txn).first()


# Rates and conversions ----------------------------------------------------------------------------


def rates_latest() -> list[ExchangeRate]:
    """The newest stored rate of every pair (one query)."""
    latest = ExchangeRate.objects.order_by("base", "quote", "-as_of", "-id").distinct("base", "quote")
    return list(latest)


def rate_currencies() -> list[str]:
    """Every currency some stored rate names."""
    pairs = ExchangeRate.objects.order_by().values_list("base", "quote").distinct()
    return sorted({code for pair in pairs for code in pair})


def client_conversions(client) -> QuerySet[Conversion]:
    return Conversion.objects.filter(client=client).select_related("transaction")


def client_trading_transfers(client) -> QuerySet[TradingTransfer]:
    return TradingTransfer.objects.filter(client=client)
