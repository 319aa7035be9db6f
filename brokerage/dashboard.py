"""Figures on the ops dashboard, supplied by each app so the kernel imports none of them.

A card's `value` is the headline number; its optional `reading` is what the dashboard shows: a
`Reading` with sub-figures (per currency, per stage), a detail line, a 7-day trend and a tone. Both are
callables taking `()` or, with `needs_user`, `(user)`: figures about clients are counted through the
CRM's visibility rule, so a sales agent never counts others' clients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.utils import timezone

from brokerage.dates import day_start
from brokerage.roles import perm

TREND_DAYS = 7
# Past days do not change once over; their series is kept for a few minutes (today's is always live).
TREND_CACHE_SECONDS = 300
# Counts that scan a large share of a big table (all clients, a KYC status without an index of its own)
# are kept for a minute: the dashboard is everyone's first page and reloads often.
FIGURE_CACHE_SECONDS = 60


@dataclass(frozen=True)
class Figure:
    """A sub-figure of a card (one currency, one status), with the list that shows its items."""

    label: str
    value: object
    url: str = ""
    detail: str = ""
    trend: Sequence[tuple[date, object]] = ()


@dataclass(frozen=True)
class Reading:
    value: object
    url: str = ""  # overrides the card's url_name (a filtered list)
    detail: str = ""
    figures: Sequence[Figure] = ()
    trend: Sequence[tuple[date, object]] = ()
    tone: str = ""  # "" | "warn" | "alert"


@dataclass(frozen=True)
class Card:
    title: str
    capability: str
    value: Callable[..., object]
    url_name: str = ""
    order: int = 50
    reading: Callable[..., Reading] | None = None
    needs_user: bool = False
    group: str = "Today"  # "Waiting" | "Today" | "Needs attention" | "Overview"
    help: str = ""


GROUPS = ("Waiting", "Today", "Needs attention", "Overview")

_CARDS: list[Card] = []


def register_card(card: Card) -> None:
    perm(card.capability)
    if all(existing.title != card.title for existing in _CARDS):
        _CARDS.append(card)
        _CARDS.sort(key=lambda c: (c.order, c.title))


def cards_visible(user) -> list[Card]:
    return [card for card in _CARDS if user.has_perm(perm(card.capability))]


def cards_for(request) -> list[dict]:
    """The cards this person may see, each read now; in dashboard order."""
    from django.urls import reverse

    shown = []
    for card in cards_visible(request.user):
        source = card.reading or card.value
        reading = source(request.user) if card.needs_user else source()
        if not isinstance(reading, Reading):
            reading = Reading(value=reading)
        shown.append(
            {
                "title": card.title,
                "group": card.group,
                "help": card.help,
                "value": reading.value,
                "url": reading.url or (reverse(card.url_name) if card.url_name else ""),
                "detail": reading.detail,
                "tone": reading.tone,
                "figures": [
                    {
                        "label": figure.label,
                        "value": figure.value,
                        "url": figure.url,
                        "detail": figure.detail,
                        "trend": list(figure.trend),
                        "spark": sparkline(figure.trend),
                    }
                    for figure in reading.figures
                ],
                "trend": list(reading.trend),
                "spark": sparkline(reading.trend),
            }
        )
    return shown


def cards_grouped(cards: list[dict]) -> list[tuple[str, list[dict]]]:
    return [
        (group, [c for c in cards if c["group"] == group])
        for group in GROUPS
        if any(c["group"] == group for c in cards)
    ]


# Days, ages and trends --------------------------------------------------------------------------------


def today_range() -> tuple[datetime, datetime]:
    today = timezone.localdate()
    return day_start(today), day_start(today + timedelta(days=1))


def trend_days(days: int = TREND_DAYS) -> list[date]:
    """The last `days` days, oldest first, ending today."""
    today = timezone.localdate()
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def past_series(key: str, compute: Callable[[datetime, datetime], dict]) -> dict:
    """`compute(start, end)` over the days before today, cached briefly under a key that names the day
    and the time zone (so it expires at midnight by construction)."""
    days = trend_days()
    start, end = day_start(days[0]), day_start(days[-1])
    cache_key = f"dashboard:{key}:{days[-1].isoformat()}:{timezone.get_current_timezone_name()}"
    series = cache.get(cache_key)
    if series is None:
        series = compute(start, end)
        cache.set(cache_key, series, TREND_CACHE_SECONDS)
    return series


def cached_figure(key: str, compute: Callable[[], object]) -> object:
    """`compute()`, kept FIGURE_CACHE_SECONDS under `key` (per tenant: the cache's key function adds the
    schema). Callers put the viewer's scope in the key when the figure depends on who looks."""
    cache_key = f"dashboard:figure:{key}"
    value = cache.get(cache_key)
    if value is None:
        value = compute()
        cache.set(cache_key, value, FIGURE_CACHE_SECONDS)
    return value


def age_text(since: datetime | None, now: datetime | None = None) -> str:
    """ "3 d 4 h", "5 h 10 min", "12 min": how long something has waited."""
    if since is None:
        return ""
    seconds = max(0, int(((now or timezone.now()) - since).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def sparkline(trend: Sequence[tuple[date, object]], width: int = 100, height: int = 24) -> str:
    """SVG polyline points for a small trend line ("" when fewer than two points)."""
    values = [float(value or 0) for _, value in trend]  # only drawing: float is fine here
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = width / (len(values) - 1)
    return " ".join(
        f"{index * step:.1f},{height - 2 - (value - low) / span * (height - 4):.1f}"
        for index, value in enumerate(values)
    )


@dataclass
class DayTotals:
    """Per currency: today's count and total, yesterday's total, and a trend of totals (oldest first)."""

    currency: str
    count: int = 0
    total: Decimal = field(default_factory=lambda: Decimal(0))
    yesterday: Decimal = field(default_factory=lambda: Decimal(0))
    trend: list[tuple[date, Decimal]] = field(default_factory=list)


def per_currency(today_rows: list[dict], past: dict[tuple[str, str], Decimal]) -> list[DayTotals]:
    """Join today's rows ({currency, count, total}) and past days' totals ({(iso day, currency): total})
    into one DayTotals per currency that appears in either; money is never added across currencies."""
    days = trend_days()
    yesterday = days[-2].isoformat()
    currencies = sorted({row["currency"] for row in today_rows} | {currency for _, currency in past})
    rows = {row["currency"]: row for row in today_rows}
    result = []
    for currency in currencies:
        row = rows.get(currency, {})
        totals = DayTotals(currency=currency, count=row.get("count", 0), total=row.get("total") or Decimal(0))
        totals.yesterday = past.get((yesterday, currency), Decimal(0))
        totals.trend = [(day, past.get((day.isoformat(), currency), Decimal(0))) for day in days[:-1]]
        totals.trend.append((days[-1], totals.total))
        result.append(totals)
    return result
