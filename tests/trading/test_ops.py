"""/ops/trading/: who sees and changes what, tenant isolation, and what the pages show.

Personas in alpha: Alice (owner), Dan (dealing: sees and changes), Bea (back office: sees, cannot
change), Fiona (finance: no trading at all), Carl and Cleo (clients). Beta: Bob, its owner, and a
beta account whose rows alpha's staff must never see.
"""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from crm.models import Client
from payments.models import TradingTransfer
from tests import factories
from tests.tenants.web import tenant_web_client
from trading import services
from trading.defaults import trading_defaults_ensure
from trading.models import Deal, Platform, Position, Quote, Symbol, SymbolAlias, SyncProblem, TradingAccount

pytestmark = pytest.mark.django_db

BETA_TICKET = 424242


@dataclass
class People:
    alice: object
    dan: object
    bea: object
    fiona: object
    carl: object
    cleo: object
    bob: object
    carl_client: Client
    usd: TradingAccount
    eur: TradingAccount
    demo: TradingAccount
    beta_account_login: str


def deal_row(account: TradingAccount, ticket: int, *, days_ago: float = 1, **fields) -> Deal:
    symbol_name = fields.pop("symbol_name", "EURUSD")
    values = {
        "platform": account.platform,
        "ticket": ticket,
        "login": account.login,
        "account": account,
        "time": timezone.now() - timedelta(days=days_ago),
        "symbol_name": symbol_name,
        "symbol": Symbol.objects.filter(name=symbol_name.split(".")[0]).first() if symbol_name else None,
        "action": "buy",
        "entry": "in",
        "volume": D("1.00"),
        "price": D("1.08000"),
        "booking": Deal.Booking.BOOKED,
    }
    values.update(fields)
    return Deal.objects.create(**values)


def trading_people(alpha, beta, connector) -> People:
    """Alpha: Carl holds live USD 500000, live EUR 500001 and demo 900000, with a worked set of deals;
    Cleo holds nothing. Beta: one account with one deal (ticket 424242, symbol DE40)."""
    with tenant_context(beta):
        trading_defaults_ensure()
        bob = factories.staff_user("bob@beta.test", roles=["owner"])
        beta_client = factories.ClientFactory(email="beatrice@beta.test", first_name="Beatrice", last_name="Beta")
        beta_platform = Platform.objects.get(code="sim-live")
        beta_account = TradingAccount.objects.create(
            login="777001", platform=beta_platform, client=beta_client, group="beta", leverage=100, currency="USD"
        )
        deal_row(beta_account, BETA_TICKET, symbol_name="DE40", price=D("18000"))
        SyncProblem.objects.create(
            platform=beta_platform, kind="unknown_symbol", subject="BETASYM", message="beta only"
        )
    with tenant_context(alpha):
        trading_defaults_ensure()
        alice = factories.staff_user("alice@alpha.test", roles=["owner"])
        carl = factories.client_user("carl@alpha.test")
        cleo = factories.client_user("cleo@alpha.test")
        client = Client.objects.get(user=carl)
        usd = services.account_open(client=client, is_demo=False, leverage=100, currency="USD", actor=carl)
        eur = services.account_open(client=client, is_demo=False, leverage=30, currency="EUR", actor=carl)
        demo = services.account_open(client=client, is_demo=True, leverage=100, currency="USD", actor=carl)
        return People(
            alice=alice,
            dan=factories.staff_user("dan@alpha.test", roles=["dealing"]),
            bea=factories.staff_user("bea@alpha.test", roles=["back_office"]),
            fiona=factories.staff_user("fiona@alpha.test", roles=["finance"]),
            carl=carl,
            cleo=cleo,
            bob=bob,
            carl_client=client,
            usd=usd,
            eur=eur,
            demo=demo,
            beta_account_login=beta_account.login,
        )


def worked_deals(people: People) -> None:
    """Carl's history (see test_the_client_summary_shows_the_worked_example)."""
    usd, eur = people.usd, people.eur
    deal_row(usd, 1, days_ago=10, commission=D("-3.50"))
    deal_row(usd, 2, days_ago=3, action="sell", entry="out", price=D("1.08500"), profit=D("500"),
             commission=D("-3.50"), swap=D("-2.00"))  # fmt: skip
    deal_row(usd, 3, days_ago=2, symbol_name="XAUUSD", volume=D("0.50"), price=D("2300.00"), commission=D("-5"))
    deal_row(usd, 4, days_ago=20, action="balance", symbol_name="", volume=0, price=0, profit=D("1000"),
             booking=Deal.Booking.TRANSFER)  # fmt: skip
    Position.objects.create(
        platform=usd.platform, ticket=3, login=usd.login, account=usd, symbol_name="XAUUSD",
        symbol=Symbol.objects.get(name="XAUUSD"), side="buy", volume=D("0.50"), open_price=D("2300.00"),
        current_price=D("2300.50"), profit=D("25.00"), swap=D("-1.20"), opened_at=timezone.now() - timedelta(days=2),
        updated_at=timezone.now(),
    )  # fmt: skip
    deal_row(eur, 5, days_ago=5, symbol_name="DE40.cash", volume=D("2"), price=D("18000"), commission=D("-4"))
    deal_row(eur, 6, days_ago=40, symbol_name="EURUSD.pro", price=D("1.10000"), commission=D("-3"))
    Quote.objects.create(
        symbol=Symbol.objects.get(name="EURUSD"), bid=D("1.09990"), ask=D("1.10010"), at=timezone.now()
    )


