"""Wallet, conversion, ledger, rates and methods pages in the system Chromium."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from payments.defaults import payment_defaults_ensure
from payments.models import LedgerTransaction, MethodCurrency
from tests import factories
from tests.browser.conftest import enter_totp, sign_in, staff_with_totp
from tests.payments.wallets_support import client_of, fund, markup, rate

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def test_client_converts_usd_to_eur_and_sees_both_balances(page, browser, site, alpha, screenshot):
    with tenant_context(alpha):
        payment_defaults_ensure()
        markup("0.5")
        rate("USD", "EUR", "0.92")
        client = client_of(factories.client_user("cora@alpha.test"))
        fund(client, D("1000.00"), "USD")

    sign_in(page, site.tenant("alpha", "/accounts/login/?next=/portal/funds/"), "cora@alpha.test")
    expect(page.get_by_role("heading", name="Funds")).to_be_visible()
    expect(page.locator("#wallet-USD")).to_contain_text("1,000.00")
    screenshot(page, "payments-wallets-funds-before")

    page.get_by_role("link", name="Convert").click()
    expect(page.get_by_role("heading", name="Convert between your wallets")).to_be_visible()
    page.get_by_label("From wallet").select_option("USD")
    page.get_by_label("To").select_option("EUR")
    with page.expect_response(lambda r: "/portal/funds/convert/quote/" in r.url):
        page.get_by_label("Amount").fill("100")
    expect(page.locator("#quote-to-amount")).to_contain_text("91.54")
    expect(page.locator("#quote")).to_contain_text("1 USD = 0.9154 EUR")
    screenshot(page, "payments-wallets-convert-quote")

    page.get_by_role("button", name="Convert", exact=True).click()
    expect(page).to_have_url(site.tenant("alpha", "/portal/funds/"))
    expect(page.get_by_text("Converted 100.00 USD to 91.54 EUR.")).to_be_visible()
    expect(page.locator("#wallet-USD")).to_contain_text("900.00")
    expect(page.locator("#wallet-EUR")).to_contain_text("91.54")
    expect(page.locator("table")).to_contain_text("Conversion 100.00 USD → 91.54 EUR")
    screenshot(page, "payments-wallets-funds-after")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    try:
        mobile = phone.new_page()
        mobile.goto(site.tenant("alpha", "/portal/funds/"))
        expect(mobile.locator("#wallet-EUR")).to_contain_text("91.54")
        screenshot(mobile, "payments-wallets-funds-phone")
        mobile.goto(site.tenant("alpha", "/portal/funds/convert/"))
        screenshot(mobile, "payments-wallets-convert-phone")
    finally:
        phone.close()
    with tenant_context(alpha):
        assert LedgerTransaction.objects.filter(kind="conversion").count() == 1


def test_finance_edits_a_method_limit_and_works_the_ledger(page, browser, site, alpha, screenshot):
    fiona = staff_with_totp(alpha, "fiona@alpha.test", roles=["finance"])
    with tenant_context(alpha):
        payment_defaults_ensure()
        rate("EUR", "USD", "1.0850", source="demo")
        rate("USD", "JPY", "151.25", source="ecb")
        client = client_of(factories.client_user("cora@alpha.test"))
        fund(client, D("1000.00"), "USD", reference="wire-2024-0001")

    page.goto(site.tenant("alpha", "/ops/payments/methods/"))
    sign_in(page, page.url, "fiona@alpha.test")
    enter_totp(page, fiona)
    expect(page.get_by_role("heading", name="Payment methods")).to_be_visible()
    screenshot(page, "payments-wallets-methods")

    page.locator("#method-card").get_by_role("link", name="Edit").click()
    usd_row = page.locator("tbody tr", has=page.locator("option[value='USD'][selected]"))
    usd_row.locator("input[name$='-min_amount']").fill("20000")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Must be at least the minimum.")).to_be_visible()
    screenshot(page, "payments-wallets-method-error")
    usd_row.locator("input[name$='-min_amount']").fill("10")
    usd_row.locator("input[name$='-max_amount']").fill("5000")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Card saved.")).to_be_visible()
    expect(page.locator("#method-card")).to_contain_text("5,000.00")
    with tenant_context(alpha):
        assert MethodCurrency.objects.get(method__code="card", currency="USD").max_amount == D("5000")

    tabs = page.get_by_role("navigation", name="Payments")
    tabs.get_by_role("link", name="Overview").click()
    page.get_by_role("button", name="Run the ledger proof").click()
    expect(page.locator("#ledger-proof")).to_contain_text("The books balance")
    screenshot(page, "payments-wallets-overview")

    tabs.get_by_role("link", name="Rates").click()
    expect(page.locator("table")).to_contain_text("151.25")
    screenshot(page, "payments-wallets-rates")

    tabs.get_by_role("link", name="Ledger").click()
    page.get_by_label("Kind").select_option("client_wallet")
    expect(page.locator("#account-rows tbody tr")).to_have_count(1)
    screenshot(page, "payments-wallets-accounts")
    page.locator("#account-rows").get_by_role("link").first.click()
    expect(page.locator(".figure").first).to_contain_text("1,000.00 USD")
    screenshot(page, "payments-wallets-account")
    page.locator("table").get_by_role("link", name="Deposit", exact=True).click()
    expect(page.get_by_text("wire-2024-0001")).to_be_visible()
    screenshot(page, "payments-wallets-transaction")
    page.get_by_role("link", name="Reverse this transaction…").click()
    page.get_by_label(re.compile("Reason")).fill("Wire recalled by the sending bank")
    screenshot(page, "payments-wallets-reverse-confirm")
    page.get_by_role("button", name="Reverse the transaction").click()
    expect(page.get_by_text("Transaction wire-2024-0001 reversed.")).to_be_visible()
    expect(page.locator(".kv")).to_contain_text("Reverses")
    screenshot(page, "payments-wallets-reversal")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    try:
        mobile = phone.new_page()
        mobile.goto(site.tenant("alpha", "/ops/payments/methods/card/"))
        screenshot(mobile, "payments-wallets-method-phone")
        mobile.goto(site.tenant("alpha", "/ops/payments/accounts/"))
        screenshot(mobile, "payments-wallets-accounts-phone")
    finally:
        phone.close()
