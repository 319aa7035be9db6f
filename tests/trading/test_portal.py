"""The client's trading pages: accounts, opening one, an account's detail, refresh and wallet transfers.

Personas in alpha: Carl (client) owns the accounts, Dana is another client who must see none of them,
Alice is staff (no portal). Every platform call answers from the in-memory platform.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from payments import ledger
from payments.models import TradingTransfer
from tests import factories
from tests.tenants.web import tenant_web_client
from tests.trading.support import wallet_fund
from trading import services
from trading.models import Platform, Position, Symbol, TradingAccount, TradingPolicy

pytestmark = pytest.mark.django_db


@pytest.fixture
def dana(in_alpha):
    return factories.client_user("dana@alpha.test")


def web(alpha, user=None):
    return tenant_web_client(alpha, user)


def open_account(user, *, is_demo=False, leverage=100, currency="USD") -> TradingAccount:
    return services.account_open(client=user.client, is_demo=is_demo, leverage=leverage, currency=currency, actor=user)


def platform_state(platform, account, *, balance=None, margin=None):
    row = platform.accounts[account.login]
    if balance is not None:
        row["balance"] = D(balance)
    if margin is not None:
        row["margin"] = D(margin)


def fresh_token() -> str:
    """Form tokens live in the shared Redis and client ids restart in transactional tests: never reuse one."""
    return uuid.uuid4().hex


def open_form(token: str | None = None, **fields):
    return {"kind": "live", "leverage": "100", "currency": "USD", "token": token or fresh_token(), **fields}


def shown_messages(html: str) -> list[str]:
    """The texts of the flash messages on a page."""
    if '<ul class="messages">' not in html:
        return []
    block = html[html.index('<ul class="messages">') :]
    block = block[: block.index("</ul>")]
    return [item.split(">", 1)[1].split("</li>")[0] for item in block.split("<li")[1:]]


def transfer_form(direction, amount, token: str | None = None):
    token = token or fresh_token()
    return {f"{direction}-direction": direction, f"{direction}-amount": amount, f"{direction}-token": token}


# Accounts page --------------------------------------------------------------------------------------


def test_a_client_without_accounts_is_told_how_to_start(alpha, memory_platform, carl):
    page = web(alpha, carl).get("/portal/trading/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "You have no trading accounts yet" in html
    assert "Try a demo account." in html and 'href="/portal/trading/open/"' in html


def test_the_accounts_page_shows_each_accounts_figures(alpha, memory_platform, carl):
    live = open_account(carl, leverage=200)
    demo = open_account(carl, is_demo=True, currency="EUR", leverage=30)
    platform_state(memory_platform, live, balance="12345.5", margin="1000")
    services.account_state_refresh(live)
    Position.objects.create(
        platform=live.platform,
        ticket=77,
        login=live.login,
        account=live,
        symbol_name="EURUSD",
        side="buy",
        volume=D("1"),
        open_price=D("1.0845"),
        current_price=D("1.0850"),
        profit=D("50"),
        opened_at=timezone.now(),
        updated_at=timezone.now(),
    )
    html = web(alpha, carl).get("/portal/trading/").content.decode()
    card = html[html.index(f'id="account-{live.login}"') :]
    card = card[: card.index("</article>")]
    assert "Live" in card and "1:200" in card and "Simulator (live)" in card
    assert "12,345.50" in card  # balance and equity
    assert "11,345.50" in card  # free margin
    assert "1234.55 %" in card  # margin level
    assert "<dt>Open positions</dt><dd>1</dd>" in card
    assert "As of" in card and "Stale" not in card
    demo_card = html[html.index(f'id="account-{demo.login}"') :]
    assert "Demo" in demo_card[:600] and "10,000.00" in demo_card
    assert html.index("Live accounts") < html.index(f'id="account-{live.login}"') < html.index("Demo accounts")


@pytest.mark.parametrize(("level", "shown"), [("1500", "1500.00 %"), ("87.456", "87.46 %"), ("123.4", "123.40 %")])
def test_margin_level_has_two_decimals_on_the_card_and_the_account_page(alpha, memory_platform, carl, level, shown):
    account = open_account(carl)
    TradingAccount.objects.filter(pk=account.pk).update(margin_level=D(level), margin=D("10"))
    assert shown in web(alpha, carl).get("/portal/trading/").content.decode()
    assert shown in web(alpha, carl).get(f"/portal/trading/{account.login}/").content.decode()


def test_figures_older_than_the_policy_allows_are_flagged_stale(alpha, memory_platform, carl):
    account = open_account(carl)
    policy = TradingPolicy.current()
    policy.state_stale_after_seconds = 120
    policy.save()
    TradingAccount.objects.filter(pk=account.pk).update(state_at=timezone.now() - timedelta(seconds=90))
    assert "Stale: figures may be out of date" not in web(alpha, carl).get("/portal/trading/").content.decode()
    TradingAccount.objects.filter(pk=account.pk).update(state_at=timezone.now() - timedelta(seconds=150))
    html = web(alpha, carl).get("/portal/trading/").content.decode()
    assert "Stale: figures may be out of date" in html
    assert "Stale" in web(alpha, carl).get(f"/portal/trading/{account.login}/").content.decode()


def test_refresh_asks_the_platform_and_shows_the_new_figures(alpha, memory_platform, carl):
    account = open_account(carl)
    TradingAccount.objects.filter(pk=account.pk).update(state_at=timezone.now() - timedelta(hours=1))
    platform_state(memory_platform, account, balance="250")
    fragment = web(alpha, carl).post(
        f"/portal/trading/{account.login}/refresh/", {"part": "card"}, HTTP_HX_REQUEST="true"
    )
    html = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in html
    assert f'id="account-{account.login}"' in html and "250.00" in html and "Stale" not in html
    account.refresh_from_db()
    assert account.balance == D("250") and timezone.now() - account.state_at < timedelta(seconds=5)

    panel = (
        web(alpha, carl)
        .post(f"/portal/trading/{account.login}/refresh/", {"part": "state"}, HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert f'id="state-{account.login}"' in panel
    # the transfer form's free margin on the same page follows the panel
    assert '<span id="free-margin" hx-swap-oob="true">Free margin: <strong class="available">250.00 USD' in panel

    page = web(alpha, carl).post(f"/portal/trading/{account.login}/refresh/", {"part": "state"}, follow=True)
    assert page.redirect_chain[-1][0] == f"/portal/trading/{account.login}/"
    assert f"Account {account.login} is up to date." in page.content.decode()


def test_refresh_while_the_platform_is_down_says_so_instead_of_failing(alpha, memory_platform, carl):
    account = open_account(carl)
    memory_platform.down = True
    fragment = web(alpha, carl).post(
        f"/portal/trading/{account.login}/refresh/", {"part": "state"}, HTTP_HX_REQUEST="true"
    )
    html = fragment.content.decode()
    assert fragment.status_code == 200
    assert "The trading server is not answering right now" in html and f'id="state-{account.login}"' in html
    page = web(alpha, carl).post(f"/portal/trading/{account.login}/refresh/", follow=True)
    assert page.status_code == 200 and "The trading server is not answering right now" in page.content.decode()


def test_refresh_is_a_post(alpha, memory_platform, carl):
    account = open_account(carl)
    assert web(alpha, carl).get(f"/portal/trading/{account.login}/refresh/").status_code == 405


# Opening an account ---------------------------------------------------------------------------------


def test_the_open_form_offers_the_tenants_leverages_and_currencies(alpha, memory_platform, carl):
    policy = TradingPolicy.current()
    policy.leverage_choices, policy.default_leverage, policy.account_currencies = [50, 100, 400], 100, ["USD", "GBP"]
    policy.save()
    html = web(alpha, carl).get("/portal/trading/open/").content.decode()
    assert '<option value="50">1:50</option>' in html
    assert '<option value="100" selected>1:100</option>' in html
    assert '<option value="400">1:400</option>' in html and '"500"' not in html
    assert '<option value="GBP">GBP</option>' in html and '"EUR"' not in html
    assert 'name="token"' in html


def test_a_client_opens_a_demo_account_and_lands_on_it(alpha, memory_platform, carl):
    response = web(alpha, carl).post("/portal/trading/open/", open_form(kind="demo", currency="EUR"), follow=True)
    account = TradingAccount.objects.get(client=carl.client)
    assert (account.is_demo, account.currency, account.leverage) == (True, "EUR", 100)
    assert response.redirect_chain == [(f"/portal/trading/{account.login}/", 302)]
    html = response.content.decode()
    assert f"Your demo account {account.login} is open with 10,000.00 EUR of play money." in html
    assert "Demo accounts trade with play money" in html and "Move to account" not in html


def test_a_client_opens_a_live_account_and_is_offered_the_transfer(alpha, memory_platform, carl):
    response = web(alpha, carl).post("/portal/trading/open/", open_form(leverage="30"), follow=True)
    account = TradingAccount.objects.get(client=carl.client)
    assert (account.is_demo, account.leverage, account.platform.code) == (False, 30, "sim-live")
    assert account.created_by == carl
    html = response.content.decode()
    assert f"Your live account {account.login} is open." in html and "Move to account" in html


def test_leverage_not_offered_is_a_form_error_and_opens_nothing(alpha, memory_platform, carl):
    response = web(alpha, carl).post("/portal/trading/open/", open_form(leverage="400"))
    assert response.status_code == 400
    assert "Choose one of the leverages offered." in response.content.decode()
    assert not TradingAccount.objects.exists() and memory_platform.accounts == {}


def test_a_refusal_of_the_service_is_shown_on_the_form(alpha, memory_platform, carl):
    policy = TradingPolicy.current()
    policy.max_accounts_per_client = 1
    policy.save()
    open_account(carl, is_demo=True)
    page = web(alpha, carl).get("/portal/trading/open/").content.decode()
    assert "You already hold 1 trading accounts" in page
    response = web(alpha, carl).post("/portal/trading/open/", open_form())
    assert response.status_code == 400
    assert "A client may hold at most 1 trading accounts." in response.content.decode()
    assert TradingAccount.objects.count() == 1


def test_a_platform_that_is_down_opens_nothing_and_says_so(alpha, memory_platform, carl):
    memory_platform.down = True
    form = open_form()
    response = web(alpha, carl).post("/portal/trading/open/", form)
    assert response.status_code == 400
    assert "The trading server is not answering right now" in response.content.decode()
    assert "No account was opened." in response.content.decode()
    assert not TradingAccount.objects.exists()
    memory_platform.down = False  # the same form (same token) may be sent again once it is back
    again = web(alpha, carl).post("/portal/trading/open/", form)
    assert again.status_code == 302 and TradingAccount.objects.count() == 1


def test_the_same_open_form_sent_twice_opens_one_account_and_says_so_once(alpha, memory_platform, carl):
    browser = web(alpha, carl)
    form = open_form()
    first = browser.post("/portal/trading/open/", form)  # a double click: its page is never shown
    second = browser.post("/portal/trading/open/", form, follow=True)
    account = TradingAccount.objects.get()
    assert first["Location"] == f"/portal/trading/{account.login}/"
    assert second.redirect_chain[-1][0] == f"/portal/trading/{account.login}/"
    assert shown_messages(second.content.decode()) == [
        f"Your live account {account.login} is open. Move funds to it from your wallet below."
    ]
    assert memory_platform.calls.count("account_open") == 1
    # Sent again after its page was read (back, then resend): only the reminder is new.
    again = browser.post("/portal/trading/open/", form, follow=True)
    assert shown_messages(again.content.decode()) == [f"That form was already sent: account {account.login} is open."]
    third = browser.post("/portal/trading/open/", open_form())
    assert third.status_code == 302 and TradingAccount.objects.count() == 2


def mt5_platforms(server: str = "https://mt5.broker.test:443") -> None:
    """Alpha's platforms become MT5 ones (the in-memory platform still answers for them)."""
    Platform.objects.update(kind=Platform.Kind.MT5, server=server)