@pytest.fixture
def people(alpha, beta, memory_platform):
    made = trading_people(alpha, beta, memory_platform)
    with tenant_context(alpha):
        worked_deals(made)
    return made


def web(alpha, beta, people, who):
    if who is None:
        return tenant_web_client(alpha)
    if who == "bob":
        return tenant_web_client(beta, people.bob)
    return tenant_web_client(alpha, getattr(people, who))


def view_pages(people) -> list[str]:
    return [
        "/ops/trading/",
        "/ops/trading/accounts/",
        f"/ops/trading/accounts/{people.usd.login}/",
        "/ops/trading/deals/",
        "/ops/trading/deals.csv",
        "/ops/trading/positions/",
        f"/ops/trading/clients/{people.carl_client.pk}/",
        "/ops/trading/symbols/",
    ]


MANAGE_PAGES = [
    "/ops/trading/symbols/EURUSD/",
    "/ops/trading/symbols/policy/",
]
# A platform's connection is configuration: trading_manage and settings_manage (dealing lacks the latter).
PLATFORM_PAGES = [
    "/ops/trading/platforms/new/",
    "/ops/trading/platforms/sim-live/",
]


# Who may see and change ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [(None, 302), ("carl", 403), ("fiona", 403), ("bea", 200), ("dan", 200), ("alice", 200)],
)
def test_every_trading_page_needs_trading_view(alpha, beta, people, who, expected):
    browser = web(alpha, beta, people, who)
    for url in view_pages(people):
        response = browser.get(url)
        assert response.status_code == expected, url
        if expected == 302:
            assert response["Location"].startswith("/accounts/login/"), url


@pytest.mark.parametrize(
    ("who", "expected"),
    [(None, 302), ("carl", 403), ("fiona", 403), ("bea", 403), ("dan", 200), ("alice", 200)],
)
def test_edit_pages_need_trading_manage(alpha, beta, people, who, expected):
    browser = web(alpha, beta, people, who)
    for url in MANAGE_PAGES:
        assert browser.get(url).status_code == expected, url


@pytest.mark.parametrize(
    ("who", "expected"),
    [(None, 302), ("carl", 403), ("fiona", 403), ("bea", 403), ("dan", 403), ("alice", 200)],
)
def test_platform_pages_need_settings_manage_too(alpha, beta, people, who, expected):
    browser = web(alpha, beta, people, who)
    for url in PLATFORM_PAGES:
        assert browser.get(url).status_code == expected, url


@pytest.mark.parametrize("who", ["bea", "fiona", "carl"])
def test_people_without_trading_manage_change_nothing(alpha, beta, people, memory_platform, who):
    browser = web(alpha, beta, people, who)
    login = people.usd.login
    with tenant_context(alpha):
        problem = SyncProblem.objects.create(
            platform=people.usd.platform, kind="unknown_login", subject="123", message="?"
        )
        alias = SymbolAlias.objects.get(alias="EURUSD.pro")
    posts = [
        (f"/ops/trading/accounts/{login}/leverage/", {"leverage": "50"}),
        (f"/ops/trading/accounts/{login}/group/", {"group": "vip"}),
        (f"/ops/trading/accounts/{login}/status/", {"enabled": "0", "reason": "test"}),
        (f"/ops/trading/accounts/{login}/refresh/", {}),
        ("/ops/trading/platforms/sim-live/test/", {}),
        ("/ops/trading/platforms/sim-live/sync/", {}),
        ("/ops/trading/platforms/sim-live/active/", {"is_active": "0"}),
        ("/ops/trading/platforms/sim-live/rotate-secret/", {}),
        ("/ops/trading/platforms/sim-live/", {"name": "Renamed"}),
        (f"/ops/trading/problems/{problem.pk}/resolve/", {}),
        ("/ops/trading/symbols/EURUSD/", {"contract_size": "1"}),
        ("/ops/trading/symbols/EURUSD/aliases/", {"alias": "EURUSD.x"}),
        (f"/ops/trading/symbols/EURUSD/aliases/{alias.pk}/remove/", {}),
        ("/ops/trading/symbols/policy/", {"leverage_choices": "1"}),
    ]
    calls_before = list(memory_platform.calls)
    for url, data in posts:
        assert browser.post(url, data).status_code == 403, url
    assert memory_platform.calls == calls_before
    with tenant_context(alpha):
        account = TradingAccount.objects.get(login=login)
        assert (account.leverage, account.group, account.status) == (100, "sim\\live\\standard", "active")
        assert SyncProblem.objects.get(pk=problem.pk).resolved_at is None
        assert SymbolAlias.objects.filter(alias="EURUSD.pro").exists()
        assert not SymbolAlias.objects.filter(alias="EURUSD.x").exists()
        assert Platform.objects.get(code="sim-live").is_active
        assert not AuditRecord.objects.filter(action__startswith="trading.").exclude(action="trading.account_open")


