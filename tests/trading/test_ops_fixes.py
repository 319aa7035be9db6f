"""/ops/trading/ regressions from review: safe leverage changes, live money apart from demo, platform
configuration rules, bad input, export and display formats, aliases, and reasons for disabling.

Personas and data: tests.trading.test_ops.trading_people / worked_deals (Carl: live USD 500000 with an
open XAUUSD position of 0.5 lots, live EUR 500001, demo 900000).
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from tests.trading.test_ops import deal_row, mt5_form, trading_people, web, worked_deals
from trading import selectors
from trading.models import Deal, Platform, Position, Quote, Symbol, SymbolAlias, TradingAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alpha, beta, memory_platform):
    made = trading_people(alpha, beta, memory_platform)
    with tenant_context(alpha):
        worked_deals(made)
    return made


def state(login: str, *, equity: str, margin: str, level: str | None = None) -> None:
    TradingAccount.objects.filter(login=login).update(
        equity=D(equity), balance=D(equity), margin=D(margin), margin_level=D(level) if level else None
    )


def position(account, ticket: int, symbol: str, *, volume="1", price="1", profit="0", swap="0") -> Position:
    return Position.objects.create(
        platform=account.platform, ticket=ticket, login=account.login, account=account, symbol_name=symbol,
        symbol=Symbol.objects.filter(name=symbol).first(), side="buy", volume=D(volume), open_price=D(price),
        current_price=D(price), profit=D(profit), swap=D(swap), opened_at=timezone.now(), updated_at=timezone.now(),
    )  # fmt: skip


# 1. Leverage -------------------------------------------------------------------------------------


def test_staff_choose_only_leverages_the_broker_offers(alpha, beta, people, memory_platform):
    dan = web(alpha, beta, people, "dan")
    page = dan.get("/ops/trading/accounts/500000/").content.decode()
    assert '<option value="500">1:500</option>' in page and "1:1000" not in page
    response = dan.post("/ops/trading/accounts/500000/leverage/", {"leverage": "1000"})
    assert response.status_code == 400
    assert (
        "Not offered by this broker; choose one of 1:10, 1:30, 1:50, 1:100, 1:200, 1:500." in response.content.decode()
    )
    assert "account_update" not in memory_platform.calls
    with tenant_context(alpha):
        assert TradingAccount.objects.get(login="500000").leverage == 100


def test_lowering_leverage_under_open_positions_needs_confirmation(alpha, beta, people, memory_platform):
    """Gold 0.5 lots at 2300 takes 1,150 USD margin at 1:100 and 2,300 at 1:50: with 2,000 equity the
    level would fall from 173.91 % to 86.96 %."""
    with tenant_context(alpha):
        state("500000", equity="2000", margin="1150", level="173.91")
    dan = web(alpha, beta, people, "dan")
    refused = dan.post("/ops/trading/accounts/500000/leverage/", {"leverage": "50"})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "margin 2,300.00 USD, margin level <strong>86.96 %</strong> (now 173.91 %" in page
    assert 'id="leverage-projection"' in page and 'name="confirm"' in page
    assert "account_update" not in memory_platform.calls
    with tenant_context(alpha):
        assert TradingAccount.objects.get(login="500000").leverage == 100
        assert not AuditRecord.objects.filter(action="trading.leverage_changed").exists()

    done = dan.post("/ops/trading/accounts/500000/leverage/", {"leverage": "50", "confirm": "on"}, follow=True)
    assert "changed from 1:100 to 1:50. Projected margin level: 86.96 %." in done.content.decode()
    assert memory_platform.accounts["500000"]["leverage"] == 50


def test_lowering_with_enough_equity_or_raising_needs_no_confirmation(alpha, beta, people, memory_platform):
    with tenant_context(alpha):
        state("500000", equity="10000", margin="1150")
    dan = web(alpha, beta, people, "dan")
    lowered = dan.post("/ops/trading/accounts/500000/leverage/", {"leverage": "50"}, follow=True).content.decode()
    assert "changed from 1:100 to 1:50. Projected margin level: 434.78 %." in lowered
    with tenant_context(alpha):
        state("500000", equity="1", margin="2300")
    raised = dan.post("/ops/trading/accounts/500000/leverage/", {"leverage": "500"}, follow=True).content.decode()
    assert "changed from 1:50 to 1:500." in raised  # more leverage only frees margin


def test_projection_scales_only_leveraged_calc_modes(alpha, people):
    with tenant_context(alpha):
        usd = TradingAccount.objects.get(login="500000")  # XAUUSD: CFD leverage
        state("500000", equity="2000", margin="1150")
        usd.refresh_from_db()
        gold = selectors.leverage_projection(usd, 50)
        assert (gold.margin, gold.margin_level, gold.open_positions) == (D("2300.00"), D("86.96"), 1)

        eur = TradingAccount.objects.get(login="500001")  # DE40: an index CFD, margin without leverage
        position(eur, 60, "DE40", price="18000")
        state("500001", equity="5000", margin="900")
        eur.refresh_from_db()
        index = selectors.leverage_projection(eur, 10)
        assert (index.margin, index.margin_level) == (D("900.00"), D("555.56"))

        position(eur, 61, "EURUSD", volume="1", price="1.10000")  # forex: 1,000 EUR at 1:30 ... 3,000 at 1:10
        mixed = selectors.leverage_projection(eur, 10)
        assert D("900") < mixed.margin < D("900") * 3


# 2. Live and demo apart --------------------------------------------------------------------------


def test_volume_today_counts_live_accounts_and_shows_demo_apart(alpha, beta, people):
    with tenant_context(alpha):
        deal_row(people.usd, 80, days_ago=0, volume=D("0.30"))
        deal_row(people.demo, 81, days_ago=0, volume=D("2.00"), booking="demo")
        assert selectors.volume_today_lots() == D("0.30")
        assert selectors.volume_today_lots(is_demo=True) == D("2.00")
    bea = web(alpha, beta, people, "bea")
    dashboard = bea.get("/ops/").content.decode()
    assert "0.30" in dashboard and "2.30" not in dashboard
    overview = bea.get("/ops/trading/").content.decode()
    assert "live accounts): <a" in overview and "0.30 lots</a>" in overview and "demo: 2.00 lots" in overview


def test_client_summary_headline_is_live_with_demo_on_its_own_line(alpha, beta, people):
    with tenant_context(alpha):
        deal_row(people.demo, 82, days_ago=1, volume=D("3.00"), booking="demo")
    page = web(alpha, beta, people, "bea").get(f"/ops/trading/clients/{people.carl_client.pk}/").content.decode()
    assert 'id="summary-deals">5<' in page and 'id="summary-lots">5.50' in page
    assert "<strong>1</strong> deal · <strong>3.00</strong> lots" in page


def test_positions_floating_pnl_is_live_unless_asked(alpha, beta, people):
    with tenant_context(alpha):
        position(people.demo, 90, "EURUSD", price="1.1", profit="999.00")
    bea = web(alpha, beta, people, "bea")
    live = bea.get("/ops/trading/positions/").content.decode()
    assert "23.80" in live and "999.00" not in live and "P&amp;L (live)" in live and "P&amp;L (demo)" not in live
    demo = bea.get("/ops/trading/positions/", {"kind": "demo"}).content.decode()
    assert "999.00" in demo and "23.80" not in demo
    both = bea.get("/ops/trading/positions/", {"kind": "all"}).content.decode()
    assert (
        "999.00" in both and "23.80" in both and "P&amp;L (live)" in both and "P&amp;L (demo)" in both
    )  # never added up


# 3. Platforms ------------------------------------------------------------------------------------


def test_live_or_demo_is_fixed_once_a_platform_has_accounts(alpha, beta, people):
    alice = web(alpha, beta, people, "alice")
    with tenant_context(alpha):
        from trading.ops.forms import PlatformForm

        form = PlatformForm(instance=Platform.objects.get(code="sim-live"))
        data = {name: form[name].value() for name in form.fields}
    data["environment"] = "demo"
    response = alice.post("/ops/trading/platforms/sim-live/", data)
    assert response.status_code == 400
    assert "Cannot change live/demo: 2 accounts are on this platform" in response.content.decode()
    with tenant_context(alpha):
        assert Platform.objects.get(code="sim-live").environment == "live"
        assert not AuditRecord.objects.filter(action="trading.platform_updated").exists()
    # Without accounts it may still be set right.
    alice.post("/ops/trading/platforms/new/", mt5_form())
    assert alice.post("/ops/trading/platforms/mt5-live/", mt5_form(environment="demo")).status_code == 302


@pytest.mark.parametrize("changes", [{"server": "https://relay.example.net:443"}, {"manager_login": "1002"}])
def test_a_new_address_or_manager_login_needs_the_password_again(alpha, beta, people, changes):
    alice = web(alpha, beta, people, "alice")
    alice.post("/ops/trading/platforms/new/", mt5_form())
    refused = alice.post("/ops/trading/platforms/mt5-live/", mt5_form(manager_password="", **changes))
    assert refused.status_code == 400 and "Enter the manager password again" in refused.content.decode()
    with tenant_context(alpha):
        platform = Platform.objects.get(code="mt5-live")
        assert (platform.server, platform.manager_login) == ("https://mt5.example.com:443", "1001")
    again = alice.post("/ops/trading/platforms/mt5-live/", mt5_form(manager_password="New-Pass-456", **changes))
    assert again.status_code == 302
    with tenant_context(alpha):
        assert Platform.objects.get(code="mt5-live").manager_password == "New-Pass-456"


def test_dealing_cannot_configure_platforms_and_sees_no_buttons(alpha, beta, people):
    dan = web(alpha, beta, people, "dan")
    for url, data in [
        ("/ops/trading/platforms/new/", mt5_form()),
        ("/ops/trading/platforms/sim-live/", {"name": "Renamed"}),
        ("/ops/trading/platforms/sim-live/active/", {"is_active": "0"}),
        ("/ops/trading/platforms/sim-live/rotate-secret/", {}),
    ]:
        assert dan.post(url, data).status_code == 403, url
    with tenant_context(alpha):
        assert Platform.objects.count() == 2 and Platform.objects.get(code="sim-live").is_active
        assert not AuditRecord.objects.filter(action__startswith="trading.platform_").exists()
    overview = dan.get("/ops/trading/").content.decode()
    assert "Test connection" in overview  # still dealing's
    assert "Connect an MT5 server" not in overview and ">Edit</a>" not in overview and "Switch off" not in overview
    owner = web(alpha, beta, people, "alice").get("/ops/trading/").content.decode()
    assert "Connect an MT5 server" in owner and ">Edit</a>" in owner and "Switch off" in owner


# 4. Bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/ops/trading/deals/", "/ops/trading/deals.csv"])
@pytest.mark.parametrize("query", [{"date_to": "9999-12-31"}, {"date_from": "0001-01-01"}])
def test_far_dates_are_explained_not_a_500(alpha, beta, people, url, query):
    response = web(alpha, beta, people, "bea").get(url, query)
    assert response.status_code == 200
    if not response.streaming:
        assert "Choose a date between 1970-01-01 and 2999-12-31." in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/ops/trading/symbols/%00/",
        "/ops/trading/symbols/EUR%00USD/",
        "/ops/trading/accounts/%00/",
        "/ops/trading/accounts/5000%0000/",
    ],
)
def test_a_nul_byte_in_the_path_is_a_404(alpha, beta, people, url):
    assert web(alpha, beta, people, "alice").get(url).status_code == 404
    assert web(alpha, beta, people, "alice").post(url.rstrip("/") + "/leverage/", {"leverage": "50"}).status_code in (
        404,
        405,
    )


# 5. Exports and formats --------------------------------------------------------------------------


def test_csv_has_the_currency_and_rounds_like_the_instrument_and_the_money(alpha, beta, people):
    with tenant_context(alpha):
        row = deal_row(people.usd, 91, price=D("0.8558500000"), symbol_name="XYZ.x", profit=D("-0.07000000"))
        Deal.objects.filter(pk=row.pk).update(account=None, login="123456")
    body = web(alpha, beta, people, "bea").get("/ops/trading/deals.csv").getvalue().decode()
    rows = {row["ticket"]: row for row in csv.DictReader(io.StringIO(body))}
    closing = rows["2"]
    assert (closing["currency"], closing["price"], closing["volume"]) == ("USD", "1.08500", "1.00")
    assert (closing["profit"], closing["commission"], closing["swap"], closing["fee"]) == (
        "500.00",
        "-3.50",
        "-2.00",
        "0.00",
    )
    assert (rows["3"]["price"], rows["5"]["currency"], rows["5"]["price"]) == ("2300.00", "EUR", "18000.00")
    unknown = rows["91"]  # no account, no symbol: plain figures
    assert (unknown["currency"], unknown["price"], unknown["profit"], unknown["fee"]) == ("", "0.85585", "-0.07", "0")


def test_margin_level_quote_digits_and_zero_charges_are_shown_in_full(alpha, beta, people):
    with tenant_context(alpha):
        state("500000", equity="1258.30", margin="575", level="218.8")
        Quote.objects.create(symbol=Symbol.objects.get(name="GBPUSD"), bid=D("1.26700"), ask=D("1.26710"),
                             at=timezone.now())  # fmt: skip
    bea = web(alpha, beta, people, "bea")
    assert "218.80 %" in bea.get("/ops/trading/accounts/").content.decode()
    assert "218.80 %" in bea.get("/ops/trading/accounts/500000/").content.decode()
    assert "1.26700 / 1.26710" in bea.get("/ops/trading/symbols/").content.decode()
    deals = bea.get("/ops/trading/deals/", {"ticket": "1"}).content.decode()  # no swap, commission -3.50
    assert '<td class="amount hide-narrow">0.00</td>' in deals and '<td class="amount hide-narrow">-3.50</td>' in deals


# 7. Aliases --------------------------------------------------------------------------------------


@pytest.mark.parametrize("alias", ["SPX 500", "<b>x</b>", "EUR/USD", "é1"])
def test_bad_aliases_are_refused_with_the_rule(alpha, beta, people, alias):
    response = web(alpha, beta, people, "dan").post("/ops/trading/symbols/EURUSD/aliases/", {"alias": alias})
    assert response.status_code == 400
    assert "Letters, digits and . _ - # ! only, no spaces" in response.content.decode()
    assert "<b>x</b>" not in response.content.decode()
    with tenant_context(alpha):
        assert not SymbolAlias.objects.filter(alias=alias).exists()


def test_good_aliases_pass_and_removal_asks_first(alpha, beta, people):
    dan = web(alpha, beta, people, "dan")
    for alias in ("US500#", "EURUSD_x-1", "EURUSD!"):
        assert dan.post("/ops/trading/symbols/EURUSD/aliases/", {"alias": alias}).status_code == 302, alias
    page = dan.get("/ops/trading/symbols/EURUSD/").content.decode()
    assert "onsubmit=\"return confirm('Remove the alias US500#?" in page


# 8. A reason to disable --------------------------------------------------------------------------


def test_disabling_needs_a_reason_that_is_audited_and_shown(alpha, beta, people, memory_platform):
    dan = web(alpha, beta, people, "dan")
    refused = dan.post("/ops/trading/accounts/500000/status/", {"enabled": "0", "reason": "  "})
    assert refused.status_code == 400 and "This field is required." in refused.content.decode()
    assert "account_update" not in memory_platform.calls
    dan.post("/ops/trading/accounts/500000/status/", {"enabled": "0", "reason": "Chargeback under review"})
    assert memory_platform.accounts["500000"]["enabled"] is False
    with tenant_context(alpha):
        record = AuditRecord.objects.get(action="trading.account_disabled")
        assert (record.before["status"], record.after["status"]) == ("active", "disabled")
        assert record.after["reason"] == "Chargeback under review"
    page = web(alpha, beta, people, "bea").get("/ops/trading/accounts/500000/").content.decode()
    assert "Chargeback under review" in page and "dan@alpha.test" in page


def test_the_overview_and_summary_stay_correct_with_old_deals(alpha, people):
    """Yesterday's deals never count as today's."""
    with tenant_context(alpha):
        deal_row(people.usd, 95, days_ago=1, volume=D("7"))
        midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        deal_row(people.usd, 96, days_ago=0, volume=D("0.10"), time=midnight + timedelta(seconds=1))
        assert selectors.volume_today_lots() == D("0.10")
