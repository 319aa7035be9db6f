"""The simulator's price feed: a random walk from each symbol's start price, written to trading.Quote.

Each step moves the mid by a Gaussian step of about STEP_VOLATILITY of the price, pulled gently back
towards the start price so a long demo does not drift off to absurd levels. Prices are multiples of
the symbol's tick size; the spread is spread_points ticks; the bid never goes below one tick.
"""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from trading.models import Quote, Symbol

# Standard deviation of one step, relative to the price: 0.5 basis point, about 5 points on EURUSD.
STEP_VOLATILITY = 0.00005
# Share of the distance to the start price recovered per step (mean reversion).
REVERSION = Decimal("0.002")

_random = random.Random()  # noqa: S311 - market simulation, not security


def feed_seed(seed: int | None) -> None:
    """Make the walk repeatable (tests, `simulate_trading --seed`)."""
    _random.seed(seed)


def _on_tick(price: Decimal, tick: Decimal) -> Decimal:
    return (price / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP) * tick


def quote_prices(symbol: Symbol, mid: Decimal) -> tuple[Decimal, Decimal]:
    """Bid and ask around `mid`: on the tick grid, spread_points ticks apart, bid at least one tick."""
    tick = symbol.tick_size
    spread = symbol.spread_points * tick
    bid = max(_on_tick(mid - spread / 2, tick), tick)
    return bid, bid + spread


def next_mid(symbol: Symbol, mid: Decimal, rng: random.Random | None = None) -> Decimal:
    """One step of the walk from `mid`."""
    rng = rng or _random
    shock = Decimal(str(round(rng.gauss(0, STEP_VOLATILITY), 8)))
    pull = (symbol.start_price - mid) * REVERSION if symbol.start_price else Decimal(0)
    return max(mid * (1 + shock) + pull, symbol.tick_size)


def feed_step(*, rng: random.Random | None = None) -> int:
    """Advance every active symbol that has a start price; returns how many quotes were written."""
    now = timezone.now()
    symbols = list(Symbol.objects.filter(is_active=True, start_price__isnull=False).select_related("quote"))
    changed, created = [], []
    for symbol in symbols:
        quote = getattr(symbol, "quote", None)
        if quote is None:
            bid, ask = quote_prices(symbol, symbol.start_price)
            created.append(Quote(symbol=symbol, bid=bid, ask=ask, at=now))
            continue
        bid, ask = quote_prices(symbol, next_mid(symbol, (quote.bid + quote.ask) / 2, rng))
        quote.bid, quote.ask, quote.at = bid, ask, now
        changed.append(quote)
    with transaction.atomic():
        Quote.objects.bulk_update(changed, ["bid", "ask", "at"])
        # A racing tick may have created the same quote: the one-to-one constraint keeps one.
        Quote.objects.bulk_create(created, ignore_conflicts=True)
    return len(changed) + len(created)


def quotes_ensure() -> None:
    """Give every active symbol a quote (its start price) if it has none yet, without moving others."""
    now = timezone.now()
    missing = Symbol.objects.filter(is_active=True, start_price__isnull=False, quote__isnull=True)
    Quote.objects.bulk_create(
        [
            Quote(symbol=symbol, bid=b, ask=a, at=now)
            for symbol in missing
            for b, a in [quote_prices(symbol, symbol.start_price)]
        ],
        ignore_conflicts=True,
    )
