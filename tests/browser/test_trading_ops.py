"""/ops/trading/ in the system Chromium: dealing signs in, finds an account, changes its leverage (confirming a
risky lowering), disables another with a reason, searches deals; the accounts table fits at 1300 px."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from brokerage.models import AuditRecord
from tests.browser.conftest import enter_totp, sign_in, staff_with_totp
from tests.trading.conftest import memory_platform  # noqa: F401 - the in-memory platform fixture
from tests.trading.test_ops import trading_people, worked_deals
from trading.models import SyncProblem, TradingAccount

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def test_dealing_changes_leverage_and_searches_deals(page, browser, site, alpha, beta, memory_platform, screenshot):  # noqa: F811
    people = trading_people(alpha, beta, memory_platform)
    with tenant_context(alpha):
        worked_deals(people)
        TradingAccount.objects.filter(login="500001").update(state_at=None)  # shows the stale marker
        # Gold 0.5 lots takes 1,150 USD at 1:100; 2,000 equity: 1:50 would leave about 86.96 %.
        TradingAccount.objects.filter(login="500000").update(
            equity=2000, balance=2000, margin=1150, margin_level="173.91", state_at=timezone.now()
        )
        SyncProblem.objects.create(
            platform=people.usd.platform,
            kind="unknown_symbol",
            subject="NAS100.x",
            message="Unknown symbol NAS100.x in a deal of 500000: add it as an alias or a symbol.",
            occurrences=3,
        )
    dora = staff_with_totp(alpha, "dora.dealing@alpha.test", roles=["dealing"])

    page.goto(site.tenant("alpha", "/ops/trading/"))
    sign_in(page, page.url, "dora.dealing@alpha.test")
    enter_totp(page, dora)
    expect(page.get_by_role("heading", name="Trading", exact=True)).to_be_visible()
    expect(page.locator("#platform-sim-live")).to_contain_text("NAS100.x")
    screenshot(page, "trading-ops-overview")

    tabs = page.get_by_role("navigation", name="Trading")
    tabs.get_by_role("link", name="Accounts").click()
    expect(page.locator("#account-rows tbody tr")).to_have_count(3)
    with page.expect_response(lambda r: "/ops/trading/accounts/?q=500000" in r.url):
        page.get_by_label("Login, client name or email").fill("500000")
    expect(page.locator("#account-rows tbody tr")).to_have_count(1)
    screenshot(page, "trading-ops-accounts-search")

    page.locator("#account-rows").get_by_role("link", name="500000").click()
    expect(page.get_by_role("heading", name="Account 500000")).to_be_visible()
    page.get_by_label("New leverage (1:…)").select_option("50")
    page.get_by_role("button", name="Change leverage").click()
    expect(page.locator("#leverage-projection")).to_contain_text("86.96 %")
    screenshot(page, "trading-ops-account-leverage-confirm")
    assert memory_platform.accounts["500000"]["leverage"] == 100
    page.get_by_label("New leverage (1:…)").select_option("50")
    page.get_by_label("I have seen the projected margin level").check()
    page.get_by_role("button", name="Change leverage").click()
    expect(page.get_by_text("Leverage of 500000 changed from 1:100 to 1:50.")).to_be_visible()
    expect(page.locator(".kv")).to_contain_text("1:50")
    screenshot(page, "trading-ops-account-leverage")
    assert memory_platform.accounts["500000"]["leverage"] == 50

    page.get_by_label("Reason for disabling").fill("Chargeback under review")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Disable").click()
    expect(page.locator("#disable-reason")).to_contain_text("Chargeback under review")
    screenshot(page, "trading-ops-account-disabled")
    with tenant_context(alpha):
        assert AuditRecord.objects.filter(action="trading.leverage_changed", actor_email=dora.user.email).exists()
        disabled = AuditRecord.objects.get(action="trading.account_disabled")
        assert disabled.after["reason"] == "Chargeback under review"

    tabs.get_by_role("link", name="Deals").click()
    with page.expect_response(lambda r: "symbol=EURUSD" in r.url):
        page.get_by_label("Symbol").fill("EURUSD")
    expect(page.locator("#deal-rows tbody tr")).to_have_count(3)
    page.get_by_label("Type").select_option("sell")
    expect(page.locator("#deal-rows tbody tr")).to_have_count(1)
    expect(page.locator("#deal-rows")).to_contain_text("500.00 USD")
    screenshot(page, "trading-ops-deals-search")

    tabs.get_by_role("link", name="Positions").click()
    expect(page.locator("#floating-totals")).to_contain_text("23.80")
    screenshot(page, "trading-ops-positions")

    page.goto(site.tenant("alpha", f"/ops/trading/clients/{people.carl_client.pk}/"))
    expect(page.locator("#summary-deals")).to_have_text("5")
    screenshot(page, "trading-ops-client-summary")

    tabs = page.get_by_role("navigation", name="Trading")
    tabs.get_by_role("link", name="Symbols & policy").click()
    expect(page.locator("#symbol-EURUSD")).to_contain_text("EURUSD.pro")
    screenshot(page, "trading-ops-symbols")

    laptop = browser.new_context(viewport={"width": 1300, "height": 900}, storage_state=page.context.storage_state())
    try:
        wide = laptop.new_page()
        wide.goto(site.tenant("alpha", "/ops/trading/accounts/"))
        status = wide.locator("#account-rows thead th", has_text="Status")
        expect(status).to_be_visible()
        box, wrap = status.bounding_box(), wide.locator("#account-rows .table-wrap").bounding_box()
        assert box["x"] + box["width"] <= wrap["x"] + wrap["width"] + 1  # inside the card, not cut off
        scroll = wide.locator("#account-rows .table-wrap").evaluate("el => el.scrollWidth - el.clientWidth")
        assert scroll <= 1  # fits without scrolling
        screenshot(wide, "trading-ops-accounts-1300")
    finally:
        laptop.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    try:
        mobile = phone.new_page()
        mobile.goto(site.tenant("alpha", "/ops/trading/"))
        screenshot(mobile, "trading-ops-overview-phone")
        mobile.goto(site.tenant("alpha", "/ops/trading/accounts/500000/"))
        screenshot(mobile, "trading-ops-account-phone")
        mobile.goto(site.tenant("alpha", "/ops/trading/deals/"))
        screenshot(mobile, "trading-ops-deals-phone")
    finally:
        phone.close()
