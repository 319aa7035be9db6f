"""Withdrawal journey in the system Chromium: a client asks for a bank wire, finance approves it, the client sees it."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from payments.defaults import payment_defaults_ensure
from tests.browser.conftest import enter_totp, sign_in, staff_with_totp
from tests.payments.withdrawals_support import client_with_kyc, fund

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def test_client_withdraws_by_bank_wire_finance_approves_and_the_client_sees_it(page, browser, site, alpha, screenshot):
    with tenant_context(alpha):
        payment_defaults_ensure()
        carl = client_with_kyc("carl.withdraws@alpha.test")
        fund(carl, D("1000.00"))
    fiona = staff_with_totp(alpha, "fiona.finance@alpha.test", roles=["finance"])

    # The client asks for 250.00 USD by bank wire.
    page.goto(site.tenant("alpha", "/portal/funds/withdraw/"))
    sign_in(page, page.url, "carl.withdraws@alpha.test")
    expect(page.get_by_role("heading", name="Withdraw funds")).to_be_visible()
    expect(page.get_by_label("From wallet")).to_contain_text("USD · 1,000.00 available")
    expect(page.get_by_role("group", name="Bank account")).to_be_hidden()
    page.get_by_label("Method").select_option("bank-wire")
    expect(page.get_by_role("group", name="Bank account")).to_be_visible()
    expect(page.get_by_role("group", name="Wallet")).to_be_hidden()
    with page.expect_response(lambda r: "/withdraw/quote/" in r.url and "amount=250" in r.url):
        page.get_by_label("Amount").fill("250")
    expect(page.locator("#quote")).to_contain_text("You receive")
    expect(page.locator("#quote .quote-total")).to_contain_text("250.00 USD")
    page.get_by_label("Account holder").fill("Carl Withdraws")
    page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
    page.get_by_label("BIC / SWIFT").fill("COBADEFFXXX")
    screenshot(page, "portal-withdrawal-form")
    page.get_by_role("button", name="Request withdrawal").click()

    expect(page.get_by_role("heading", name="Withdrawal of 250.00 USD")).to_be_visible()
    expect(page.locator(".page-head .badge")).to_have_text("Waiting for approval")
    expect(page.locator(".timeline")).to_contain_text("Checks done")
    detail_url = page.url
    assert re.search(r"/portal/funds/withdraw/[0-9a-f-]{36}/$", detail_url)
    screenshot(page, "portal-withdrawal-waiting")

    # Finance finds it in the queue and approves it.
    staff = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        ops = staff.new_page()
        ops.set_default_timeout(5_000)
        ops.goto(site.tenant("alpha", "/ops/payments/withdrawals/"))
        sign_in(ops, ops.url, "fiona.finance@alpha.test")
        enter_totp(ops, fiona)
        expect(ops.get_by_role("link", name="Withdrawals")).to_have_attribute("aria-current", "page")
        row = ops.locator("table.queue tbody tr").first
        expect(row).to_contain_text("250.00 USD")
        expect(row).to_contain_text("Bank wire")
        expect(row).to_contain_text("Waiting for approval")
        screenshot(ops, "ops-withdrawals-queue")

        row.get_by_role("link").click()
        expect(ops.get_by_role("heading", name=re.compile(r"250\.00 USD to "))).to_be_visible()
        expect(ops.locator(".facts")).to_contain_text("DE89370400440532013000 (Carl Withdraws) · COBADEFFXXX")
        screenshot(ops, "ops-withdrawal-detail")
        ops.get_by_label("Note (optional)").fill("Name matches the account")
        ops.get_by_role("button", name="Approve and pay out").click()
        expect(ops.locator(".messages")).to_contain_text("Approved: the payout is on its way")
        expect(ops.locator(".page-head .badge")).to_have_text("Sent for payment")
        expect(ops.locator(".timeline")).to_contain_text("fiona.finance@alpha.test")
        screenshot(ops, "ops-withdrawal-approved")
    finally:
        staff.close()

    # The client sees the new status and who acted (by role, not by name).
    page.goto(detail_url)
    expect(page.locator(".page-head .badge")).to_have_text("Sent for payment")
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Approved")
    expect(timeline).to_contain_text("Finance team")
    expect(timeline).not_to_contain_text("fiona.finance@alpha.test")
    expect(page.get_by_role("button", name="Cancel withdrawal")).to_have_count(0)
    screenshot(page, "portal-withdrawal-sent")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    try:
        mobile = phone.new_page()
        mobile.goto(site.tenant("alpha", "/portal/funds/withdraw/"))
        mobile.get_by_label("Method").select_option("bank-wire")
        expect(mobile.get_by_label("IBAN")).to_be_visible()
        width = mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the form is {width}px wide on a 390px screen"
        screenshot(mobile, "portal-withdrawal-form-phone")
    finally:
        phone.close()
