"""Where rates come from: the built-in demo feed and the ECB euro reference rates.

Both end in `payments.rates.rates_record`, which skips what is already stored,
so a refresh or an import can run any number of times.
"""

from __future__ import annotations

import logging
import random
import secrets
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from django.db import transaction
from django.utils import timezone

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.money import MINOR_UNITS
from payments.models import ExchangeRate
from payments.rates import NewRate, rates_record

logger = logging.getLogger(__name__)

# The demo feed ----------------------------------------------------------------------------------

DEMO_SOURCE = "demo"
# Market-convention pairs around realistic mid prices, and how far each moves per refresh (one sigma).
DEMO_MIDS: dict[tuple[str, str], tuple[Decimal, Decimal]] = {
    ("EUR", "USD"): (Decimal("1.0850"), Decimal("0.0003")),
    ("GBP", "USD"): (Decimal("1.2700"), Decimal("0.0003")),
    ("AUD", "USD"): (Decimal("0.6600"), Decimal("0.0004")),
    ("USD", "JPY"): (Decimal("150.00"), Decimal("0.0003")),
    ("USD", "CHF"): (Decimal("0.8800"), Decimal("0.0003")),
    ("USD", "CAD"): (Decimal("1.3600"), Decimal("0.0003")),
    ("XAU", "USD"): (Decimal("2350.00"), Decimal("0.0006")),
    ("BTC", "USD"): (Decimal("65000.00"), Decimal("0.0020")),
    ("ETH", "USD"): (Decimal("3200.00"), Decimal("0.0025")),
    ("USDT", "USD"): (Decimal("1.0000"), Decimal("0.00005")),
    ("USDC", "USD"): (Decimal("1.0000"), Decimal("0.00005")),
}
# Each step pulls the price this share of the way back to its mid, so the walk never wanders off.
DEMO_REVERSION = Decimal("0.05")
DEMO_KEEP = timedelta(days=2)


def _places(mid: Decimal) -> Decimal:
    """Quote precision by market habit: EURUSD 5 decimals, USDJPY 3, BTCUSD 2."""
    return Decimal(1).scaleb(-max(2, 5 - max(mid.adjusted(), 0)))


def demo_rates_next(previous: dict[tuple[str, str], Decimal], *, at: datetime, rng: random.Random) -> list[NewRate]:
    """One step of a mean-reverting random walk from the previous prices (or the mids)."""
    rates = []
    for (base, quote), (mid, sigma) in DEMO_MIDS.items():
        last = previous.get((base, quote), mid)
        shock = Decimal(repr(rng.gauss(0, 1))).quantize(Decimal("1e-6"))
        price = last + (mid - last) * DEMO_REVERSION + last * sigma * shock
        rates.append(NewRate(base, quote, max(price, mid / 10).quantize(_places(mid)), at))
    return rates


def demo_rates_refresh(*, at: datetime | None = None, rng: random.Random | None = None) -> int:
    """Publish the next demo rates in the current tenant; returns how many were stored.

    Simulated prices older than DEMO_KEEP are dropped, so a feed that ticks every
    minute keeps the rates table (and the latest-rate queries) small.
    """
    latest = (
        ExchangeRate.objects.filter(source=DEMO_SOURCE)
        .order_by("base", "quote", "-as_of", "-id")
        .distinct("base", "quote")
        .values_list("base", "quote", "rate")
    )
    previous = {(base, quote): rate for base, quote, rate in latest}
    moment = (at or timezone.now()).replace(microsecond=0)
    added = rates_record(demo_rates_next(previous, at=moment, rng=rng or secrets.SystemRandom()), source=DEMO_SOURCE)
    ExchangeRate.objects.filter(source=DEMO_SOURCE, as_of__lt=moment - DEMO_KEEP).delete()
    return added


# ECB euro reference rates -----------------------------------------------------------------------

ECB_SOURCE = "ecb"
ECB_DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
ECB_90_DAYS_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml"
ECB_MAX_BYTES = 10 * 1024 * 1024
# The reference rates are published around 16:00 CET on TARGET working days: they count from then.
ECB_PUBLISHED_AT = time(16, 0)
ECB_ZONE = ZoneInfo("Europe/Berlin")


