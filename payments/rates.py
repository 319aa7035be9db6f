"""Exchange-rate lookups: the latest mid rate of a pair, directly, inverted, or crossed.

Rates are stored as published (ECB: EUR base). A pair nobody published is
derived through EUR or USD, so a tenant needs only one feed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from brokerage.errors import ApplicationError
from brokerage.money import quantize
from payments.models import ExchangeRate

_PIVOTS = ("EUR", "USD")
_PRECISION = Decimal("1e-10")


class RateUnavailable(ApplicationError):
    def __init__(self, base: str, quote: str):
        super().__init__(f"No exchange rate for {base}/{quote}.", code="rate_unavailable")


def _stored(base: str, quote: str, at: datetime | None) -> ExchangeRate | None:
    rates = ExchangeRate.objects.filter(base=base, quote=quote)
    if at is not None:
        rates = rates.filter(as_of__lte=at)
    return rates.order_by("-as_of", "-id").first()


def _direct(base: str, quote: str, at: datetime | None) -> tuple[Decimal, str] | None:
    rate = _stored(base, quote, at)
    if rate is not None:
        return rate.rate, rate.source
    inverse = _stored(quote, base, at)
    if inverse is not None:
        return (Decimal(1) / inverse.rate).quantize(_PRECISION), inverse.source
    return None


def rate_mid(base: str, quote: str, *, at: datetime | None = None) -> tuple[Decimal, str]:
    """(rate, source) with 1 base = rate quote, as known at `at` (default: now)."""
    if base == quote:
        return Decimal(1), "identity"
    found = _direct(base, quote, at)
    if found is not None:
        return found
    for pivot in _PIVOTS:
        if pivot in (base, quote):
            continue
        first, second = _direct(base, pivot, at), _direct(pivot, quote, at)
        if first and second:
            return (first[0] * second[0]).quantize(_PRECISION), f"{first[1]} via {pivot}"
    raise RateUnavailable(base, quote)


def amount_in(amount: Decimal, currency: str, target: str, *, at: datetime | None = None) -> Decimal:
    """An amount expressed in another currency at the mid rate, rounded once to the target's minor unit."""
    rate, _ = rate_mid(currency, target, at=at)
    return quantize(amount * rate, target)
