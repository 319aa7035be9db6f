"""A trader in Chromium: opens a demo and a live account, funds the live one from the wallet, reads the history.

The platform is the in-memory one of tests/trading (monkeypatched process-wide, so the live server's
threads use it too). The deals the sync would bring are written into the mirror directly.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from crm.models import Client
from payments import ledger
from tests import factories
from tests.browser.conftest import sign_in
from tests.trading.support import MemoryConnector, wallet_fund
from trading.defaults import trading_defaults_ensure
from trading.models import Deal, Platform, Position, Symbol, TradingAccount

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


@pytest.fixture
def platform(monkeypatch, alpha):
    """Alpha's platforms answer from one MemoryConnector; the live server's threads see the patch too."""
    with tenant_context(alpha):
        trading_defaults_ensure()  # a transactional test starts from empty tenant tables
    connector = MemoryConnector()
    monkeypatch.setattr("trading.platforms.connector_for", lambda platform: connector)
    return connector


@pytest.fixture
def tara(alpha, platform):
    with tenant_context(alpha):
        user = factories.client_user("tara@alpha.test")
        Client.objects.filter(user=user).update(first_name="Tara", last_name="Trader")
        wallet_fund(user.client, "1000")
    return user


def trading_happened(alpha, login: str) -> None:
    """What the sync would have mirrored after some trading on the live account."""
    with tenant_context(alpha):
        account = TradingAccount.objects.get(login=login)
        eurusd, gold = Symbol.objects.get(name="EURUSD"), Symbol.objects.get(name="XAUUSD")
        now = timezone.now()
        common = {"platform": account.platform, "login": login, "account": account}
        Deal.objects.create(
            ticket=5001, time=now - timedelta(hours=3), symbol_name="EURUSD", symbol=eurusd, action="buy", entry="in",
            volume=D("0.5"), price=D("1.08412"), commission=D("-1.75"), **common,
        )  # fmt: skip
        Deal.objects.create(
            ticket=5002, time=now - timedelta(hours=1), symbol_name="EURUSD", symbol=eurusd, action="sell",
            entry="out", volume=D("0.5"), price=D("1.08530"), profit=D("59.00"), commission=D("-1.75"), **common,
        )  # fmt: skip
        Deal.objects.create(
            ticket=5003, time=now - timedelta(minutes=20), symbol_name="XAUUSD", symbol=gold, action="buy",
            entry="in", volume=D("0.10"), price=D("2345.60"), **common,
        )  # fmt: skip
        Position.objects.create(
            ticket=5003, symbol_name="XAUUSD", symbol=gold, side="buy", volume=D("0.10"), open_price=D("2345.60"),
            current_price=D("2351.10"), profit=D("55.00"), swap=D("-0.80"), opened_at=now - timedelta(minutes=20),
            updated_at=now, **common,
        )  # fmt: skip


def platform_comments(alpha, login: str) -> None:
    """Deals as MT5 keeps them: our transfer's comment cut at 32 characters, a long closing comment,
    and the demo account's play money (which must never be added to the live totals)."""
    with tenant_context(alpha):
        account = TradingAccount.objects.get(login=login)
        demo = TradingAccount.objects.get(login="900000")
        now = timezone.now()
        Deal.objects.create(
            platform=account.platform, login=login, account=account, ticket=5004, time=now - timedelta(hours=4),
            action="balance", profit=D("250.00"), comment="bo-0123456789abcdef Wallet trans",
        )  # fmt: skip
        Deal.objects.create(
            platform=account.platform, login=login, account=account, ticket=5005, time=now - timedelta(minutes=5),
            symbol_name="EURUSD", symbol=Symbol.objects.get(name="EURUSD"), action="sell", entry="out",
            volume=D("0.5"), price=D("1.0853"), comment="#5002 closed by TP at 1.08530 ok",
        )  # fmt: skip
        Deal.objects.create(
            platform=demo.platform, login="900000", account=demo, ticket=9004, time=now - timedelta(hours=5),
            action="balance", profit=D("10000.00"), comment="Demo funds",
        )  # fmt: skip


