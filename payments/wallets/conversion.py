"""Conversion between two of a client's own wallets, at the mid rate less the tenant's markup.

Worked example (markup 0.5 %): 100.00 USD to EUR at a mid of 0.92 gives a
client rate of 0.92 × 0.995 = 0.9154; the client receives 91.54 EUR; at the
mid the 100 USD are worth 92.00 EUR, so the broker earns 0.46 EUR. Amounts are
rounded once, half-up, to the target currency's minor unit (money.quantize):
the markup is the broker's price, rounding is not a second one. The posting:

    client USD wallet      -100.00 USD      FX conversion USD   +100.00 USD
    FX conversion EUR       -92.00 EUR      client EUR wallet    +91.54 EUR
                                            broker revenue EUR    +0.46 EUR
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.events import event_publish
from brokerage.money import MINOR_UNITS, quantize
from payments import ledger
from payments.ledger import Kind, Line
from payments.models import Conversion, LedgerTransaction, PaymentPolicy
from payments.rate_providers import demo_rates_refresh
from payments.rates import RateStale, client_rate, rate_lookup


class KeyReused(ApplicationError):
    http_status = 409
    code = "idempotency_conflict"


@dataclass(frozen=True)
class ConversionQuote:
    from_currency: str
    to_currency: str
    from_amount: Decimal
    to_amount: Decimal
    mid_rate: Decimal
    rate: Decimal
    markup_percent: Decimal
    mid_value: Decimal
    revenue: Decimal
    rate_source: str
    rate_as_of: datetime | None
    available: Decimal

    @property
    def is_affordable(self) -> bool:
        return self.from_amount <= self.available


def _currencies_clean(from_currency: str, to_currency: str) -> None:
    fields = {}
    for name, code in (("from_currency", from_currency), ("to_currency", to_currency)):
        if code not in MINOR_UNITS:
            fields[name] = [f"Unknown currency {code!r}."]
    if not fields and from_currency == to_currency:
        fields["to_currency"] = ["Choose a different currency to convert to."]
    if fields:
        raise ApplicationError("Choose two different currencies.", fields=fields)


def conversion_quote(*, client, from_currency: str, to_currency: str, amount: Decimal) -> ConversionQuote:
    """What converting `amount` would give now; refuses a missing or out-of-date rate."""
    _currencies_clean(from_currency, to_currency)
    ledger.amount_clean(amount, from_currency)
    policy = PaymentPolicy.current()
    found = rate_lookup(from_currency, to_currency)
    if found.is_stale() and policy.rate_feed == PaymentPolicy.RateFeed.DEMO:
        # The simulated feed never has an outage: without beat (a demo with no Redis) it refreshes when asked.
        demo_rates_refresh()
        found = rate_lookup(from_currency, to_currency)
    if found.is_stale():
        raise RateStale(from_currency, to_currency, found.as_of)
    markup = policy.fx_markup_percent
    rate = client_rate(found.rate, markup)
    to_amount = quantize(amount * rate, to_currency)
    if to_amount <= 0:
        raise ApplicationError(
            f"{amount:f} {from_currency} is too small to convert to {to_currency}.",
            fields={"amount": ["Too small to convert."]},
        )
    mid_value = quantize(amount * found.rate, to_currency)
    wallet = ledger.wallet_for(client, from_currency)
    return ConversionQuote(
        from_currency=from_currency,
        to_currency=to_currency,
        from_amount=amount,
        to_amount=to_amount,
        mid_rate=found.rate,
        rate=rate,
        markup_percent=markup,
        mid_value=mid_value,
        revenue=mid_value - to_amount,
        rate_source=found.source,
        rate_as_of=found.as_of,
        available=wallet.available,
    )


def _key_clean(request_key: str) -> str:
    request_key = (request_key or "").strip()
    if not 1 <= len(request_key) <= 255:
        raise ApplicationError("A conversion needs a request key of 1 to 255 characters.", code="key_required")
    return request_key


def _same_request(conversion: Conversion, from_currency: str, to_currency: str, amount: Decimal) -> Conversion:
    if (conversion.from_currency, conversion.to_currency, conversion.from_amount) != (
        from_currency,
        to_currency,
        amount,
    ):
        raise KeyReused("This request key was already used for another conversion.")
    return conversion


def conversion_execute(
    *,
    client,
    from_currency: str,
    to_currency: str,
    amount: Decimal,
    request_key: str,
    actor,
    min_to_amount: Decimal | None = None,
) -> Conversion:
    """Convert between the client's wallets at the current rate; the same request key converts once.

    `min_to_amount` is what the client saw on the quote: if the rate has moved
    against them since, nothing happens and they are asked to look again.
    """
    request_key = _key_clean(request_key)
    existing = Conversion.objects.filter(client=client, request_key=request_key).first()
    if existing is not None:
        return _same_request(existing, from_currency, to_currency, amount)
    quote = conversion_quote(client=client, from_currency=from_currency, to_currency=to_currency, amount=amount)
    if min_to_amount is not None and quote.to_amount < min_to_amount:
        raise ApplicationError(
            f"The rate has moved: you would now receive {quote.to_amount:f} {to_currency}. Check the new quote.",
            code="quote_changed",
        )
    lines = [
        Line(ledger.wallet_for(client, from_currency), -amount),
        Line(ledger.system_account(Kind.FX_CONVERSION, from_currency), amount),
        Line(ledger.system_account(Kind.FX_CONVERSION, to_currency), -quote.mid_value),
        Line(ledger.wallet_for(client, to_currency), quote.to_amount),
    ]
    if quote.revenue:
        lines.append(Line(ledger.system_account(Kind.BROKER_REVENUE, to_currency), quote.revenue))
    digest = hashlib.sha256(request_key.encode()).hexdigest()[:40]
    sold = quantize(amount, from_currency)  # for the texts: 100 USD reads "100.00 USD"
    with transaction.atomic():
        txn = ledger.transaction_post(
            kind=LedgerTransaction.Kind.CONVERSION,
            reference=f"conversion:{client.pk}:{digest}",
            lines=lines,
            description=f"Conversion {sold:f} {from_currency} → {quote.to_amount:f} {to_currency}",
            client=client,
            actor=actor,
            metadata={"mid_rate": str(quote.mid_rate), "rate": str(quote.rate), "source": quote.rate_source},
        )
        try:
            with transaction.atomic():
                conversion = Conversion.objects.create(
                    client=client,
                    request_key=request_key,
                    from_currency=from_currency,
                    from_amount=amount,
                    to_currency=to_currency,
                    to_amount=quote.to_amount,
                    mid_rate=quote.mid_rate,
                    rate=quote.rate,
                    markup_percent=quote.markup_percent,
                    revenue=quote.revenue,
                    rate_source=quote.rate_source[:60],
                    rate_as_of=quote.rate_as_of,
                    transaction=txn,
                    created_by=actor,
                )
        except IntegrityError:
            # A racing request with the same key posted first (transaction_post returned its posting).
            existing = Conversion.objects.get(client=client, request_key=request_key)
            return _same_request(existing, from_currency, to_currency, amount)
        audit_log(
            actor=actor,
            action="payments.conversion.executed",
            obj=conversion,
            after={
                "client": client.pk,
                "from": f"{sold:f} {from_currency}",
                "to": f"{quote.to_amount:f} {to_currency}",
                "mid_rate": str(quote.mid_rate),
                "revenue": f"{quote.revenue:f} {to_currency}",
            },
        )
        event_publish(
            "payments.conversion.executed",
            {
                "conversion": str(conversion.public_id),
                "client_id": client.pk,
                "from_currency": from_currency,
                "from_amount": str(amount),
                "to_currency": to_currency,
                "to_amount": str(quote.to_amount),
                "revenue": str(quote.revenue),
            },
        )
    return conversion