def test_back_office_sees_no_change_buttons(alpha, beta, people):
    page = web(alpha, beta, people, "bea").get(f"/ops/trading/accounts/{people.usd.login}/").content.decode()
    assert "Change leverage" not in page and "Disable" not in page
    overview = web(alpha, beta, people, "bea").get("/ops/trading/").content.decode()
    assert "Test connection" not in overview and "Sync now" not in overview
    dealing = web(alpha, beta, people, "dan").get(f"/ops/trading/accounts/{people.usd.login}/").content.decode()
    assert "Change leverage" in dealing and "Disable" in dealing


# Tenant isolation ----------------------------------------------------------------------------------


def test_alpha_staff_never_see_beta_rows(alpha, beta, people):
    alice = web(alpha, beta, people, "alice")
    assert alice.get(f"/ops/trading/accounts/{people.beta_account_login}/").status_code == 404
    assert str(BETA_TICKET) not in alice.get("/ops/trading/deals/").content.decode()
    assert str(BETA_TICKET) not in alice.get("/ops/trading/deals.csv").getvalue().decode()
    assert "BETASYM" not in alice.get("/ops/trading/").content.decode()
    assert "beatrice@beta.test" not in alice.get("/ops/trading/accounts/?q=Beatrice").content.decode()
    with tenant_context(beta):
        beta_client = Client.objects.get(email="beatrice@beta.test")
    # Alpha has no client with beta's id (or a different one): never beta's figures.
    page = alice.get(f"/ops/trading/clients/{beta_client.pk}/")
    assert page.status_code == 404 or "777001" not in page.content.decode()


def test_beta_owner_sees_only_beta(alpha, beta, people):
    bob = web(alpha, beta, people, "bob")
    page = bob.get("/ops/trading/accounts/").content.decode()
    assert "777001" in page and people.usd.login not in page
    assert bob.get(f"/ops/trading/accounts/{people.usd.login}/").status_code == 404


# Overview and platforms ----------------------------------------------------------------------------


def test_overview_shows_health_accounts_and_open_problems(alpha, beta, people):
    with tenant_context(alpha):
        platform = Platform.objects.get(code="sim-live")
        Platform.objects.filter(pk=platform.pk).update(health="error", health_message="Connection refused (test)")
        SyncProblem.objects.create(
            platform=platform, kind="unknown_symbol", subject="FOO.x", message="Unknown symbol FOO.x", occurrences=7
        )
        SyncProblem.objects.create(
            platform=platform, kind="unknown_login", subject="1", message="old", resolved_at=timezone.now()
        )
    page = web(alpha, beta, people, "bea").get("/ops/trading/").content.decode()
    assert "Connection refused (test)" in page and "Error" in page
    assert "Unknown symbol FOO.x" in page and ">7<" in page
    assert "2 accounts</a>" in page  # sim-live: USD and EUR; the demo one is on sim-demo
    assert "1 open sync problem" in page  # the resolved one is not listed


def test_resolving_a_problem_is_audited_and_happens_once(alpha, beta, people):
    with tenant_context(alpha):
        problem = SyncProblem.objects.create(
            platform=people.usd.platform, kind="unknown_login", subject="123456", message="Unknown login 123456"
        )
    dan = web(alpha, beta, people, "dan")
    response = dan.post(f"/ops/trading/problems/{problem.pk}/resolve/", follow=True)
    assert "Marked resolved" in response.content.decode()
    assert f'id="problem-{problem.pk}"' not in response.content.decode()
    again = dan.post(f"/ops/trading/problems/{problem.pk}/resolve/", follow=True)
    assert "already resolved" in again.content.decode()
    with tenant_context(alpha):
        assert SyncProblem.objects.get(pk=problem.pk).resolved_at is not None
        record = AuditRecord.objects.get(action="trading.sync_problem_resolved")
        assert record.actor_email == "dan@alpha.test" and record.after["subject"] == "123456"


def test_test_connection_records_health(alpha, beta, people, memory_platform):
    dan = web(alpha, beta, people, "dan")
    memory_platform.down = True
    page = dan.post("/ops/trading/platforms/sim-live/test/", follow=True).content.decode()
    assert "did not answer: Connection refused (test)" in page
    with tenant_context(alpha):
        assert Platform.objects.get(code="sim-live").health == "error"
    memory_platform.down = False
    page = dan.post("/ops/trading/platforms/sim-live/test/", follow=True).content.decode()
    assert "the connection works" in page
    with tenant_context(alpha):
        assert Platform.objects.get(code="sim-live").health == "ok"


def test_sync_now_pulls_deals_from_the_platform(alpha, beta, people, memory_platform):
    from tests.trading.support import deal

    with tenant_context(alpha):
        Platform.objects.filter(code="sim-live").update(deals_synced_to=timezone.now() - timedelta(minutes=5))
    memory_platform.trade(people.usd.login, deal(symbol="EURUSD.pro", time=timezone.now() - timedelta(minutes=1)))
    page = web(alpha, beta, people, "dan").post("/ops/trading/platforms/sim-live/sync/", follow=True)
    assert "Sim" in page.content.decode() and "synced" in page.content.decode()
    with tenant_context(alpha):
        assert Deal.objects.filter(platform__code="sim-live", ticket=memory_platform.deal_list[-1].ticket).exists()
        assert Platform.objects.get(code="sim-live").last_sync_at is not None