def test_a_new_mt5_account_shows_its_login_server_and_password_once(alpha, memory_platform, carl):
    mt5_platforms()
    browser = web(alpha, carl)
    form = open_form()
    response = browser.post("/portal/trading/open/", form)
    account = TradingAccount.objects.get()
    html = response.content.decode()
    password = re.search(r'<code class="secret">([^<]+)</code>', html).group(1)
    assert response.status_code == 200  # shown in this response, not after a redirect
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert f"<code>{account.login}</code>" in html and "<code>mt5.broker.test:443</code>" in html
    assert "Save these details now." in html and len(password) >= 8
    assert f'href="/portal/trading/{account.login}/"' in html
    # Nowhere else: not stored with the account, not in a message or the session, not on later pages.
    assert password not in str(TradingAccount.objects.filter(pk=account.pk).values().get())
    assert shown_messages(html) == []
    for later in (browser.get(f"/portal/trading/{account.login}/"), browser.get("/portal/trading/")):
        assert password not in later.content.decode()
    assert password not in str(dict(browser.session.items()))
    again = browser.post("/portal/trading/open/", form, follow=True)  # a resend does not show it again
    assert password not in again.content.decode() and TradingAccount.objects.count() == 1


def test_an_mt5_demo_account_page_also_says_what_it_holds(alpha, memory_platform, carl, monkeypatch):
    mt5_platforms("mt5-demo.broker.test")
    real_open = services.account_open

    def open_with_known_password(**kwargs):
        account = real_open(**kwargs)
        assert account.initial_password  # the service made one for MT5
        account.initial_password = "Sw0rdfish-9!"
        return account

    monkeypatch.setattr(services, "account_open", open_with_known_password)
    response = web(alpha, carl).post("/portal/trading/open/", open_form(kind="demo"))
    html = response.content.decode()
    assert '<code class="secret">Sw0rdfish-9!</code>' in html and "<code>mt5-demo.broker.test</code>" in html
    assert "10,000.00 USD of play money" in html


