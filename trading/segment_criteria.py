"""Segment criteria over trading (registered on import by trading.apps): crm cannot import trading.

Volume reads deals by time first: the `-time` index of trading_deal narrows 1,000,000 deals to the
window, then a hash join to the (small) accounts table keeps live accounts of clients. Lots are the
deal's `volume` (as trading.display.lots shows it) of buy and sell deals, opening and closing alike,
as platforms report turnover; balance, credit and other money operations never count.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Q, Subquery, Sum
from django.utils import timezone

from crm.segment_criteria import Criterion, Param, register_criterion
from trading.models import Deal, Position, TradingAccount

TRADE_ACTIONS = (Deal.Action.BUY, Deal.Action.SELL)


def volume_above(lots: Decimal, days: int) -> Q:
    since = timezone.now() - timedelta(days=days)
    traders = (
        Deal.objects.filter(
            time__gte=since, action__in=TRADE_ACTIONS, account__is_demo=False, account__client__isnull=False
        )
        .order_by()
        .values("account__client_id")
        .annotate(lots=Sum("volume"))
        .filter(lots__gt=lots)
        .values("account__client_id")
    )
    return Q(pk__in=Subquery(traders))


def has_live_account() -> Q:
    return Q(
        pk__in=Subquery(
            TradingAccount.objects.filter(is_demo=False, client__isnull=False).order_by().values("client_id")
        )
    )


def has_open_positions() -> Q:
    holders = Position.objects.filter(account__is_demo=False, account__client__isnull=False).order_by()
    holders = holders.values("account__client_id")
    return Q(pk__in=Subquery(holders))


register_criterion(
    Criterion(
        "volume_above",
        "Volume above {lots} lots in the last {days} days",
        volume_above,
        (Param("lots", "Lots", "decimal"), Param("days", "Days", "int", minimum=1)),
        "Trading",
        capability="trading_view",
    )
)
register_criterion(
    Criterion("has_live_account", "Has a live trading account", has_live_account, (), "Trading", "trading_view")
)
register_criterion(
    Criterion(
        "has_open_positions", "Has open positions (live accounts)", has_open_positions, (), "Trading", "trading_view"
    )
)