def test_trader_opens_demo_and_live_accounts_funds_one_and_reads_the_history(
    page, browser, site, alpha, tara, platform, screenshot
):
    sign_in(page, site.tenant("alpha", "/accounts/login/?next=/portal/trading/"), "tara@alpha.test")
    expect(page.get_by_role("heading", name="Trading accounts", exact=True)).to_be_visible()
    expect(page.get_by_text("You have no trading accounts yet")).to_be_visible()
    screenshot(page, "trading-portal-empty")

    # A demo account first: the form starts on demo with the tenant's default leverage.
    page.get_by_role("link", name="Open your first account").click()
    expect(page.get_by_role("heading", name="Open a trading account")).to_be_visible()
    expect(page.get_by_label("Demo")).to_be_checked()
    expect(page.get_by_label("Leverage")).to_have_value("30")
    screenshot(page, "trading-portal-open")
    page.get_by_role("button", name="Open account").click()
    expect(page.get_by_text("Your demo account 900000 is open with 10,000.00 USD of play money.")).to_be_visible()
    expect(page.locator("#state-900000")).to_contain_text("10,000.00")
    expect(page.get_by_text("Demo accounts trade with play money")).to_be_visible()
    screenshot(page, "trading-portal-demo-detail")

    # Then a live one, 1:100 in USD.
    page.get_by_role("navigation", name="Trading").get_by_role("link", name="Open an account").click()
    page.get_by_label("Live").check()
    page.get_by_label("Leverage").select_option("100")
    page.get_by_label("Account currency").select_option("USD")
    page.get_by_role("button", name="Open account").click()
    expect(page.get_by_text("Your live account 500000 is open.")).to_be_visible()
    expect(page.locator("#to-account")).to_contain_text("1,000.00 USD")

    # Too much first: the form says so and keeps what was typed.
    page.locator("#to-account").get_by_label("Amount (USD)").fill("1500")
    page.get_by_role("button", name="Move to account").click()
    expect(page.locator("#to-account")).to_contain_text(
        "Not enough available funds in USD: 1,000.00 available, 1,500.00 needed."
    )
    expect(page.locator("#to-account")).not_to_contain_text("More than the available balance.")  # said once
    screenshot(page, "trading-portal-transfer-error")
    page.locator("#to-account").get_by_label("Amount (USD)").fill("250")
    page.get_by_role("button", name="Move to account").click()
    expect(page.get_by_text("Moved 250.00 USD from your wallet to account 500000.")).to_be_visible()
    expect(page.locator("#transfers-list")).to_contain_text("Completed")
    expect(page.locator("#state-500000")).to_contain_text("250.00")
    expect(page.locator("#to-account")).to_contain_text("750.00 USD")
    screenshot(page, "trading-portal-live-funded")
    with tenant_context(alpha):
        assert ledger.wallet_for(tara.client, "USD").available == D("750")
    assert platform.accounts["500000"]["balance"] == D("250")

    # Trading happens (mirrored by the sync); the account page shows the open position and the deals.
    trading_happened(alpha, "500000")
    platform.accounts["500000"].update(balance=D("305.50"), margin=D("23.46"))
    page.get_by_role("button", name="Refresh account 500000").click()
    expect(page.locator("#state-500000")).to_contain_text("305.50")
    page.reload()
    expect(page.locator("table.trades").first).to_contain_text("2351.10")
    screenshot(page, "trading-portal-live-detail")

    # The demo account has not been heard of for an hour: its card says so until refreshed.
    with tenant_context(alpha):
        TradingAccount.objects.filter(login="900000").update(state_at=timezone.now() - timedelta(hours=1))
    page.get_by_role("navigation", name="Trading").get_by_role("link", name="Accounts").click()
    expect(page.locator("#account-500000")).to_contain_text("305.50")
    expect(page.locator("#account-500000")).to_contain_text("1302.22 %")
    demo = page.locator("#account-900000")
    expect(demo).to_contain_text("10,000.00")
    expect(demo).to_contain_text("Stale: figures may be out of date")
    expect(page.locator("#account-500000")).not_to_contain_text("Stale")
    screenshot(page, "trading-portal-accounts")
    demo.get_by_role("button", name="Refresh account 900000").click()
    expect(page.locator("#account-900000")).not_to_contain_text("Stale")

    page.get_by_role("navigation", name="Trading").get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="Trading history")).to_be_visible()
    page.get_by_label("Account").select_option("500000")
    page.get_by_label("Type").select_option("trades")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.deals tbody tr")).to_have_count(3)
    expect(page.locator(".totals")).to_contain_text("55.50 USD")  # 59.00 - 1.75 - 1.75
    screenshot(page, "trading-portal-history")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    lines = download.value.path().read_text().splitlines()
    assert lines[0].startswith("time,account,kind,ticket,type") and len(lines) == 4

    # The whole history on a 1300 px screen: every column, the comment too, inside the card.
    platform_comments(alpha, "500000")
    page.set_viewport_size({"width": 1300, "height": 900})
    page.get_by_role("link", name="Clear").click()
    deals = page.locator("table.deals")
    expect(deals).to_contain_text("Transfer from wallet")
    expect(deals).to_contain_text("#5002 closed by TP at 1.08530 ok")
    wrap = page.locator(".table-wrap", has=deals)
    sizes = wrap.evaluate("el => [el.scrollWidth, el.clientWidth, el.getBoundingClientRect().right]")
    assert sizes[0] <= sizes[1], f"the deals table scrolls sideways: {sizes}"
    for header in ("Comment", "Profit", "Swap"):
        box = page.locator("table.deals th", has_text=header).bounding_box()
        assert box["x"] + box["width"] <= sizes[2] + 0.5, f"{header} is clipped"
    expect(page.locator(".totals tr.totals-live-USD")).to_contain_text("55.50 USD")
    expect(page.locator(".totals tr.totals-demo-USD")).to_contain_text("10,000.00")
    expect(page.locator(".totals tr.totals-live-USD")).not_to_contain_text("10,250.00")
    screenshot(page, "trading-portal-history-1300")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    try:
        mobile = phone.new_page()
        mobile.goto(site.tenant("alpha", "/portal/trading/"))
        expect(mobile.locator("#account-500000")).to_be_visible()
        screenshot(mobile, "trading-portal-accounts-phone")
        mobile.goto(site.tenant("alpha", "/portal/trading/500000/"))
        screenshot(mobile, "trading-portal-detail-phone")
    finally:
        phone.close()


def test_a_new_mt5_account_shows_its_sign_in_details_once(page, site, alpha, tara, platform, screenshot):
    with tenant_context(alpha):
        Platform.objects.update(kind=Platform.Kind.MT5, server="https://mt5.alpha-broker.test:443")
    sign_in(page, site.tenant("alpha", "/accounts/login/?next=/portal/trading/open/"), "tara@alpha.test")
    page.get_by_label("Live").check()
    page.get_by_role("button", name="Open account").click()
    details = page.get_by_role("region", name="Sign-in details")
    expect(details).to_contain_text("Save these details now.")
    expect(details).to_contain_text("500000")
    expect(details).to_contain_text("mt5.alpha-broker.test:443")
    password = details.locator("code.secret").inner_text()
    assert len(password) >= 8
    screenshot(page, "trading-portal-mt5-credentials")
    page.get_by_role("link", name="I have saved them: go to the account").click()
    expect(page.get_by_role("heading", name="Account 500000 Live", exact=True)).to_be_visible()
    assert password not in page.content()
    # Back: the browser was told not to keep the page, so it has nothing to show (Chromium would have
    # to send the form again, which it will not do unasked).
    with pytest.raises(PlaywrightError, match="ERR_CACHE_MISS"):
        page.go_back()