def test_a_simulator_account_shows_no_password_page(alpha, memory_platform, carl):
    response = web(alpha, carl).post("/portal/trading/open/", open_form())
    assert response.status_code == 302 and "secret" not in response.content.decode()


def test_a_demo_account_whose_funding_fails_is_still_reported_as_opened(alpha, memory_platform, carl, monkeypatch):
    from payments.trading_gateway import PlatformUnavailable

    def funding_lost(*args, **kwargs):
        raise PlatformUnavailable("Timed out (test)")

    monkeypatch.setattr(memory_platform, "balance_operation", funding_lost)
    response = web(alpha, carl).post("/portal/trading/open/", open_form(kind="demo"), follow=True)
    account = TradingAccount.objects.get()
    assert response.redirect_chain[-1][0] == f"/portal/trading/{account.login}/"
    assert f"Your account {account.login} is open, but the trading server did not answer" in response.content.decode()


# Detail -----------------------------------------------------------------------------------------


def test_the_detail_page_shows_positions_deals_and_transfer_limits(alpha, memory_platform, carl):
    from trading.models import Deal

    account = open_account(carl)
    wallet_fund(carl.client, "750.25")
    platform_state(memory_platform, account, balance="1000", margin="120")
    services.account_state_refresh(account)
    eurusd, usdjpy = Symbol.objects.get(name="EURUSD"), Symbol.objects.get(name="USDJPY")
    now = timezone.now()
    common = {
        "platform": account.platform,
        "login": account.login,
        "account": account,
        "opened_at": now,
        "updated_at": now,
    }
    Position.objects.create(
        ticket=1, symbol_name="EURUSD", symbol=eurusd, side="buy", volume=D("1.5"), open_price=D("1.0845"),
        current_price=D("1.0851"), profit=D("90"), swap=D("-2.10"), **common,
    )  # fmt: skip
    Position.objects.create(
        ticket=2, symbol_name="USDJPY", symbol=usdjpy, side="sell", volume=D("0.01"), open_price=D("151.42"),
        current_price=D("151.5"), profit=D("-0.53"), swap=D("0"), **common,
    )  # fmt: skip
    Deal.objects.create(
        platform=account.platform, ticket=9001, login=account.login, account=account, time=now, symbol_name="EURUSD",
        symbol=eurusd, action="buy", entry="in", volume=D("1.5"), price=D("1.0845"), commission=D("-5.25"),
    )  # fmt: skip
    html = web(alpha, carl).get(f"/portal/trading/{account.login}/").content.decode()
    assert "Account 500000" in html and "leverage 1:100" in html
    assert "1.50" in html and "1.08450" in html and "1.08510" in html and "90.00" in html and "-2.10" in html
    assert "151.420" in html and "151.500" in html and "0.01" in html and "-0.53" in html
    assert "87.37 USD" in html  # floating P&L incl. swap: 90 - 2.10 - 0.53
    assert "9001" in html and "-5.25" in html
    assert "750.25 USD" in html  # the wallet's available balance
    assert "880.00 USD" in html  # the account's free margin


