"""Figures for the ops dashboard's trading cards (one indexed query each; past days cached)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Min, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from brokerage.dashboard import past_series, trend_days
from trading.models import Deal, SyncProblem
from trading.selectors import TRADE_ACTIONS, live_q, volume_today_lots

ZERO = Decimal(0)


def _volume_by_day(start: datetime, end: datetime) -> dict[str, Decimal]:
    rows = (
        Deal.objects.filter(time__gte=start, time__lt=end, action__in=TRADE_ACTIONS)
        .filter(live_q())
        .order_by()
        .annotate(day=TruncDate("time", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(lots=Sum("volume"))
    )
    return {row["day"].isoformat(): row["lots"] or ZERO for row in rows}


def volume_trend() -> list[tuple[date, Decimal]]:
    """Lots of live buy and sell deals per day for the last 7 days, today last (as `volume_today_lots`)."""
    past = past_series("trading_volume", _volume_by_day)
    days = trend_days()
    trend = [(day, past.get(day.isoformat(), ZERO).quantize(Decimal("0.01"))) for day in days[:-1]]
    trend.append((days[-1], volume_today_lots()))
    return trend


def sync_problems_open() -> dict:
    return SyncProblem.objects.filter(resolved_at__isnull=True).aggregate(
        count=Count("id"), oldest=Min("first_seen_at")
    )
