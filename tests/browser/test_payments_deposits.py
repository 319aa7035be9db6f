"""Deposit journeys in Chromium: a card through the sandbox checkout, and crypto confirmations counting live."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from crm.models import Client
from payments.adapters.crypto_sim import chain_tick
from payments.models import Deposit
from tests import factories
from tests.browser.conftest import enter_totp, sign_in, staff_with_totp
from tests.payments.deposit_helpers import methods

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


@pytest.fixture
def carl(alpha):
    with tenant_context(alpha):
        methods()
        user = factories.client_user("carl@alpha.test")
        Client.objects.filter(user=user).update(first_name="Carl", last_name="Client")
        factories.kyc_approved(Client.objects.get(user=user))
    return user


def test_client_pays_by_card_at_the_sandbox_checkout_and_sees_the_new_balance(
    page, browser, site, alpha, carl, screenshot
):
    sign_in(page, site.tenant("alpha", "/accounts/login/?next=/portal/funds/deposit/"), "carl@alpha.test")
    expect(page.get_by_role("heading", name="Deposit funds")).to_be_visible()
    page.wait_for_load_state()
    expect(page.get_by_label("Card")).to_be_checked()
    with page.expect_response(lambda r: "/portal/funds/deposit/preview/" in r.url):
        page.get_by_label("Amount").fill("250")
    preview = page.locator("#deposit-preview")
    expect(preview).to_contain_text("6.55 USD")
    expect(preview).to_contain_text("243.45 USD")
    screenshot(page, "deposit-start")

    # Switching the method brings that method's currencies and limits.
    page.get_by_label("Bitcoin").check()
    expect(page.get_by_label("Currency")).to_have_value("BTC")
    expect(page.locator("#deposit-preview")).to_contain_text("0.00050000 BTC")
    page.get_by_label("Card").check()
    expect(page.get_by_label("Currency")).to_have_value("USD")
    page.get_by_label("Amount").fill("250")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Confirm your deposit")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("243.45 USD")
    screenshot(page, "deposit-review")
    page.get_by_role("button", name="Pay by card").click()

    expect(page).to_have_url(re.compile(r"/payments/sandbox/card/cs_[\w-]+/$"))
    expect(page.get_by_text("Pay Alpha")).to_be_visible()
    expect(page.locator(".psp-amount")).to_have_text("250.00 USD")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    screenshot(page, "deposit-sandbox-checkout")
    page.get_by_role("button", name="Approve payment").click()

    expect(page).to_have_url(re.compile(r"/portal/funds/deposit/[0-9a-f-]{36}/$"))
    expect(page.get_by_text("Deposit completed")).to_be_visible()
    expect(page.locator("#deposit-status")).to_contain_text("Your USD balance is now 243.45 USD")
    expect(page.locator(".page-head .badge")).to_have_text("Completed")
    screenshot(page, "deposit-status-completed")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    try:
        mobile = phone.new_page()
        mobile.goto(page.url)
        expect(mobile.get_by_text("Deposit completed")).to_be_visible()
        assert mobile.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(mobile, "deposit-status-phone")
        mobile.goto(site.tenant("alpha", "/portal/funds/deposit/history/"))
        expect(mobile.locator("tbody tr")).to_have_count(1)
        screenshot(mobile, "deposit-list-phone")
    finally:
        phone.close()

    with tenant_context(alpha):
        deposit = Deposit.objects.get()
    alice = staff_with_totp(alpha, "alice@alpha.test", roles=["finance"])
    staff = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        ops = staff.new_page()
        ops.set_default_timeout(5_000)
        sign_in(ops, site.tenant("alpha", "/accounts/login/?next=/ops/payments/deposits/"), "alice@alpha.test")
        enter_totp(ops, alice)
        expect(ops.get_by_role("heading", name="Deposits")).to_be_visible()
        expect(ops.locator("#deposit-rows tbody tr")).to_have_count(1)
        screenshot(ops, "ops-deposits")
        ops.locator("#deposit-rows tbody tr a").first.click()
        expect(ops).to_have_url(site.tenant("alpha", f"/ops/payments/deposits/{deposit.public_id}/"))
        expect(ops.locator(".timeline")).to_contain_text("Completed")
        expect(ops.locator("main")).to_contain_text(f"deposit:{deposit.public_id}")
        expect(ops.locator("main table").last).to_contain_text("payment_intent.succeeded")
        screenshot(ops, "ops-deposit-detail")
    finally:
        staff.close()


def test_crypto_confirmations_count_live_until_the_credit(page, site, alpha, carl, screenshot):
    sign_in(page, site.tenant("alpha", "/accounts/login/?next=/portal/funds/deposit/"), "carl@alpha.test")
    expect(page.get_by_role("heading", name="Deposit funds")).to_be_visible()
    page.wait_for_load_state()  # HTMX is loaded (deferred) before it listens for the change
    page.get_by_label("Bitcoin").check()
    expect(page.get_by_label("Currency")).to_have_value("BTC")
    page.get_by_label("Amount").fill("0.01")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm deposit").click()

    expect(page.get_by_text("Waiting for your payment")).to_be_visible()
    expect(page.locator(".reference")).to_have_text(re.compile(r"^bc1q[02-9ac-hj-np-z]{38}$"))
    screenshot(page, "deposit-crypto-instructions")
    page.get_by_label("Amount sent (BTC)").fill("0.01")
    page.get_by_role("button", name="Simulate sending").click()
    expect(page.locator("#deposit-status")).to_contain_text("0 of 3")

    connection.set_tenant(alpha)
    for seen in ("1 of 3", "2 of 3"):
        chain_tick()
        expect(page.locator("#deposit-status")).to_contain_text(seen, timeout=6_000)  # HTMX polls every 2 s
    screenshot(page, "deposit-crypto-confirming")
    chain_tick()
    expect(page.get_by_text("Deposit completed")).to_be_visible(timeout=6_000)
    expect(page.locator("#deposit-status")).to_contain_text("0.00995000 BTC")
    screenshot(page, "deposit-crypto-completed")