def test_transfers_are_not_offered_on_a_disabled_account(alpha, memory_platform, carl, alice):
    account = open_account(carl)
    services.account_status_set(account, enabled=False, actor=alice)
    html = web(alpha, carl).get(f"/portal/trading/{account.login}/").content.decode()
    assert "This account is disabled, so transfers are paused." in html and "Move to account" not in html
    wallet_fund(carl.client, "100")
    response = web(alpha, carl).post(
        f"/portal/trading/{account.login}/transfer/to_account/", transfer_form("to_account", "10"), follow=True
    )
    assert "transfers are paused" in response.content.decode()
    assert not TradingTransfer.objects.exists()


def test_a_demo_account_refuses_transfers(alpha, memory_platform, carl):
    demo = open_account(carl, is_demo=True)
    wallet_fund(carl.client, "100")
    response = web(alpha, carl).post(
        f"/portal/trading/{demo.login}/transfer/to_account/", transfer_form("to_account", "10")
    )
    assert response.status_code == 302
    assert not TradingTransfer.objects.exists()


# Transfers ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # commits for real: the platform call runs on commit, in the request
def test_wallet_to_account_moves_the_money_and_says_so(alpha, memory_platform, carl):
    account = open_account(carl)
    wallet_fund(carl.client, "500")
    browser = web(alpha, carl)
    response = browser.post(f"/portal/trading/{account.login}/transfer/to_account/", transfer_form("to_account", "200"))
    assert response.status_code == 302 and response["Location"] == f"/portal/trading/{account.login}/#transfers"
    html = browser.get(f"/portal/trading/{account.login}/").content.decode()
    assert f"Moved 200.00 USD from your wallet to account {account.login}." in html
    transfer = TradingTransfer.objects.get()
    assert transfer.status == TradingTransfer.Status.COMPLETED and transfer.created_by == carl
    assert ledger.wallet_for(carl.client, "USD").available == D("300")
    assert memory_platform.accounts[account.login]["balance"] == D("200")
    rows = html[html.index('id="transfers-list"') :]
    assert "Wallet → account" in rows and "200.00 USD" in rows and "Completed" in rows
    assert "hx-trigger" not in rows[:300]  # nothing pending: no polling


