"""/api/v1/ wallets, ledger-transactions, rates, conversions and trading-transfers: who sees and does what."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from payments import ledger
from payments.models import Conversion, ExchangeRate, LedgerTransaction, TradingTransfer
from payments.trading_gateway import gateway_register, gateway_unregister
from tests.payments.wallets_support import FakeGateway, fund, markup, people_make, rate
from tests.tenants.web import api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alpha, beta):
    return people_make(alpha, beta)


@pytest.fixture
def call(alpha, beta, people):
    def make(who):
        person = people[who]
        return api_client(beta if who == "bob" else alpha, getattr(person, "user", person))

    return make


def post(client, url, body, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


# Wallets -----------------------------------------------------------------------------------------


def test_a_client_lists_only_their_own_wallets(alpha, people, call):
    with tenant_context(alpha):
        fund(people["cleo"], D("5.00"), "EUR")
    body = call("carl").get("/api/v1/wallets/").json()
    assert [(w["currency"], w["balance"], w["available"]) for w in body["results"]] == [
        ("USD", "1000.00000000", "1000.00000000")
    ]
    assert call("cleo").get("/api/v1/wallets/").json()["count"] == 1


def test_staff_list_every_wallet_with_filters(alpha, people, call):
    with tenant_context(alpha):
        fund(people["cleo"], D("5.00"), "EUR")
    assert call("bea").get("/api/v1/wallets/").json()["count"] == 2
    eur = call("bea").get("/api/v1/wallets/", {"currency": "EUR"}).json()["results"]
    assert [w["client_id"] for w in eur] == [people["cleo"].pk]
    carls = call("bea").get("/api/v1/wallets/", {"client": people["carl"].pk}).json()["results"]
    assert [w["currency"] for w in carls] == ["USD"]
    assert call("sam").get("/api/v1/wallets/").status_code == 403
    assert call("bob").get("/api/v1/wallets/").json()["count"] == 0  # beta has none of alpha's


# Ledger transactions -----------------------------------------------------------------------------


def test_staff_read_transactions_with_their_lines(alpha, people, call):
    body = call("bea").get("/api/v1/ledger-transactions/").json()
    assert body["count"] == 1
    txn = body["results"][0]
    assert txn["kind"] == "deposit"
    assert sorted(line["amount"] for line in txn["lines"]) == ["-1000.00000000", "1000.00000000"]
    assert call("carl").get("/api/v1/ledger-transactions/").status_code == 403
    assert call("sam").get("/api/v1/ledger-transactions/").status_code == 403
    assert call("bob").get(f"/api/v1/ledger-transactions/{txn['id']}/").status_code == 404


def test_finance_reverses_a_transaction_by_api_once(alpha, people, call):
    with tenant_context(alpha):
        txn = LedgerTransaction.objects.get()
    url = f"/api/v1/ledger-transactions/{txn.pk}/reverse/"
    assert post(call("bea"), url, {"reason": "x"}).status_code == 403
    assert post(call("fiona"), url, {"reason": "x"}, key=None).status_code == 400
    assert post(call("fiona"), url, {}).json()["error"]["fields"] == {"reason": ["This field is required."]}
    first = post(call("fiona"), url, {"reason": "Posted in error"}, key="rev-1")
    assert first.status_code == 201 and first.json()["reverses_id"] == txn.pk
    replay = post(call("fiona"), url, {"reason": "Posted in error"}, key="rev-1")
    assert replay["Idempotent-Replayed"] == "true" and replay.json()["id"] == first.json()["id"]
    again = post(call("fiona"), url, {"reason": "Posted in error"}, key="rev-2")
    assert again.status_code == 400 and again.json()["error"]["code"] == "already_reversed"
    with tenant_context(alpha):
        assert ledger.wallet_for(people["carl"], "USD").balance == 0
        assert AuditRecord.objects.filter(action="payments.transaction.reversed").count() == 1


# Rates -------------------------------------------------------------------------------------------


def test_everyone_signed_in_reads_rates_and_finance_adds_one(alpha, people, call):
    with tenant_context(alpha):
        rate("EUR", "USD", "1.08", source="ecb")
    rates = call("carl").get("/api/v1/rates/").json()
    assert rates == [
        {
            "base": "EUR",
            "quote": "USD",
            "rate": "1.0800000000",
            "source": "ecb",
            "as_of": rates[0]["as_of"],
            "is_stale": False,
        }
    ]
    assert post(call("bea"), "/api/v1/rates/", {"base": "GBP", "quote": "USD", "rate": "1.27"}).status_code == 403
    assert post(call("carl"), "/api/v1/rates/", {"base": "GBP", "quote": "USD", "rate": "1.27"}).status_code == 403
    created = post(call("fiona"), "/api/v1/rates/", {"base": "gbp", "quote": "usd", "rate": "1.27"})
    assert created.status_code == 201 and created.json()["source"] == "manual"
    bad = post(call("fiona"), "/api/v1/rates/", {"base": "GBP", "quote": "GBP", "rate": "abc"})
    assert bad.status_code == 400 and "rate" in bad.json()["error"]["fields"]
    with tenant_context(alpha):
        assert ExchangeRate.objects.count() == 2
    assert call("bob").get("/api/v1/rates/").json() == []


# Conversions -------------------------------------------------------------------------------------


def test_a_client_quotes_and_converts_once_per_key(alpha, people, call):
    with tenant_context(alpha):
        markup("0.5")
        rate("USD", "EUR", "0.92")
    quote = call("carl").get(
        "/api/v1/conversions/quote/", {"from_currency": "USD", "to_currency": "EUR", "amount": "100"}
    )
    assert quote.json()["to_amount"] == "91.54000000"
    body = {"from_currency": "USD", "to_currency": "EUR", "amount": "100.00"}
    assert post(call("carl"), "/api/v1/conversions/", body, key=None).status_code == 400
    first = post(call("carl"), "/api/v1/conversions/", body, key="c-1")
    assert first.status_code == 201 and first.json()["to_amount"] == "91.54000000"
    assert "revenue" not in first.json()
    replay = post(call("carl"), "/api/v1/conversions/", body, key="c-1")
    assert replay.json()["id"] == first.json()["id"]
    with tenant_context(alpha):
        assert Conversion.objects.count() == 1
        assert ledger.wallet_for(people["carl"], "USD").balance == D("900.00")
    listed = call("carl").get("/api/v1/conversions/").json()
    assert [c["id"] for c in listed["results"]] == [first.json()["id"]]
    assert call("cleo").get("/api/v1/conversions/").json()["count"] == 0
    assert call("cleo").get(f"/api/v1/conversions/{first.json()['id']}/").status_code == 404
    staff = call("bea").get("/api/v1/conversions/").json()["results"]
    assert staff[0]["revenue"] == "0.46000000"


def test_conversion_refusals_are_clear_json(alpha, people, call):
    with tenant_context(alpha):
        rate("USD", "EUR", "0.92")
    too_much = post(
        call("carl"), "/api/v1/conversions/", {"from_currency": "USD", "to_currency": "EUR", "amount": "5000"}
    )
    assert too_much.status_code == 400 and too_much.json()["error"]["code"] == "insufficient_funds"
    no_rate = post(
        call("carl"), "/api/v1/conversions/", {"from_currency": "USD", "to_currency": "JPY", "amount": "5"}, key="k2"
    )
    assert no_rate.json()["error"]["code"] == "rate_unavailable"
    bad = post(
        call("carl"), "/api/v1/conversions/", {"from_currency": "USD", "to_currency": "EUR", "amount": "1e"}, key="k3"
    )
    assert bad.json()["error"]["fields"] == {"amount": ["Not an amount."]}
    staff = post(
        call("fiona"), "/api/v1/conversions/", {"from_currency": "USD", "to_currency": "EUR", "amount": "5"}, key="k4"
    )
    assert staff.status_code == 403
    assert call("sam").get("/api/v1/conversions/").status_code == 403
    with tenant_context(alpha):
        assert not Conversion.objects.exists()


# Trading transfers -------------------------------------------------------------------------------


def test_trading_transfers_answer_503_while_no_platform_is_connected(alpha, people, call):
    from trading.gateway import PlatformGateway, handles

    gateway_unregister("platforms")  # the trading module's gateway, registered at start-up
    try:
        _transfers_answer_503(call)
    finally:
        gateway_register("platforms", PlatformGateway(), handles=handles)


def _transfers_answer_503(call):
    response = post(
        call("carl"),
        "/api/v1/trading-transfers/",
        {"direction": "to_account", "login": "5001", "currency": "USD", "amount": "10"},
    )
    assert response.status_code == 503
    assert "no trading platform is connected" in response.json()["error"]["message"]
    assert call("bea").get("/api/v1/trading-transfers/").status_code == 503


def test_with_a_platform_a_client_moves_money_to_their_trading_account(
    alpha, people, call, django_capture_on_commit_callbacks
):
    gateway = FakeGateway()
    with tenant_context(alpha):
        gateway.open("5001", people["carl"], "USD")
    gateway_register("fake", gateway)
    try:
        body = {"direction": "to_account", "login": "5001", "currency": "USD", "amount": "150.00"}
        with django_capture_on_commit_callbacks(execute=True):
            response = post(call("carl"), "/api/v1/trading-transfers/", body, key="t-1")
        assert response.status_code == 201 and response.json()["status"] == "pending"  # sent after the commit
        transfer_id = response.json()["id"]
        with tenant_context(alpha):
            assert TradingTransfer.objects.get().status == TradingTransfer.Status.COMPLETED
            assert ledger.wallet_for(people["carl"], "USD").balance == D("850.00")
        assert gateway.balances["5001"] == D("150.00")
        assert post(call("carl"), "/api/v1/trading-transfers/", body, key="t-1").json()["id"] == transfer_id
        assert len(gateway.operations) == 1
        assert call("carl").get(f"/api/v1/trading-transfers/{transfer_id}/").json()["status"] == "completed"
        assert call("cleo").get(f"/api/v1/trading-transfers/{transfer_id}/").status_code == 404
        assert call("bea").get("/api/v1/trading-transfers/").json()["count"] == 1
        others = post(call("cleo"), "/api/v1/trading-transfers/", body, key="t-2")
        assert others.status_code == 400 and "login" in others.json()["error"]["fields"]
    finally:
        gateway_unregister("fake")
