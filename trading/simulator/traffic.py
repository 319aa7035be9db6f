"""A traffic generator: clients' simulator accounts open and close positions, so dashboards have living data.

Each action picks a random enabled simulator account with money on it. It closes one of the account's
positions (more likely the more it holds) or opens a new one on a random quoted symbol, sized so that
its margin takes at most MARGIN_SHARE of the free margin. Refusals (a price moved, margin went) are
counted, not raised: the generator runs unattended.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from trading import fxmath
from trading.connectors.base import TradingGatewayError
from trading.models import Platform, SimAccount
from trading.simulator import engine, periodic
from trading.simulator.feed import feed_step
from trading.simulator.market import BUY, SELL, Market, account_figures, open_price_side

# A new position uses at most this share of the account's free margin.
MARGIN_SHARE = Decimal("0.10")
MAX_LOTS = Decimal(5)
# An account holding this many positions only closes.
MAX_OPEN_POSITIONS = 8


@dataclass
class TrafficSummary:
    opened: int = 0
    closed: int = 0
    refused: int = 0
    skipped: int = 0
    feed_steps: int = 0
    stop_outs: int = 0
    lots: Decimal = Decimal(0)
    accounts: set[str] = field(default_factory=set)

    def __str__(self) -> str:
        return (
            f"{self.opened} opened, {self.closed} closed ({self.lots} lots) on {len(self.accounts)} account(s); "
            f"{self.refused} refused, {self.skipped} skipped; {self.feed_steps} feed step(s), "
            f"{self.stop_outs} stop-out(s)"
        )


def _candidates() -> list[SimAccount]:
    return list(
        SimAccount.objects.filter(
            enabled=True,
            balance__gt=0,
            platform__kind=Platform.Kind.SIMULATOR,
            platform__is_active=True,
        )
        .select_related("platform")
        .order_by("pk")
    )


def _volume_for(account: SimAccount, symbol, price: Decimal, market: Market, rng: random.Random) -> Decimal:
    """A random size whose margin fits MARGIN_SHARE of the free margin (0 if not even the minimum does)."""
    figures = account_figures(account, list(account.positions.all()), market)
    per_lot = market.to_account(
        fxmath.margin(symbol, Decimal(1), price, account.leverage), symbol.margin_currency, account.currency
    )
    if figures.margin_free <= 0 or per_lot <= 0:
        return Decimal(0)
    most = min(figures.margin_free * MARGIN_SHARE / per_lot, MAX_LOTS).quantize(engine.VOLUME_STEP, ROUND_DOWN)
    if most < engine.VOLUME_MIN:
        return Decimal(0)
    steps = int(most / engine.VOLUME_STEP)
    return engine.VOLUME_STEP * rng.randint(1, steps)


def trade_once(rng: random.Random, summary: TrafficSummary, accounts: list[SimAccount]) -> None:
    """One trading action by a random account."""
    if not accounts:
        summary.skipped += 1
        return
    account = rng.choice(accounts)
    account.refresh_from_db()
    held = list(account.positions.order_by("pk").values_list("pk", flat=True))
    try:
        if held and (len(held) >= MAX_OPEN_POSITIONS or rng.random() < 0.35 + 0.05 * len(held)):
            deal = engine.position_close(account.platform, rng.choice(held))
            summary.closed += 1
        else:
            market = Market.load()
            if not market.quotes:
                summary.skipped += 1
                return
            quote = market.quotes[rng.choice(sorted(market.quotes))]
            side = rng.choice([BUY, SELL])
            volume = _volume_for(account, quote.symbol, open_price_side(side, quote), market, rng)
            if volume == 0:
                summary.skipped += 1
                return
            deal = engine.order_market(account.platform, account.login, quote.symbol.name, side, volume)
            summary.opened += 1
    except TradingGatewayError:
        summary.refused += 1
        return
    summary.lots += deal.volume
    summary.accounts.add(account.login)


def traffic_run(
    *,
    trades: int,
    seconds: float = 0,
    seed: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> TrafficSummary:
    """Make `trades` trading actions. With `seconds`, spread them over that long with a feed step (and a
    stop-out check) every second; without, one feed step first and then all of them at once."""
    rng = random.Random(seed)  # noqa: S311 - market simulation, not security
    summary = TrafficSummary()
    accounts = _candidates()
    ticks = max(int(seconds), 1)
    per_tick = [trades // ticks + (1 if index < trades % ticks else 0) for index in range(ticks)]
    for index, count in enumerate(per_tick):
        if index:
            sleep(1)
        feed_step(rng=rng)
        summary.feed_steps += 1
        summary.stop_outs += len(periodic.stop_outs())
        for _ in range(count):
            trade_once(rng, summary, accounts)
    return summary