@pytest.mark.django_db(transaction=True)  # commits for real: the platform call runs on commit, in the request
def test_account_to_wallet_refused_by_the_platform_is_reversed_and_explained(
    alpha, memory_platform, carl, django_capture_on_commit_callbacks
):
    account = open_account(carl)
    wallet_fund(carl.client, "100")
    with django_capture_on_commit_callbacks(execute=True):
        web(alpha, carl).post(
            f"/portal/trading/{account.login}/transfer/to_account/", transfer_form("to_account", "100")
        )
    # Our mirror still says 100 free; on the platform new positions now hold 95 of it.
    platform_state(memory_platform, account, margin="95")
    with django_capture_on_commit_callbacks(execute=True):
        response = web(alpha, carl).post(
            f"/portal/trading/{account.login}/transfer/to_wallet/",
            transfer_form("to_wallet", "50"),
            follow=True,
        )
    html = response.content.decode()
    assert shown_messages(html) == [
        f"The transfer of 50.00 USD from account {account.login} to your wallet did not go through: "
        "not enough free margin. Nothing moved; the money is still on your trading account."
    ]
    back = TradingTransfer.objects.get(direction=TradingTransfer.Direction.TO_WALLET)
    assert back.status == TradingTransfer.Status.REVERSED
    assert "10019 No money" in back.failure_reason  # the platform's own words stay for staff
    rows = html[html.index('id="transfers-list"') :]
    assert "Not made: not enough free margin. Nothing moved; the money is still on your trading account." in rows
    assert "returned" not in rows and "10019" not in html and "free margin," not in html
    wallet = ledger.wallet_for(carl.client, "USD")
    assert (wallet.balance, wallet.available) == (D("0"), D("0"))
    assert memory_platform.accounts[account.login]["balance"] == D("100")


@pytest.mark.django_db(transaction=True)  # commits for real: the platform call runs on commit, in the request
def test_wallet_to_account_refused_by_the_platform_says_the_money_is_still_in_the_wallet(
    alpha, memory_platform, carl, django_capture_on_commit_callbacks
):
    account = open_account(carl)
    wallet_fund(carl.client, "100")
    memory_platform.accounts.pop(account.login)  # gone on the platform meanwhile
    with django_capture_on_commit_callbacks(execute=True):
        response = web(alpha, carl).post(
            f"/portal/trading/{account.login}/transfer/to_account/", transfer_form("to_account", "60"), follow=True
        )
    html = response.content.decode()
    assert shown_messages(html) == [
        f"The transfer of 60.00 USD from your wallet to account {account.login} did not go through: "
        "the trading platform does not know the account. Nothing moved; the money is still in your wallet."
    ]
    assert "Nothing moved; the money is still in your wallet." in html[html.index('id="transfers-list"') :]
    assert ledger.wallet_for(carl.client, "USD").available == D("100")


