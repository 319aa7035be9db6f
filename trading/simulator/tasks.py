"""Celery entry point of the simulator (beat runs it every 5 s in every tenant's schema)."""

from __future__ import annotations

from celery import shared_task

from trading.models import Platform
from trading.simulator import periodic
from trading.simulator.feed import feed_step
from trading.simulator.market import Market


def simulator_step() -> dict[str, int]:
    """Next prices, swaps of a passed rollover, stop-outs, and fresh figures for accounts in the market.

    Tenants without an active simulator platform are left alone (their quotes come from elsewhere).
    """
    if not Platform.objects.filter(kind=Platform.Kind.SIMULATOR, is_active=True).exists():
        return {"quotes": 0, "swaps": 0, "stop_outs": 0, "revalued": 0}
    quotes = feed_step()
    market = Market.load()
    swaps = periodic.swaps_rollover(market=market)
    closed = periodic.stop_outs(market=market)
    revalued = periodic.accounts_revalue(market=market)
    return {"quotes": quotes, "swaps": swaps, "stop_outs": len(closed), "revalued": revalued}


@shared_task
def simulator_tick() -> dict[str, int]:
    return simulator_step()


@shared_task
def simulator_traffic(trades: int = 6) -> dict[str, int]:
    """A few trades by the tenant's simulator accounts: the demo's market keeps living between visits."""
    from trading.simulator.traffic import traffic_run

    summary = traffic_run(trades=trades)
    return {"opened": summary.opened, "closed": summary.closed, "refused": summary.refused}
