"""The portal's conversion page: live quote, confirm, double submit, refusals, permissions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django_tenants.utils import tenant_context

from payments import ledger
from payments.models import Conversion, PaymentPolicy
from tests.payments.wallets_support import markup, people_make, rate, user_of
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alpha, beta):
    return people_make(alpha, beta)


@pytest.fixture
def priced(alpha, people):
    with tenant_context(alpha):
        markup("0.5")
        rate("USD", "EUR", "0.92")
        rate("EUR", "GBP", "0.86")
    return people


def web(alpha, people, who):
    return tenant_web_client(alpha, user_of(people, who) if who else None)


def form(amount="100.00", key="form-key", to_currency="EUR", **extra):
    return {"from_currency": "USD", "to_currency": to_currency, "amount": amount, "request_key": key, **extra}


def test_the_page_offers_the_clients_funded_wallets_and_priced_currencies(alpha, priced):
    page = web(alpha, priced, "carl").get("/portal/funds/convert/").content.decode()
    assert '<option value="USD"' in page
    assert '<option value="EUR"' in page and '<option value="GBP"' in page
    assert "Enter an amount to see what you get." in page
    assert 'name="request_key"' in page


def test_the_live_quote_shows_what_the_client_gets(alpha, priced):
    fragment = web(alpha, priced, "carl").get("/portal/funds/convert/quote/", form(), HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert "<html" not in html
    assert 'id="quote-to-amount">91.54' in html
    assert "1 USD = 0.9154 EUR" in html and "mid 0.92" in html and "fee 0.5 %" in html
    assert 'name="quoted_to_amount" value="91.54' in html
    short = web(alpha, priced, "carl").get("/portal/funds/convert/quote/", form(amount="5000")).content.decode()
    assert "More than the 1,000.00 USD available" in short
    unpriced = web(alpha, priced, "carl").get("/portal/funds/convert/quote/", form(to_currency="JPY"))
    assert "Select a valid choice" in unpriced.content.decode()


def test_a_stale_rate_is_explained_in_the_quote(alpha, priced):
    with tenant_context(alpha):
        policy = PaymentPolicy.current()
        policy.rate_feed = PaymentPolicy.RateFeed.MANUAL
        policy.save()
        rate("USD", "CHF", "0.88", source="manual", age=timedelta(hours=25))
    html = web(alpha, priced, "carl").get("/portal/funds/convert/quote/", form(to_currency="CHF")).content.decode()
    assert "The USD/CHF rate is out of date" in html


def test_the_client_converts_and_sees_both_balances(alpha, priced):
    carl = web(alpha, priced, "carl")
    response = carl.post("/portal/funds/convert/", form(quoted_to_amount="91.54"))
    assert response.status_code == 302 and response["Location"] == "/portal/funds/"
    page = carl.get("/portal/funds/").content.decode()
    assert "Converted 100.00 USD to 91.54 EUR." in page
    assert "900.00" in page and "91.54" in page


def test_a_double_submitted_form_converts_once(alpha, priced):
    carl = web(alpha, priced, "carl")
    carl.post("/portal/funds/convert/", form(key="same"))
    carl.post("/portal/funds/convert/", form(key="same"))
    with tenant_context(alpha):
        assert Conversion.objects.count() == 1
        assert ledger.wallet_for(priced["carl"], "USD").balance == D("900.00")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (form(amount="5000"), "Not enough available funds in USD"),
        (form(amount="1.001"), "At most 2 decimals in USD."),
        (form(amount="0"), "Ensure this value is greater than or equal to"),
        (form(to_currency="USD"), "Choose a different currency to convert to."),
        (form(to_currency="XAU"), "Select a valid choice"),
        (form(quoted_to_amount="95.00"), "The rate has moved: you would now receive 91.54 EUR"),
    ],
)  # fmt: skip
def test_a_refused_conversion_is_explained_and_nothing_moves(alpha, priced, data, message):
    response = web(alpha, priced, "carl").post("/portal/funds/convert/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    with tenant_context(alpha):
        assert not Conversion.objects.exists()
        assert ledger.wallet_for(priced["carl"], "USD").balance == D("1000.00")


def test_a_client_without_funds_is_sent_to_deposit(alpha, priced):
    page = web(alpha, priced, "cleo").get("/portal/funds/convert/").content.decode()
    assert "You have no funds to convert yet." in page
    response = web(alpha, priced, "cleo").post("/portal/funds/convert/", form())
    assert response.status_code == 200
    with tenant_context(alpha):
        assert not Conversion.objects.exists()


def test_another_tenants_session_cannot_convert(alpha, beta, priced):
    stranger = tenant_web_client(beta, priced["bob"])
    assert stranger.get("/portal/funds/convert/").status_code == 403
    assert stranger.post("/portal/funds/convert/", form()).status_code == 403