def test_taking_out_more_than_the_free_margin_shown_is_a_form_error(alpha, memory_platform, carl):
    account = open_account(carl)
    platform_state(memory_platform, account, balance="80")
    services.account_state_refresh(account)
    response = web(alpha, carl).post(
        f"/portal/trading/{account.login}/transfer/to_wallet/", transfer_form("to_wallet", "80.01")
    )
    assert response.status_code == 400
    assert "More than the account&#x27;s free margin of 80.00 USD" in response.content.decode()
    assert not TradingTransfer.objects.exists()


def test_moving_more_than_the_wallet_holds_is_a_form_error(alpha, memory_platform, carl):
    account = open_account(carl)
    wallet_fund(carl.client, "40")
    response = web(alpha, carl).post(
        f"/portal/trading/{account.login}/transfer/to_account/", transfer_form("to_account", "40.5")
    )
    html = response.content.decode()
    assert response.status_code == 400
    # One message for one problem, beside the amount.
    form = html[html.index('id="to-account"') : html.index('id="to-wallet"')]
    assert form.count("Not enough available funds in USD: 40.00 available, 40.50 needed.") == 1
    assert "More than the available balance." not in html and 'class="form-errors"' not in form
    assert 'value="40.5"' in html  # the typed amount is kept
    assert not TradingTransfer.objects.exists()
    bad = web(alpha, carl).post(
        f"/portal/trading/{account.login}/transfer/to_account/", transfer_form("to_account", "1.001")
    )
    bad_html = bad.content.decode()
    assert bad.status_code == 400 and bad_html.count("USD amounts have at most 2 decimals.") == 1
    assert "At most 2 decimals in USD." not in bad_html


@pytest.mark.parametrize("typed", ["1e3", "1E3", "1e-2", "-5", "1,00", "NaN", "Infinity", "1 000", "٣"])
def test_an_amount_not_written_as_plain_digits_moves_nothing(alpha, memory_platform, carl, typed):
    account = open_account(carl)
    wallet_fund(carl.client, "5000")
    response = web(alpha, carl).post(
        f"/portal/trading/{account.login}/transfer/to_account/", transfer_form("to_account", typed)
    )
    assert response.status_code == 400
    assert "Enter an amount such as 250.00." in response.content.decode()
    assert not TradingTransfer.objects.exists()


@pytest.mark.django_db(transaction=True)  # commits for real: the platform call runs on commit, in the request
@pytest.mark.parametrize(("typed", "moved"), [("1,250.50", "1250.50"), ("1250.5", "1250.50"), (".5", "0.50")])
def test_amounts_with_grouping_or_a_bare_decimal_point_are_read_as_written(alpha, memory_platform, carl, typed, moved):
    account = open_account(carl)
    wallet_fund(carl.client, "5000")
    response = web(alpha, carl).post(
        f"/portal/trading/{account.login}/transfer/to_account/", transfer_form("to_account", typed)
    )
    assert response.status_code == 302
    assert TradingTransfer.objects.get().amount == D(moved)


@pytest.mark.django_db(transaction=True)  # commits for real: the platform call runs on commit, in the request
def test_the_same_transfer_form_sent_twice_moves_the_money_once(alpha, memory_platform, carl):
    account = open_account(carl)
    wallet_fund(carl.client, "500")
    browser = web(alpha, carl)
    form = transfer_form("to_account", "100")
    browser.post(f"/portal/trading/{account.login}/transfer/to_account/", form)
    again = browser.post(f"/portal/trading/{account.login}/transfer/to_account/", form, follow=True)
    assert shown_messages(again.content.decode()) == [f"Moved 100.00 USD from your wallet to account {account.login}."]
    later = browser.post(f"/portal/trading/{account.login}/transfer/to_account/", form, follow=True)
    assert shown_messages(later.content.decode()) == ["That transfer was already sent; see its status below."]
    assert TradingTransfer.objects.count() == 1
    assert ledger.wallet_for(carl.client, "USD").available == D("400")


