"""Trading's figures on the ops dashboard; each number links to the list that shows its items."""

from __future__ import annotations

from brokerage.dashboard import Card, Reading, age_text, register_card
from trading import dashboard_figures as figures
from trading import selectors


def volume_today() -> Reading:
    trend = figures.volume_trend()
    return Reading(
        value=trend[-1][1],
        # The card links to ops:trading_deals_today (today's deals). That list has no live/demo filter:
        # it shows every deal of the day, demo and balance deals too; the figure counts live trades.
        detail=f"live buy and sell deals · yesterday {trend[-2][1]}",
        trend=trend,
    )


def platforms_with_problems() -> Reading:
    problems = figures.sync_problems_open()
    count = selectors.platforms_with_problems_count()
    detail = ""
    if problems["count"]:
        detail = f"{problems['count']} open sync problem{'s' if problems['count'] != 1 else ''} · oldest {age_text(problems['oldest'])}"
    return Reading(value=count, detail=detail, tone="warn" if count else "")


register_card(
    Card(
        "Trading volume today (lots)",
        "trading_view",
        selectors.volume_today_lots,
        "ops:trading_deals_today",
        40,
        reading=volume_today,
        help="Lots of live buy and sell deals since midnight, with the last 7 days.",
    )
)
register_card(
    Card(
        "Platforms with problems",
        "trading_view",
        selectors.platforms_with_problems_count,
        "ops:trading_home",
        71,
        reading=platforms_with_problems,
        group="Needs attention",
        help="Active platforms whose last check failed or whose sync left problems open.",
    )
)
