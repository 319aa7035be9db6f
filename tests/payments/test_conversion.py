"""Conversion between a client's own wallets: the math to the cent, the posting, the refusals."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import connection, connections
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord, OutboxEvent
from payments import ledger
from payments.defaults import payment_defaults_ensure
from payments.models import Conversion, LedgerAccount, LedgerTransaction, PaymentPolicy
from payments.rates import RateStale, RateUnavailable
from payments.wallets.conversion import KeyReused, conversion_execute, conversion_quote
from tests.payments.wallets_support import balance, client_of, fund, markup, rate

pytestmark = pytest.mark.django_db
Kind = LedgerAccount.Kind


@pytest.fixture
def client(in_alpha, carl):
    payment_defaults_ensure()
    markup("0.5")
    return client_of(carl)


def feed(name: str) -> None:
    policy = PaymentPolicy.current()
    policy.rate_feed = name
    policy.save()


def convert(client, from_currency, to_currency, amount, key="k1", **kwargs):
    return conversion_execute(
        client=client,
        from_currency=from_currency,
        to_currency=to_currency,
        amount=D(amount),
        request_key=key,
        actor=client.user,
        **kwargs,
    )


# The math, worked to the cent --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pair", "stored", "from_currency", "to_currency", "amount", "to_amount", "revenue"),
    [
        # 100 USD at a mid of 0.92 less 0.5 %: 0.9154 -> 91.54 EUR; at the mid 92.00: the broker keeps 0.46.
        (("USD", "EUR"), "0.92", "USD", "EUR", "100.00", "91.54", "0.46"),
        # Inverse of EUR/USD 1.08: 250 USD -> 250 / 1.08 = 231.481.. mid; 230.324.. to the client.
        (("EUR", "USD"), "1.08", "USD", "EUR", "250.00", "230.32", "1.16"),
        # JPY has no decimals: 10 USD x 150.123 x 0.995 = 1493.72385 -> 1494; mid 1501.23 -> 1501.
        (("USD", "JPY"), "150.123", "USD", "JPY", "10.00", "1494", "7"),
        # From JPY: 12345 / 150 = 82.30 at the mid; x 0.995 = 81.8885 -> 81.89.
        (("USD", "JPY"), "150", "JPY", "USD", "12345", "81.89", "0.41"),
        # BTC has 8 decimals: 1000 / 65000 = 0.01538461.. -> 0.01538462 mid; x 0.995 -> 0.01530769.
        (("BTC", "USD"), "65000", "USD", "BTC", "1000.00", "0.01530769", "0.00007693"),
        # 0.01234567 BTC x 65000 = 802.46855 -> 802.47 mid; x 0.995 = 798.4562.. -> 798.46.
        (("BTC", "USD"), "65000", "BTC", "USD", "0.01234567", "798.46", "4.01"),
    ],
)
def test_conversion_amounts_to_the_cent(client, pair, stored, from_currency, to_currency, amount, to_amount, revenue):
    rate(*pair, stored)
    fund(client, D(amount), from_currency)
    conversion = convert(client, from_currency, to_currency, amount)
    assert conversion.to_amount == D(to_amount)
    assert conversion.revenue == D(revenue)
    assert balance(client, from_currency) == 0
    assert balance(client, to_currency) == D(to_amount)
    assert ledger.system_account(Kind.BROKER_REVENUE, to_currency).balance == D(revenue)


def test_the_posting_has_both_legs_balanced_per_currency_and_revenue_in_broker_revenue(client):
    rate("USD", "EUR", "0.92")
    fund(client, D("150.00"), "USD")
    conversion = convert(client, "USD", "EUR", "100.00")
    txn = conversion.transaction
    assert txn.kind == LedgerTransaction.Kind.CONVERSION
    lines = {(line.account.kind, line.currency): line.amount for line in txn.lines.select_related("account")}
    assert lines == {
        (Kind.CLIENT_WALLET, "USD"): D("-100.00"),
        (Kind.FX_CONVERSION, "USD"): D("100.00"),
        (Kind.FX_CONVERSION, "EUR"): D("-92.00"),
        (Kind.CLIENT_WALLET, "EUR"): D("91.54"),
        (Kind.BROKER_REVENUE, "EUR"): D("0.46"),
    }
    sums = defaultdict(D)
    for (_, currency), amount in lines.items():
        sums[currency] += amount
    assert sums == {"USD": 0, "EUR": 0}
    assert (conversion.mid_rate, conversion.rate, conversion.markup_percent) == (D("0.92"), D("0.9154"), D("0.5"))
    assert balance(client, "USD") == D("50.00")
    assert ledger.ledger_problems() == []


def test_without_a_markup_there_is_no_revenue_line(client):
    markup("0")
    rate("USD", "EUR", "0.92")
    fund(client, D("100.00"), "USD")
    conversion = convert(client, "USD", "EUR", "100.00")
    assert conversion.revenue == 0
    assert conversion.transaction.lines.count() == 4
    assert balance(client, "EUR") == D("92.00")


def test_a_cross_rate_converts_and_names_its_sources(client):
    rate("EUR", "USD", "1.08", source="ecb")
    rate("EUR", "GBP", "0.86", source="ecb")
    fund(client, D("100.00"), "USD")
    conversion = convert(client, "USD", "GBP", "100.00")
    # 100 / 1.08 x 0.86 = 79.6296.. mid -> 79.63; x 0.995 = 79.2315.. -> 79.23
    assert (conversion.to_amount, conversion.revenue) == (D("79.23"), D("0.40"))
    assert conversion.rate_source == "ecb via EUR"


# Refusals ----------------------------------------------------------------------------------------


def test_a_stale_rate_is_refused_and_nothing_moves(client):
    feed("manual")
    rate("USD", "EUR", "0.92", source="manual", age=timedelta(hours=25))
    fund(client, D("100.00"), "USD")
    with pytest.raises(RateStale, match="out of date"):
        convert(client, "USD", "EUR", "50.00")
    assert not Conversion.objects.exists()
    assert balance(client, "USD") == D("100.00")


def test_on_the_demo_feed_a_stale_rate_is_refreshed_instead_of_refused(client):
    rate("USD", "EUR", "0.92", source="demo", age=timedelta(minutes=11))
    fund(client, D("100.00"), "USD")
    conversion = convert(client, "USD", "EUR", "50.00")
    assert conversion.rate_source == "demo"  # the demo feed's fresh EURUSD, inverted
    assert conversion.rate_as_of > timezone.now() - timedelta(minutes=1)


def test_a_missing_rate_is_refused(client):
    fund(client, D("100.00"), "USD")
    with pytest.raises(RateUnavailable):
        convert(client, "USD", "EUR", "50.00")


def test_more_than_the_available_balance_is_refused_and_nothing_is_written(client):
    rate("USD", "EUR", "0.92")
    wallet = fund(client, D("100.00"), "USD")
    ledger.hold_place(wallet, D("30.00"), reference="withdrawal-hold")
    with pytest.raises(ApplicationError) as error:
        convert(client, "USD", "EUR", "80.00")
    assert error.value.code == "insufficient_funds"
    assert not Conversion.objects.exists()
    assert not LedgerTransaction.objects.filter(kind="conversion").exists()
    assert not AuditRecord.objects.filter(action="payments.conversion.executed").exists()


@pytest.mark.parametrize(
    ("from_currency", "to_currency", "amount", "field"),
    [
        ("USD", "USD", "10", "to_currency"),
        ("USD", "XXX", "10", "to_currency"),
        ("USD", "EUR", "0", "amount"),
        ("USD", "EUR", "-5", "amount"),
        ("USD", "EUR", "10.001", "amount"),
    ],
)
def test_bad_input_is_refused_with_the_field(client, from_currency, to_currency, amount, field):
    rate("USD", "EUR", "0.92")
    fund(client, D("100.00"), "USD")
    with pytest.raises(ApplicationError) as error:
        convert(client, from_currency, to_currency, amount)
    assert field in error.value.fields


def test_an_amount_too_small_to_give_anything_is_refused(client):
    rate("USD", "JPY", "0.4")
    fund(client, D("1.00"), "USD")
    with pytest.raises(ApplicationError, match="too small"):
        convert(client, "USD", "JPY", "0.01")


def test_a_rate_that_moved_against_the_client_since_the_quote_is_refused(client):
    rate("USD", "EUR", "0.92")
    fund(client, D("100.00"), "USD")
    quote = conversion_quote(client=client, from_currency="USD", to_currency="EUR", amount=D("100.00"))
    rate("USD", "EUR", "0.91")
    with pytest.raises(ApplicationError) as error:
        convert(client, "USD", "EUR", "100.00", min_to_amount=quote.to_amount)
    assert error.value.code == "quote_changed"
    assert "90.55 EUR" in error.value.message  # 100 x 0.91 x 0.995 = 90.545, half-up
    assert balance(client, "USD") == D("100.00")


# Idempotency, audit, events ----------------------------------------------------------------------


def test_the_same_request_key_converts_once(client):
    rate("USD", "EUR", "0.92")
    fund(client, D("300.00"), "USD")
    first = convert(client, "USD", "EUR", "100.00", key="abc")
    again = convert(client, "USD", "EUR", "100.00", key="abc")
    assert again.pk == first.pk
    assert balance(client, "USD") == D("200.00")
    with pytest.raises(KeyReused):
        convert(client, "USD", "EUR", "50.00", key="abc")
    assert Conversion.objects.count() == 1


def test_a_conversion_is_audited_and_published(client):
    rate("USD", "EUR", "0.92")
    fund(client, D("100.00"), "USD")
    conversion = convert(client, "USD", "EUR", "100.00")
    record = AuditRecord.objects.get(action="payments.conversion.executed")
    assert record.actor_email == "carl@alpha.test"
    assert record.after["to"] == "91.54 EUR"
    event = OutboxEvent.objects.get(topic="payments.conversion.executed")
    assert event.payload["conversion"] == str(conversion.public_id)
    assert event.payload["revenue"] == "0.46"


def test_the_quote_shows_what_the_conversion_will_give(client):
    rate("USD", "EUR", "0.92")
    fund(client, D("60.00"), "USD")
    quote = conversion_quote(client=client, from_currency="USD", to_currency="EUR", amount=D("100.00"))
    assert (quote.to_amount, quote.mid_value, quote.revenue) == (D("91.54"), D("92.00"), D("0.46"))
    assert quote.available == D("60.00")
    assert not quote.is_affordable


@pytest.mark.django_db(transaction=True)
def test_two_racing_requests_with_the_same_key_convert_once(alpha, carl):
    with tenant_context(alpha):
        payment_defaults_ensure()
        markup("0.5")
        client = client_of(carl)
        rate("USD", "EUR", "0.92")
        fund(client, D("100.00"), "USD")
    results, barrier = [], threading.Barrier(2)

    def run():
        try:
            with tenant_context(alpha):
                barrier.wait()
                results.append(convert(client, "USD", "EUR", "60.00", key="same").pk)
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            results.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and results[0] == results[1], results
    with tenant_context(alpha):
        assert Conversion.objects.count() == 1
        assert balance(client, "USD") == D("40.00")
        assert ledger.ledger_problems() == []
    connection.set_schema_to_public()
