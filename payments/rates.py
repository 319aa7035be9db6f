"""Exchange rates: lookups (direct, inverted, crossed), how old a rate may be, the markup, and recording.

Rates are stored as published (ECB: EUR base; the demo feed: market convention,
EURUSD, USDJPY, BTCUSD...). A pair is read as published or inverted, whichever
is newer; a pair nobody published (or whose rate is out of date) is crossed
through EUR or USD, so a tenant needs only one feed. Inverses and crosses keep
Decimal's full precision (28 digits): rounding happens once, on the money amount.

How old a rate may be before a conversion refuses it depends on who published it:
- demo: 10 minutes. The built-in feed refreshes every minute (beat); without
  beat a conversion refreshes it when it finds it stale (payments.wallets.conversion).
- ecb: 5 days 6 hours. The ECB publishes around 16:00 CET on TARGET working
  days only; the longest ordinary gap is Easter (Thursday 16:00 to Tuesday
  16:00, 120 hours). A tenant that wants fresher prices needs a live feed.
- manual (entered by staff) and anything else: 24 hours.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.money import MINOR_UNITS, quantize
from payments.models import ExchangeRate, PaymentPolicy

_PIVOTS = ("EUR", "USD")
# Rates are stored with 10 decimals (ExchangeRate.rate).
STORED_PLACES = Decimal("1e-10")

MAX_AGE = {"demo": timedelta(minutes=10), "ecb": timedelta(days=5, hours=6), "manual": timedelta(hours=24)}
DEFAULT_MAX_AGE = timedelta(hours=24)


class RateUnavailable(ApplicationError):
    def __init__(self, base: str, quote: str):
        super().__init__(f"No exchange rate for {base}/{quote}.", code="rate_unavailable")


class RateStale(ApplicationError):
    def __init__(self, base: str, quote: str, as_of: datetime):
        super().__init__(
            f"The {base}/{quote} rate is out of date (published {as_of:%Y-%m-%d %H:%M} UTC); "
            "conversions resume when fresh rates arrive.",
            code="rate_stale",
        )


def max_age(source: str) -> timedelta:
    return MAX_AGE.get(source, DEFAULT_MAX_AGE)


def is_stale(rate: ExchangeRate, *, now: datetime | None = None) -> bool:
    return (now or timezone.now()) - rate.as_of > max_age(rate.source)


@dataclass(frozen=True)
class RateFound:
    """1 base = `rate` quote, from the stored rates `legs` (one, or two for a cross)."""

    base: str
    quote: str
    rate: Decimal
    source: str
    legs: tuple[ExchangeRate, ...]

    @property
    def as_of(self) -> datetime | None:
        """When the oldest rate used was published (None for a currency against itself)."""
        return min((leg.as_of for leg in self.legs), default=None)

    def is_stale(self, *, now: datetime | None = None) -> bool:
        return any(is_stale(leg, now=now) for leg in self.legs)


def _stored(base: str, quote: str, at: datetime | None) -> ExchangeRate | None:
    rates = ExchangeRate.objects.filter(base=base, quote=quote)
    if at is not None:
        rates = rates.filter(as_of__lte=at)
    return rates.order_by("-as_of", "-id").first()


def _direct(base: str, quote: str, at: datetime | None) -> tuple[Decimal, ExchangeRate] | None:
    """The pair as published, or inverted: whichever was published last."""
    rate, inverse = _stored(base, quote, at), _stored(quote, base, at)
    if rate is not None and (inverse is None or rate.as_of >= inverse.as_of):
        return rate.rate, rate
    if inverse is not None:
        return Decimal(1) / inverse.rate, inverse
    return None


def _crosses(base: str, quote: str, at: datetime | None):
    for pivot in _PIVOTS:
        if pivot in (base, quote):
            continue
        first, second = _direct(base, pivot, at), _direct(pivot, quote, at)
        if first and second:
            sources = dict.fromkeys((first[1].source, second[1].source))
            yield RateFound(
                base, quote, first[0] * second[0], f"{'+'.join(sources)} via {pivot}", (first[1], second[1])
            )


def rate_lookup(base: str, quote: str, *, at: datetime | None = None) -> RateFound:
    """The mid rate of a pair as known at `at` (default: now), with the rates it came from.

    The pair itself (or its inverse) is preferred; a cross through EUR or USD is used
    when the pair was never published or its rate is out of date and the cross's is not.
    """
    if base == quote:
        return RateFound(base, quote, Decimal(1), "identity", ())
    found = _direct(base, quote, at)
    direct = RateFound(base, quote, found[0], found[1].source, (found[1],)) if found else None
    if direct is not None and not direct.is_stale(now=at):
        return direct
    crosses = list(_crosses(base, quote, at))
    fresh = next((cross for cross in crosses if not cross.is_stale(now=at)), None)
    best = fresh or direct or next(iter(crosses), None)
    if best is None:
        raise RateUnavailable(base, quote)
    return best


def rate_mid(base: str, quote: str, *, at: datetime | None = None) -> tuple[Decimal, str]:
    """(rate, source) with 1 base = rate quote, as known at `at` (default: now)."""
    found = rate_lookup(base, quote, at=at)
    return found.rate, found.source


def amount_in(amount: Decimal, currency: str, target: str, *, at: datetime | None = None) -> Decimal:
    """An amount expressed in another currency at the mid rate, rounded once to the target's minor unit."""
    rate, _ = rate_mid(currency, target, at=at)
    return quantize(amount * rate, target)