@dataclass
class EcbFile:
    rates: list[NewRate] = field(default_factory=list)
    days: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EcbImport:
    added: int
    already_stored: int
    days: int
    notes: tuple[str, ...]

    def summary(self) -> str:
        text = f"{self.added} new rates from {self.days} day{'s' if self.days != 1 else ''}"
        if self.already_stored:
            text += f", {self.already_stored} already stored"
        return text + "."


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def ecb_parse(content: bytes) -> EcbFile:
    """Read `gesmes:Envelope/Cube/Cube[@time]/Cube[@currency][@rate]` (daily or history file).

    Refuses what is not an ECB rates file; skips (with a note) currencies this
    product does not know and entries it cannot read, so one odd line never
    loses the rest of the file.
    """
    try:
        root = SafeElementTree.fromstring(content)
    except DefusedXmlException:
        raise ApplicationError(
            "The file uses XML features that are refused for safety (DTD or entities).", fields={"file": ["Refused."]}
        ) from None
    except SafeElementTree.ParseError as error:
        raise ApplicationError(f"The file is not valid XML: {error}.", fields={"file": ["Not valid XML."]}) from None
    if _local(root.tag) != "Envelope":
        raise ApplicationError(
            "This is not an ECB euro reference rates file (expected a gesmes:Envelope).",
            fields={"file": ["Not an ECB rates file."]},
        )
    parsed = EcbFile()
    unknown: set[str] = set()
    for day in root.iter():
        if _local(day.tag) != "Cube" or "time" not in day.attrib:
            continue
        try:
            published = date.fromisoformat(day.attrib["time"])
        except ValueError:
            parsed.notes.append(f"Skipped a day with an unreadable date {day.attrib['time']!r}.")
            continue
        as_of = datetime.combine(published, ECB_PUBLISHED_AT, tzinfo=ECB_ZONE)
        parsed.days += 1
        for entry in day:
            currency, text = entry.attrib.get("currency", "").strip().upper(), entry.attrib.get("rate", "").strip()
            if _local(entry.tag) != "Cube" or not currency:
                continue
            if currency not in MINOR_UNITS:
                unknown.add(currency)
                continue
            try:
                rate = Decimal(text)
            except InvalidOperation:
                rate = Decimal(0)
            if currency == "EUR" or not rate.is_finite() or rate <= 0 or rate.adjusted() >= 14:
                parsed.notes.append(f"Skipped {currency} on {published}: {text!r} is not a usable rate.")
                continue
            parsed.rates.append(NewRate("EUR", currency, rate, as_of))
    if unknown:
        parsed.notes.append(f"Skipped currencies this product does not know: {', '.join(sorted(unknown))}.")
    if not parsed.days:
        raise ApplicationError(
            "No rates found: an ECB file has Cube elements with a time attribute (gesmes:Envelope/Cube/Cube[@time]).",
            fields={"file": ["No rates found."]},
        )
    if not parsed.rates:
        raise ApplicationError(
            "No usable rates in the file. " + " ".join(parsed.notes), fields={"file": ["No usable rates."]}
        )
    return parsed


def ecb_import(content: bytes, *, actor=None, origin: str = "") -> EcbImport:
    """Store the rates of an ECB file in the current tenant; importing the same file again adds nothing."""
    parsed = ecb_parse(content)
    with transaction.atomic():
        added = rates_record(parsed.rates, source=ECB_SOURCE)
        result = EcbImport(added, len(parsed.rates) - added, parsed.days, tuple(parsed.notes))
        if actor is not None:
            audit_log(
                actor=actor,
                action="payments.rates.imported",
                after={"source": ECB_SOURCE, "origin": origin[:200], "added": added, "days": parsed.days},
            )
    return result


def ecb_fetch(url: str = ECB_DAILY_URL, *, timeout: float = 20) -> bytes:
    """Download an ECB file over HTTP(S), at most ECB_MAX_BYTES."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ApplicationError("Only http:// and https:// addresses can be fetched.", fields={"url": ["Not HTTP."]})
    request = urllib.request.Request(url, headers={"User-Agent": "brokerage-backoffice rates"})  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked
            content = response.read(ECB_MAX_BYTES + 1)
    except OSError as error:
        raise ApplicationError(f"Could not download {url}: {error}.", code="fetch_failed") from None
    if len(content) > ECB_MAX_BYTES:
        raise ApplicationError(f"{url} is larger than {ECB_MAX_BYTES // (1024 * 1024)} MB.", code="fetch_failed")
    return content
