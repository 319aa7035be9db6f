"""Segment criteria over money (registered on import by payments.apps): crm cannot import payments.

Indexes relied on: payments_ledgeraccount(client_id) (the foreign key's) and (kind);
payments_deposit(status) and (client_id). Both criteria read one grouped subquery.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Q, Subquery, Sum
from django.utils import timezone

from brokerage.money import CURRENCY_CHOICES
from crm.segment_criteria import Criterion, Param, register_criterion
from payments.models import Deposit, LedgerAccount

CLIENT_FUNDS = (LedgerAccount.Kind.CLIENT_WALLET, LedgerAccount.Kind.CLIENT_TRADING)


def balance_above(amount: Decimal, currency: str) -> Q:
    """Wallet plus trading funds in `currency` (the ledger's figures; other currencies not converted)."""
    holders = (
        LedgerAccount.objects.filter(kind__in=CLIENT_FUNDS, currency=currency, client__isnull=False)
        .order_by()
        .values("client_id")
        .annotate(total=Sum("balance"))
        .filter(total__gt=amount)
        .values("client_id")
    )
    return Q(pk__in=Subquery(holders))


def deposited_more_than(amount: Decimal, currency: str, days: int) -> Q:
    """Completed deposits in `currency` (gross amount, before fees) completed in the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    depositors = (
        Deposit.objects.filter(status=Deposit.Status.COMPLETED, currency=currency, completed_at__gte=since)
        .order_by()
        .values("client_id")
        .annotate(total=Sum("amount"))
        .filter(total__gt=amount)
        .values("client_id")
    )
    return Q(pk__in=Subquery(depositors))


_AMOUNT = Param("amount", "Amount", "decimal")
_CURRENCY = Param("currency", "Currency", "choice", tuple(CURRENCY_CHOICES))

register_criterion(
    Criterion(
        "balance_above",
        "Balance above {amount} {currency} (wallet and trading funds)",
        balance_above,
        (_AMOUNT, _CURRENCY),
        "Money",
        capability="payments_view",
    )
)
register_criterion(
    Criterion(
        "deposited_more_than",
        "Deposited more than {amount} {currency} in the last {days} days",
        deposited_more_than,
        (_AMOUNT, _CURRENCY, Param("days", "Days", "int", minimum=1)),
        "Money",
        capability="payments_view",
    )
)