# Markup --------------------------------------------------------------------------------------------


def markup_percent() -> Decimal:
    return PaymentPolicy.current().fx_markup_percent


def client_rate(mid: Decimal, markup: Decimal) -> Decimal:
    """What the client gets for one unit: the mid rate less the broker's markup (percent)."""
    return mid * (1 - markup / 100)


# Recording -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRate:
    base: str
    quote: str
    rate: Decimal
    as_of: datetime


def rate_clean(base: str, quote: str, rate: Decimal) -> Decimal:
    """A rate we can store: known, distinct currencies and a positive number with at most 10 decimals."""
    fields: dict[str, list[str]] = {}
    for name, code in (("base", base), ("quote", quote)):
        if code not in MINOR_UNITS:
            fields[name] = [f"Unknown currency {code!r}."]
    if not fields and base == quote:
        fields["quote"] = ["Must differ from the base currency."]
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
        fields["rate"] = ["Must be a number above zero."]
    elif rate.quantize(STORED_PLACES, rounding=ROUND_HALF_UP) <= 0 or rate.adjusted() >= 14:
        fields["rate"] = ["Out of range: between 0.0000000001 and 10^14."]
    if fields:
        raise ApplicationError("The rate is not valid.", fields=fields)
    return rate.quantize(STORED_PLACES, rounding=ROUND_HALF_UP)


def rates_record(rates: Iterable[NewRate], *, source: str) -> int:
    """Store published rates; a rate already stored (same pair, source and time) is skipped.

    Returns how many were new, so importing the same file twice reports 0 the second time.
    """
    wanted = {(r.base, r.quote, r.as_of): rate_clean(r.base, r.quote, r.rate) for r in rates}
    if not wanted:
        return 0
    with transaction.atomic():
        moments = {moment for _, _, moment in wanted}
        stored = set(
            ExchangeRate.objects.filter(source=source, as_of__in=moments).values_list("base", "quote", "as_of")
        )
        new = [
            ExchangeRate(base=base, quote=quote, rate=rate, source=source, as_of=as_of)
            for (base, quote, as_of), rate in wanted.items()
            if (base, quote, as_of) not in stored
        ]
        # A racing import of the same file inserts nothing twice: the unique constraint decides.
        ExchangeRate.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def rate_set_manually(*, base: str, quote: str, rate: Decimal, actor, as_of: datetime | None = None) -> ExchangeRate:
    """A rate entered by staff (ops page or API), source "manual", audited."""
    cleaned = rate_clean(base, quote, rate)
    as_of = as_of or timezone.now()
    if as_of > timezone.now() + timedelta(minutes=5):
        raise ApplicationError("A rate cannot be published in the future.", fields={"as_of": ["In the future."]})
    with transaction.atomic():
        stored, created = ExchangeRate.objects.get_or_create(
            base=base, quote=quote, source="manual", as_of=as_of, defaults={"rate": cleaned}
        )
        if not created:
            raise ApplicationError("A manual rate for this pair and time exists already.", code="duplicate_rate")
        audit_log(
            actor=actor,
            action="payments.rate.set",
            obj=stored,
            after={"pair": f"{base}/{quote}", "rate": str(cleaned), "as_of": as_of.isoformat()},
        )
    return stored