def mt5_form(**changes):
    data = {
        "name": "MT5 Live",
        "code": "mt5-live",
        "environment": "live",
        "server": "https://mt5.example.com:443",
        "manager_login": "1001",
        "manager_password": "Manager-Secret-123",
        "default_group": "real\\standard",
        "login_range_start": "2000000",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_an_mt5_platform_is_created_with_a_hidden_password(alpha, beta, people):
    alice = web(alpha, beta, people, "alice")
    response = alice.post("/ops/trading/platforms/new/", mt5_form())
    assert response.status_code == 302
    with tenant_context(alpha):
        platform = Platform.objects.get(code="mt5-live")
        assert (platform.kind, platform.manager_password) == ("mt5", "Manager-Secret-123")
        assert len(platform.push_secret) == 64
        record = AuditRecord.objects.get(action="trading.platform_created")
        assert record.after["manager_password"] == "***" and record.after["server"] == "https://mt5.example.com:443"
        assert "Manager-Secret-123" not in str(record.before) + str(record.after)
    for url in ("/ops/trading/", "/ops/trading/platforms/mt5-live/"):
        page = alice.get(url).content.decode()
        assert "Manager-Secret-123" not in page and platform.push_secret not in page
    form = alice.get("/ops/trading/platforms/mt5-live/").content.decode()
    assert "Stored password: set." in form
    assert "-123" not in form and "••••" not in form  # not even the last characters
    assert platform.push_secret[-4:] not in form


def test_a_blank_password_keeps_the_stored_one_and_the_code_stays(alpha, beta, people):
    alice = web(alpha, beta, people, "alice")
    alice.post("/ops/trading/platforms/new/", mt5_form())
    response = alice.post(
        "/ops/trading/platforms/mt5-live/", mt5_form(name="MT5 Real", manager_password="", code="hijack")
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        platform = Platform.objects.get(code="mt5-live")
        assert (platform.name, platform.manager_password) == ("MT5 Real", "Manager-Secret-123")
        update = AuditRecord.objects.get(action="trading.platform_updated")
        assert (update.before["name"], update.after["name"]) == ("MT5 Live", "MT5 Real")
        assert "manager_password" not in update.after


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"server": "http://mt5.example.com"}, "Use https://"),
        ({"server": ""}, "The MT5 Web API address is required"),
        ({"manager_password": ""}, "Required for a new MT5 connection."),
        ({"manager_login": "admin"}, "The manager account&#x27;s login (digits)."),
        ({"code": "sim-live"}, "Another platform uses this code."),
        ({"code": "not a slug"}, "Enter a valid"),
    ],
)
def test_bad_platform_input_is_explained_and_nothing_is_saved(alpha, beta, people, changes, message):
    response = web(alpha, beta, people, "alice").post("/ops/trading/platforms/new/", mt5_form(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_context(alpha):
        assert Platform.objects.count() == 2
        assert not AuditRecord.objects.filter(action="trading.platform_created").exists()


def _replacing(page: str) -> str:
    return re.search(r'name="replacing" value="([0-9a-f]*)"', page).group(1)


def test_rotating_the_push_secret_shows_it_once(alpha, beta, people):
    alice = web(alpha, beta, people, "alice")
    replacing = _replacing(alice.get("/ops/trading/platforms/sim-live/").content.decode())
    response = alice.post("/ops/trading/platforms/sim-live/rotate-secret/", {"replacing": replacing})
    with tenant_context(alpha):
        secret = Platform.objects.get(code="sim-live").push_secret
    assert secret in response.content.decode() and response["Cache-Control"] == "no-store"
    assert secret not in alice.get("/ops/trading/platforms/sim-live/").content.decode()
    with tenant_context(alpha):
        record = AuditRecord.objects.get(action="trading.platform_secret_rotated")
        assert secret not in str(record.after)

    # A reload of the answer page posts the same form again: the secret just shown stays current.
    again = alice.post("/ops/trading/platforms/sim-live/rotate-secret/", {"replacing": replacing}, follow=True)
    assert "already rotated" in again.content.decode() and secret not in again.content.decode()
    with tenant_context(alpha):
        assert Platform.objects.get(code="sim-live").push_secret == secret
        assert AuditRecord.objects.filter(action="trading.platform_secret_rotated").count() == 1


def test_switching_a_platform_off_and_on_is_audited(alpha, beta, people):
    alice = web(alpha, beta, people, "alice")
    alice.post("/ops/trading/platforms/sim-demo/active/", {"is_active": "0"})
    with tenant_context(alpha):
        assert not Platform.objects.get(code="sim-demo").is_active
    alice.post("/ops/trading/platforms/sim-demo/active/", {"is_active": "1"})
    with tenant_context(alpha):
        assert Platform.objects.get(code="sim-demo").is_active
        actions = list(
            AuditRecord.objects.filter(action__startswith="trading.platform_")
            .order_by("id")
            .values_list("action", flat=True)
        )
        assert actions == ["trading.platform_deactivated", "trading.platform_activated"]


# Accounts ------------------------------------------------------------------------------------------


def test_accounts_search_by_login_name_email_kind_and_status(alpha, beta, people):
    bea = web(alpha, beta, people, "bea")

    def logins(query):
        page = bea.get("/ops/trading/accounts/", query).content.decode()
        return {login for login in ("500000", "500001", "900000") if f">{login}</a>" in page}

    assert logins({}) == {"500000", "500001", "900000"}
    assert logins({"q": "500001"}) == {"500001"}
    assert logins({"q": "carl@alpha"}) == {"500000", "500001", "900000"}
    assert logins({"q": "cleo"}) == set()
    assert logins({"kind": "demo"}) == {"900000"}
    with tenant_context(alpha):
        demo_platform = Platform.objects.get(code="sim-demo")
        TradingAccount.objects.filter(login="500001").update(status="disabled")
    assert logins({"kind": "live", "status": "disabled"}) == {"500001"}
    assert logins({"platform": demo_platform.pk}) == {"900000"}


def test_an_htmx_search_returns_only_the_rows(alpha, beta, people):
    response = web(alpha, beta, people, "bea").get("/ops/trading/accounts/", {"q": "500000"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<table" in body and "<html" not in body and ">500000</a>" in body


def test_stale_state_is_marked(alpha, beta, people):
    bea = web(alpha, beta, people, "bea")
    assert "⚠ stale" not in bea.get("/ops/trading/accounts/", {"q": "500000"}).content.decode()
    with tenant_context(alpha):
        TradingAccount.objects.filter(login="500000").update(state_at=timezone.now() - timedelta(seconds=301))
    assert "⚠ stale" in bea.get("/ops/trading/accounts/", {"q": "500000"}).content.decode()
    assert "⚠ stale" in bea.get("/ops/trading/accounts/500000/").content.decode()


def test_account_page_shows_state_positions_deals_and_transfers(alpha, beta, people):
    with tenant_context(alpha):
        TradingTransfer.objects.create(
            client=people.carl_client, account_login="500000", direction="to_account", currency="USD",
            amount=D("250.00"), status="completed", platform_reference="deal-77",
        )  # fmt: skip
        TradingAccount.objects.filter(login="500000").update(
            balance=D("1234.5"), equity=D("1258.30"), margin=D("575"), margin_level=D("218.83")
        )
    page = web(alpha, beta, people, "bea").get("/ops/trading/accounts/500000/").content.decode()
    assert "1,234.50" in page and "1,258.30" in page and "218.83 %" in page
    assert "XAUUSD" in page and "25.00" in page and "23.80 USD" in page  # floating: profit + swap
    assert "500.00 USD" in page  # the closing EURUSD deal
    assert "250.00 USD" in page and "deal-77" in page


def test_a_leverage_change_reaches_the_platform_and_is_audited(alpha, beta, people, memory_platform):
    with tenant_context(alpha):  # plenty of equity for the open gold position at 1:50
        TradingAccount.objects.filter(login="500000").update(equity=D("10000"), margin=D("1150"))
    response = web(alpha, beta, people, "dan").post(
        "/ops/trading/accounts/500000/leverage/", {"leverage": "50"}, follow=True
    )
    assert "Leverage of 500000 changed from 1:100 to 1:50." in response.content.decode()
    assert memory_platform.accounts["500000"]["leverage"] == 50
    with tenant_context(alpha):
        assert TradingAccount.objects.get(login="500000").leverage == 50
        record = AuditRecord.objects.get(action="trading.leverage_changed")
        assert (record.actor_email, record.before["leverage"], record.after["leverage"]) == ("dan@alpha.test", 100, 50)


def test_a_platform_outage_is_explained_and_changes_nothing(alpha, beta, people, memory_platform):
    with tenant_context(alpha):
        TradingAccount.objects.filter(login="500000").update(equity=D("10000"), margin=D("1150"))
    memory_platform.down = True
    dan = web(alpha, beta, people, "dan")
    page = dan.post("/ops/trading/accounts/500000/leverage/", {"leverage": "50"}, follow=True).content.decode()
    assert "Sim Live did not answer" in page or "did not answer (Connection refused (test))" in page
    assert "Nothing was changed here" in page
    page = dan.post(
        "/ops/trading/accounts/500000/status/", {"enabled": "0", "reason": "compliance hold"}, follow=True
    ).content.decode()
    assert "did not answer" in page
    with tenant_context(alpha):
        account = TradingAccount.objects.get(login="500000")
        assert (account.leverage, account.status) == (100, "active")
        assert not AuditRecord.objects.filter(action__in=["trading.leverage_changed", "trading.account_disabled"])


def test_a_platform_refusal_is_shown(alpha, beta, people, memory_platform):
    del memory_platform.accounts["500000"]  # the platform no longer knows the login
    page = web(alpha, beta, people, "dan").post("/ops/trading/accounts/500000/group/", {"group": "vip"}, follow=True)
    assert "Not changed: 13 Not found: 500000" in page.content.decode()


@pytest.mark.parametrize("value", ["0", "3001", "1000", "abc", ""])
def test_bad_leverage_is_refused_with_a_message(alpha, beta, people, memory_platform, value):
    response = web(alpha, beta, people, "dan").post("/ops/trading/accounts/500000/leverage/", {"leverage": value})
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert "account_update" not in memory_platform.calls


def test_disable_enable_group_and_refresh(alpha, beta, people, memory_platform):
    dan = web(alpha, beta, people, "dan")
    dan.post("/ops/trading/accounts/500000/status/", {"enabled": "0", "reason": "client request"})
    assert memory_platform.accounts["500000"]["enabled"] is False
    dan.post("/ops/trading/accounts/500000/group/", {"group": "real\\vip"})
    memory_platform.accounts["500000"]["balance"] = D("777.00")
    dan.post("/ops/trading/accounts/500000/refresh/")
    with tenant_context(alpha):
        account = TradingAccount.objects.get(login="500000")
        assert (account.status, account.group, account.balance) == ("disabled", "real\\vip", D("777.00"))
    dan.post("/ops/trading/accounts/500000/status/", {"enabled": "1"})
    assert memory_platform.accounts["500000"]["enabled"] is True


# Deals and positions -------------------------------------------------------------------------------


def tickets(page: str) -> set[int]:
    return {ticket for ticket in range(1, 10) if f"<td>{ticket}<br>" in page}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {1, 2, 3, 4, 5, 6}),
        ({"login": "500000"}, {1, 2, 3, 4}),
        ({"ticket": "3"}, {3}),
        ({"symbol": "EURUSD"}, {1, 2, 6}),  # EURUSD.pro resolves to EURUSD
        ({"symbol": "de40"}, {5}),
        ({"action": "sell"}, {2}),
        ({"action": "balance"}, {4}),
        ({"booking": "transfer"}, {4}),
        ({"login": "500001", "symbol": "EURUSD"}, {6}),
    ],
)
def test_deal_filters(alpha, beta, people, query, expected):
    page = web(alpha, beta, people, "bea").get("/ops/trading/deals/", query).content.decode()
    assert tickets(page) == expected


def test_deal_date_range_is_inclusive_of_the_end_day(alpha, beta, people):
    today = timezone.localdate()
    query = {"date_from": str(today - timedelta(days=5)), "date_to": str(today - timedelta(days=2))}
    page = web(alpha, beta, people, "bea").get("/ops/trading/deals/", query).content.decode()
    assert tickets(page) == {2, 3, 5}


def test_a_reversed_date_range_is_explained(alpha, beta, people):
    today = timezone.localdate()
    query = {"date_from": str(today), "date_to": str(today - timedelta(days=3))}
    response = web(alpha, beta, people, "bea").get("/ops/trading/deals/", query)
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()


def test_deal_pages_go_older_and_newer_without_counting(alpha, beta, people, monkeypatch):
    monkeypatch.setattr("trading.ops.views_deals.DEALS_PER_PAGE", 4)
    bea = web(alpha, beta, people, "bea")
    first = bea.get("/ops/trading/deals/").content.decode()
    assert tickets(first) == {3, 2, 5, 1}  # newest first
    assert "in all" not in first and "Newer" not in first
    older_link = first.split("after=")[1].split('"')[0].replace("&amp;", "&")
    second = bea.get(f"/ops/trading/deals/?after={older_link}").content.decode()
    assert tickets(second) == {4, 6}
    assert "Older" not in second
    newer_link = second.split("before=")[1].split('"')[0].replace("&amp;", "&")
    back = bea.get(f"/ops/trading/deals/?before={newer_link}").content.decode()
    assert tickets(back) == {3, 2, 5, 1}
    assert bea.get("/ops/trading/deals/?after=garbage").status_code == 200


def test_the_deals_page_costs_the_same_queries_however_many_deals(alpha, beta, people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    bea = web(alpha, beta, people, "bea")
    bea.get("/ops/trading/deals/")  # warm the session

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert bea.get("/ops/trading/deals/", {"symbol": "EURUSD"}).status_code == 200
        sql = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("SET ")]
        assert not [text for text in sql if "COUNT(" in text.upper() and "trading_deal" in text]
        return len(sql)

    few = queries()
    with tenant_context(alpha):
        for ticket in range(100, 160):
            deal_row(people.eur if ticket % 2 else people.usd, ticket, days_ago=ticket / 100)
    assert queries() == few <= 10  # 10 with the notification bell of every ops page


def test_csv_export_streams_the_filtered_deals(alpha, beta, people):
    response = web(alpha, beta, people, "bea").get("/ops/trading/deals.csv", {"login": "500000"})
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert [int(row["ticket"]) for row in rows] == [3, 2, 1, 4]
    closing = next(row for row in rows if row["ticket"] == "2")
    assert (closing["action"], closing["entry"], closing["profit"], closing["swap"]) == (
        "sell",
        "out",
        "500.00",
        "-2.00",
    )


def test_csv_neutralises_formulas_in_comments(alpha, beta, people):
    with tenant_context(alpha):
        deal_row(people.usd, 99, comment="=HYPERLINK(1)")
    body = web(alpha, beta, people, "bea").get("/ops/trading/deals.csv", {"ticket": "99"}).getvalue().decode()
    assert "'=HYPERLINK(1)" in body


def test_positions_filter_and_floating_totals_per_currency(alpha, beta, people):
    with tenant_context(alpha):
        Position.objects.create(
            platform=people.eur.platform, ticket=50, login="500001", account=people.eur, symbol_name="DE40",
            side="sell", volume=D("1"), open_price=D("18000"), current_price=D("18010"), profit=D("-10.00"),
            swap=D("0"), opened_at=timezone.now(), updated_at=timezone.now(),
        )  # fmt: skip
    bea = web(alpha, beta, people, "bea")
    page = bea.get("/ops/trading/positions/").content.decode()
    assert "23.80" in page and "-10.00" in page
    sells = bea.get("/ops/trading/positions/", {"side": "sell"}).content.decode()
    assert "DE40" in sells and "XAUUSD" not in sells
    gold = bea.get("/ops/trading/positions/", {"symbol": "GOLD"}).content.decode()  # an alias of XAUUSD
    assert "XAUUSD" in gold and "DE40" not in gold


# Client trading summary ----------------------------------------------------------------------------


def test_the_client_summary_shows_the_worked_example(alpha, beta, people):
    page = web(alpha, beta, people, "bea").get(f"/ops/trading/clients/{people.carl_client.pk}/").content.decode()
    assert 'id="summary-deals">5<' in page
    assert 'id="summary-lots">5.50' in page  # lots: 1 + 1 + 0.5 (USD) + 2 + 1 (EUR)
    assert "331,500.00" in page and "136,000.00" in page  # notional per account
    assert "486.00" in page and "-7.00" in page and "23.80" in page


def test_the_summary_period_filter(alpha, beta, people):
    page = (
        web(alpha, beta, people, "bea")
        .get(f"/ops/trading/clients/{people.carl_client.pk}/", {"period": "7"})
        .content.decode()
    )
    assert 'id="summary-deals">3<' in page
    assert "223,500.00" in page and "489.50" in page and "36,000.00" in page


# Symbols and policy --------------------------------------------------------------------------------


def test_a_symbol_edit_is_audited(alpha, beta, people):
    with tenant_context(alpha):
        from trading.ops.forms import SymbolForm

        form = SymbolForm(instance=Symbol.objects.get(name="EURUSD"))
        data = {name: form[name].value() for name in form.fields}
    data = {key: ("" if value is None else value) for key, value in data.items()}
    data.update(swap_long="-7.5", margin_rate="0.5", is_active="on")
    response = web(alpha, beta, people, "dan").post("/ops/trading/symbols/EURUSD/", data)
    assert response.status_code == 302
    with tenant_context(alpha):
        symbol = Symbol.objects.get(name="EURUSD")
        assert (symbol.swap_long, symbol.margin_rate) == (D("-7.5"), D("0.5"))
        record = AuditRecord.objects.get(action="trading.symbol_updated")
        assert (record.before["swap_long"], record.after["swap_long"]) == ("-6.9000", "-7.5000")


def test_a_bad_symbol_edit_is_refused(alpha, beta, people):
    with tenant_context(alpha):
        from trading.ops.forms import SymbolForm

        form = SymbolForm(instance=Symbol.objects.get(name="EURUSD"))
        data = {name: ("" if form[name].value() is None else form[name].value()) for name in form.fields}
    data.update(contract_size="0", is_active="on")
    response = web(alpha, beta, people, "dan").post("/ops/trading/symbols/EURUSD/", data)
    assert response.status_code == 400 and "Must be greater than zero." in response.content.decode()
    with tenant_context(alpha):
        assert Symbol.objects.get(name="EURUSD").contract_size == D("100000")


def test_aliases_are_added_unique_and_removed(alpha, beta, people):
    dan = web(alpha, beta, people, "dan")
    assert dan.post("/ops/trading/symbols/EURUSD/aliases/", {"alias": "EURUSD.ecn"}).status_code == 302
    taken = dan.post("/ops/trading/symbols/GBPUSD/aliases/", {"alias": "eurusd.ECN"})
    assert taken.status_code == 400 and "Already an alias of EURUSD" in taken.content.decode()
    own_name = dan.post("/ops/trading/symbols/GBPUSD/aliases/", {"alias": "EURUSD"})
    assert own_name.status_code == 400 and "A symbol has this name." in own_name.content.decode()
    with tenant_context(alpha):
        alias = SymbolAlias.objects.get(alias="EURUSD.ecn")
        assert alias.symbol.name == "EURUSD"
    dan.post(f"/ops/trading/symbols/EURUSD/aliases/{alias.pk}/remove/")
    with tenant_context(alpha):
        assert not SymbolAlias.objects.filter(alias="EURUSD.ecn").exists()
        actions = set(
            AuditRecord.objects.filter(action__startswith="trading.symbol_alias").values_list("action", flat=True)
        )
        assert actions == {"trading.symbol_alias_added", "trading.symbol_alias_removed"}


def policy_form(**changes):
    data = {
        "leverage_choices": "10, 30, 100",
        "default_leverage": "30",
        "account_currencies": "usd, EUR, GBP",
        "demo_balance": "50000",
        "max_accounts_per_client": "3",
        "state_stale_after_seconds": "120",
    }
    data.update(changes)
    return data


def test_the_trading_policy_is_saved_and_audited(alpha, beta, people):
    response = web(alpha, beta, people, "alice").post("/ops/trading/symbols/policy/", policy_form())
    assert response.status_code == 302
    with tenant_context(alpha):
        from trading.models import TradingPolicy

        policy = TradingPolicy.current()
        assert policy.leverage_choices == [10, 30, 100]
        assert policy.account_currencies == ["USD", "EUR", "GBP"]
        assert (policy.demo_balance, policy.state_stale_after_seconds) == (D("50000"), 120)
        record = AuditRecord.objects.get(action="trading.policy_updated")
        assert record.after["leverage_choices"] == [10, 30, 100]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"leverage_choices": "10, x"}, "Whole numbers only: x."),
        ({"leverage_choices": "10, 5000", "default_leverage": "10"}, "Each leverage is between 1 and 3000."),
        ({"default_leverage": "50"}, "Must be one of the leverage choices."),
        ({"account_currencies": "USD, XXX"}, "Not a currency accounts can hold: XXX."),
        ({"account_currencies": "USD, BTC"}, "Not a currency accounts can hold: BTC."),
        ({"state_stale_after_seconds": "5"}, "Ensure this value is greater than or equal to 10."),
        ({"leverage_choices": " , "}, "This field is required."),
    ],
)
def test_a_bad_policy_is_explained_and_not_saved(alpha, beta, people, changes, message):
    response = web(alpha, beta, people, "alice").post("/ops/trading/symbols/policy/", policy_form(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_context(alpha):
        assert not AuditRecord.objects.filter(action="trading.policy_updated").exists()


# Dashboard -----------------------------------------------------------------------------------------


def test_dashboard_cards_link_to_the_filtered_pages(alpha, beta, people):
    with tenant_context(alpha):
        deal_row(people.usd, 70, days_ago=0, volume=D("1.25"))
        Platform.objects.filter(code="sim-demo").update(health="error")
    page = web(alpha, beta, people, "bea").get("/ops/").content.decode()
    assert "Trading volume today (lots)" in page and "1.25" in page
    assert "Platforms with problems" in page
    assert "/ops/trading/deals/today/" in page
    fiona_page = web(alpha, beta, people, "fiona").get("/ops/").content.decode()
    assert "Trading volume today" not in fiona_page
    today = web(alpha, beta, people, "bea").get("/ops/trading/deals/today/")
    assert response_location(today).startswith("/ops/trading/deals/?date_from=")
    assert response_location(today).endswith("&kind=live")


def test_the_deals_list_filters_live_or_demo_platforms(alpha, beta, people):
    with tenant_context(alpha):
        deal_row(people.usd, 71, days_ago=0)
        deal_row(people.demo, 72, days_ago=0)
    bea = web(alpha, beta, people, "bea")
    tickets = {
        kind: [deal.ticket for deal in bea.get("/ops/trading/deals/", {"kind": kind}).context["page"].rows]
        for kind in ("live", "demo", "")
    }
    assert 71 in tickets["live"] and 72 not in tickets["live"]
    assert tickets["demo"] == [72]
    assert {71, 72} <= set(tickets[""])


def response_location(response) -> str:
    return response["Location"]


def test_dashboard_card_figures(alpha, people):
    from trading import selectors

    with tenant_context(alpha):
        assert selectors.platforms_with_problems_count() == 0
        SyncProblem.objects.create(platform=people.usd.platform, kind="malformed", subject="x", message="x")
        SyncProblem.objects.create(platform=people.usd.platform, kind="malformed", subject="y", message="y")
        assert selectors.platforms_with_problems_count() == 1
        Platform.objects.filter(code="sim-demo").update(health="error")
        assert selectors.platforms_with_problems_count() == 2
        deal_row(people.usd, 71, days_ago=0, volume=D("0.30"))
        deal_row(people.usd, 72, days_ago=0, action="balance", volume=D("0"))
        assert selectors.volume_today_lots() == D("0.30")


@pytest.mark.parametrize(
    ("start", "clash"),
    [("500000", "overlap Simulator (live)'s range 500000–599999"), ("450000", "overlap Simulator (live)'s range")],
)
def test_a_login_range_that_overlaps_another_platform_is_refused(alpha, beta, people, start, clash):
    alice = web(alpha, beta, people, "alice")
    response = alice.post("/ops/trading/platforms/new/", mt5_form(login_range_start=start))
    assert response.status_code == 400
    assert clash in html.unescape(response.content.decode())
    with tenant_context(alpha):
        assert not Platform.objects.filter(code="mt5-live").exists()


def test_a_login_range_holding_another_platforms_account_is_refused(alpha, beta, people):
    with tenant_context(alpha):
        # An account the sync found on the simulator outside its range (opened there by hand).
        TradingAccount.objects.create(
            login="300000", platform=Platform.objects.get(code="sim-live"), group="g", leverage=100, currency="USD"
        )
    alice = web(alpha, beta, people, "alice")
    response = alice.post("/ops/trading/platforms/new/", mt5_form(login_range_start="250000"))
    assert response.status_code == 400
    assert "Login 300000 in that range is an account of Simulator (live)." in html.unescape(response.content.decode())