def test_a_pending_transfer_is_polled_until_it_settles(alpha, memory_platform, carl):
    account = open_account(carl)
    wallet_fund(carl.client, "500")
    # Without the commit callbacks the platform call has not happened yet: the transfer is pending.
    response = web(alpha, carl).post(
        f"/portal/trading/{account.login}/transfer/to_account/", transfer_form("to_account", "25"), follow=True
    )
    html = response.content.decode()
    assert "is on its way" in html
    assert f'hx-get="/portal/trading/{account.login}/transfers/"' in html and "Waiting for the trading server" in html
    fragment = web(alpha, carl).get(f"/portal/trading/{account.login}/transfers/").content.decode()
    assert "<html" not in fragment and "Pending" in fragment


# Who may see what ----------------------------------------------------------------------------------


def account_urls(login: str) -> list[tuple[str, str]]:
    return [
        ("get", f"/portal/trading/{login}/"),
        ("get", f"/portal/trading/{login}/transfers/"),
        ("post", f"/portal/trading/{login}/refresh/"),
        ("post", f"/portal/trading/{login}/transfer/to_account/"),
        ("post", f"/portal/trading/{login}/transfer/to_wallet/"),
    ]


def test_another_clients_account_is_not_found_anywhere(alpha, memory_platform, carl, dana):
    theirs = open_account(carl)
    wallet_fund(dana.client, "100")
    platform_state(memory_platform, theirs, balance="99")
    for method, url in account_urls(theirs.login):
        data = transfer_form("to_account", "10") if "transfer/" in url else {}
        assert getattr(web(alpha, dana), method)(url, data).status_code == 404, url
    assert not TradingTransfer.objects.exists()
    assert theirs.login not in web(alpha, dana).get("/portal/trading/").content.decode()
    history = web(alpha, dana).get(f"/portal/trading/history/?account={theirs.login}")
    assert history.status_code == 400 and "Select a valid choice" in history.content.decode()
    assert web(alpha, dana).get("/portal/trading/no-such-login/").status_code == 404


@pytest.mark.parametrize(
    "url",
    ["/portal/trading/", "/portal/trading/open/", "/portal/trading/history/", "/portal/trading/history/export.csv"],
)
def test_staff_are_refused_and_strangers_sent_to_sign_in(alpha, memory_platform, alice, url):
    assert web(alpha, alice).get(url).status_code == 403
    anonymous = web(alpha).get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


def test_staff_cannot_reach_a_clients_account_through_the_portal(alpha, memory_platform, carl, alice):
    account = open_account(carl)
    for method, url in account_urls(account.login):
        assert getattr(web(alpha, alice), method)(url).status_code == 403, url
        assert getattr(web(alpha), method)(url).status_code == 302, url


# Portal overview -------------------------------------------------------------------------------------


def next_steps(alpha, user) -> str:
    html = web(alpha, user).get("/portal/").content.decode()
    start = html.index("Next steps")
    return html[start : html.index("</ol>", start)]


def test_the_overview_steps_follow_where_the_client_is(alpha, memory_platform, carl):
    steps = next_steps(alpha, carl)
    assert "Fund your wallet</a>" in steps and "Open a trading account</a>" in steps and "Done" not in steps
    open_account(carl, is_demo=True)
    steps = next_steps(alpha, carl)
    assert "Open a trading account" not in steps and "open a live account</a>" in steps
    wallet_fund(carl.client, "300")
    steps = next_steps(alpha, carl)
    assert "Your wallet is funded." in steps and "Fund your wallet" not in steps
    account = open_account(carl)
    steps = next_steps(alpha, carl)
    assert "You have a live" in steps and "open a live account" not in steps
    assert "Move money from your wallet to your live account" in steps
    from payments.wallets.trading import transfer_to_trading

    transfer_to_trading(client=carl.client, currency="USD", login=account.login, amount=D("300"), actor=carl)
    steps = next_steps(alpha, carl)
    # The wallet is empty now, but its money went on to the trading account: still done.
    assert steps.count("Done") == 3 and "Your live account is funded." in steps


def test_the_overview_reads_the_clients_progress_in_few_queries(alpha, memory_platform, carl):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    browser = web(alpha, carl)
    browser.get("/portal/")  # warm up: the session and permission caches
    with CaptureQueriesContext(connection) as without:
        browser.get("/portal/")
    for _ in range(3):
        open_account(carl, is_demo=True)
    wallet_fund(carl.client, "10")
    with CaptureQueriesContext(connection) as after:
        browser.get("/portal/")
    assert len(after) == len(without)
