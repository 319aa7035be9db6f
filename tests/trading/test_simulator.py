"""The built-in simulator as a trading server: fills, profit, margin, stop-out, balance operations,
the connector contract, the real-time push, the beat tick and the traffic generator command.

Accounts are opened through trading.services with the real simulator behind the platforms.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from brokerage.money import quantize
from payments import ledger
from payments.models import TradingTransfer
from payments.wallets.trading import transfer_from_trading, transfer_to_trading
from tests import factories
from tests.trading.support import wallet_fund
from trading import fxmath, services
from trading.connectors import connector_for
from trading.connectors.base import BalanceKind, InvalidLogin, NewAccount, NotEnoughMargin, TradingGatewayError
from trading.defaults import trading_defaults_ensure
from trading.models import (
    Deal,
    Platform,
    Position,
    Quote,
    SimAccount,
    SimDeal,
    SimPosition,
    Symbol,
    TradingAccount,
    TradingPolicy,
)
from trading.simulator import engine, periodic
from trading.simulator.connector import SimulatorConnector
from trading.simulator.feed import feed_seed, feed_step, quote_prices, quotes_ensure
from trading.simulator.tasks import simulator_tick
from trading.simulator.traffic import traffic_run


def quote_set(name: str, bid: str, ask: str) -> None:
    Quote.objects.update_or_create(
        symbol=Symbol.objects.get(name=name), defaults={"bid": D(bid), "ask": D(ask), "at": timezone.now()}
    )


@pytest.fixture
def market(in_alpha):
    """Alpha's standard symbols and simulator platforms, with fixed quotes (mids at the start prices)."""
    trading_defaults_ensure()
    quote_set("EURUSD", "1.08440", "1.08460")
    quote_set("GBPUSD", "1.26720", "1.26740")
    quote_set("USDJPY", "151.410", "151.430")
    quote_set("XAUUSD", "2345.45", "2345.75")
    quote_set("EURGBP", "0.85610", "0.85630")


def demo_account(user, *, balance: str = "10000", leverage: int = 100, currency: str = "USD") -> TradingAccount:
    TradingPolicy.objects.filter(pk=TradingPolicy.current().pk).update(demo_balance=D(balance))
    return services.account_open(client=user.client, is_demo=True, leverage=leverage, currency=currency, actor=user)


def sim(account: TradingAccount) -> SimAccount:
    return SimAccount.objects.get(platform=account.platform, login=account.login)


@pytest.fixture
def account(market, carl) -> TradingAccount:
    return demo_account(carl)


# Fills and profit ------------------------------------------------------------------------------------------


def test_a_demo_account_opened_through_the_services_lives_on_the_simulator(account):
    assert account.platform.kind == Platform.Kind.SIMULATOR and account.login == "900000"
    row = sim(account)
    assert (row.balance, row.leverage, row.currency, row.enabled) == (D("10000.00"), 100, "USD", True)
    funding = SimDeal.objects.get(account=row)
    assert (funding.action, funding.profit, funding.comment) == ("balance", D("10000.00"), "Demo funds")
    assert account.balance == D("10000.00") and account.margin_free == D("10000.00")


def test_a_buy_fills_at_the_ask_and_a_sell_at_the_bid_with_commission_per_side(account):
    bought = engine.order_market(account.platform, account.login, "EURUSD", "buy", D(1))
    sold = engine.order_market(account.platform, account.login, "EURUSD.pro", "sell", D("0.5"))
    assert (bought.action, bought.entry, bought.price, bought.commission) == ("buy", "in", D("1.08460"), D("-3.50"))
    assert (sold.action, sold.price, sold.commission, sold.symbol) == ("sell", D("1.08440"), D("-1.75"), "EURUSD")
    assert bought.pk < sold.pk
    assert list(SimPosition.objects.order_by("pk").values_list("pk", "side", "volume")) == [
        (bought.position_id, "buy", D("1.0000")),
        (sold.position_id, "sell", D("0.5000")),
    ]
    assert sim(account).balance == D("9994.75")


def test_closing_books_an_out_deal_whose_profit_is_the_fxmath_profit(account):
    opened = engine.order_market(account.platform, account.login, "EURUSD", "buy", D(1))
    quote_set("EURUSD", "1.08660", "1.08680")
    closed = engine.position_close(account.platform, opened.position_id)
    expected = fxmath.profit(Symbol.objects.get(name="EURUSD"), "buy", D(1), D("1.08460"), D("1.08660"))
    assert expected == D(200)
    assert (closed.action, closed.entry, closed.price) == ("sell", "out", D("1.08660"))
    assert (closed.profit, closed.commission, closed.position_id) == (D("200.00"), D("-3.50"), opened.position_id)
    assert not SimPosition.objects.exists()
    assert sim(account).balance == D("10193.00")


def test_a_yen_profit_is_converted_to_the_usd_account_at_the_quotes_rate(account):
    opened = engine.order_market(account.platform, account.login, "USDJPY", "buy", D(1))
    assert opened.commission == D("-3.50") and opened.price == D("151.430")
    quote_set("USDJPY", "151.930", "151.950")
    closed = engine.position_close(account.platform, opened.position_id)
    # 0.5 yen × 100000 = 50000 JPY at the USDJPY mid 151.940.
    assert closed.profit == quantize(D(50000) / D("151.940"), "USD") == D("329.08")


def test_a_gold_sell_on_a_eur_account_is_valued_in_euros(market, carl):
    euro = demo_account(carl, currency="EUR")
    opened = engine.order_market(euro.platform, euro.login, "GOLD", "sell", D("0.10"))
    assert (opened.symbol, opened.price, opened.commission) == ("XAUUSD", D("2345.45"), D("0.00"))
    quote_set("XAUUSD", "2335.30", "2335.60")
    closed = engine.position_close(euro.platform, opened.position_id)
    # (2345.45 − 2335.60) × 100 × 0.1 = 98.50 USD, at EURUSD 1.08450.
    assert closed.profit == quantize(D("98.50") / D("1.08450"), "EUR") == D("90.83")


# Margin -----------------------------------------------------------------------------------------------------


def test_account_figures_count_floating_profit_and_margin_at_current_quotes(account):
    engine.order_market(account.platform, account.login, "EURUSD", "buy", D(1))
    state = SimulatorConnector(account.platform).account_state(account.login)
    # Margin 1000 EUR at the mid 1.08450; the buy is valued at the bid: (1.08440 − 1.08460) × 100000.
    assert (state.balance, state.margin) == (D("9996.50"), D("1084.50"))
    assert (state.equity, state.margin_free) == (D("9976.50"), D("8892.00"))
    assert state.margin_level == D("919.92")
    assert (state.leverage, state.enabled) == (100, True)


def test_an_order_beyond_the_free_margin_is_refused_and_nothing_is_booked(account):
    with pytest.raises(NotEnoughMargin, match="10019 No money") as refused:
        engine.order_market(account.platform, account.login, "EURUSD", "buy", D(10))
    assert "10845.00 USD margin" in refused.value.message
    assert not SimPosition.objects.exists()
    assert SimDeal.objects.filter(action="buy").count() == 0
    assert sim(account).balance == D("10000.00")
    # 9 lots need 9760.50 and fit the 10000 less its 31.50 commission.
    engine.order_market(account.platform, account.login, "EURUSD", "buy", D(9))
    assert SimPosition.objects.count() == 1


def test_bad_orders_are_refused_with_clear_reasons(account, alice):
    platform, login = account.platform, account.login
    for volume in (D("0.001"), D(0), D(101), D("-1")):
        with pytest.raises(TradingGatewayError, match="10014 Invalid volume"):
            engine.order_market(platform, login, "EURUSD", "buy", volume)
    with pytest.raises(TradingGatewayError, match="unknown symbol 'EURXYZ'"):
        engine.order_market(platform, login, "EURXYZ", "buy", D(1))
    with pytest.raises(TradingGatewayError, match="side is 'buy' or 'sell'"):
        engine.order_market(platform, login, "EURUSD", "long", D(1))
    Quote.objects.filter(symbol__name="DE40").delete()
    with pytest.raises(TradingGatewayError, match="10021 No prices"):
        engine.order_market(platform, login, "DE40", "buy", D(1))
    with pytest.raises(InvalidLogin, match="13 Not found"):
        engine.order_market(platform, "123", "EURUSD", "buy", D(1))
    with pytest.raises(TradingGatewayError, match="no open position 999"):
        engine.position_close(platform, 999)
    services.account_status_set(account, enabled=False, actor=alice)
    with pytest.raises(TradingGatewayError, match="64 Account disabled"):
        engine.order_market(platform, login, "EURUSD", "buy", D(1))
    assert not SimPosition.objects.exists() and SimDeal.objects.count() == 1


# Stop-out ---------------------------------------------------------------------------------------------------


def test_stop_out_closes_the_biggest_loser_until_the_margin_level_is_above_50_percent(market, carl):
    account = demo_account(carl, balance="1000")
    platform, login = account.platform, account.login
    euro = engine.order_market(platform, login, "EURUSD", "buy", D("0.40"))
    pound = engine.order_market(platform, login, "GBPUSD", "buy", D("0.30"))
    assert periodic.stop_outs() == []
    # EURUSD falls 106 pips (−424.00), GBPUSD 74 pips (−222.00): equity 351.55 on 807.67 margin.
    quote_set("EURUSD", "1.07400", "1.07420")
    quote_set("GBPUSD", "1.26000", "1.26020")
    assert SimulatorConnector(platform).account_state(login).margin_level == D("43.53")

    closed = periodic.stop_outs()

    assert [deal.position_id for deal in closed] == [euro.position_id]
    assert (closed[0].profit, closed[0].comment) == (D("-424.00"), "[so 43.53%/351.55/807.67]")
    assert list(SimPosition.objects.values_list("pk", flat=True)) == [pound.position_id]
    state = SimulatorConnector(platform).account_state(login)
    assert state.balance == D("572.15") and state.margin_level == D("92.62")
    assert periodic.stop_outs() == []


# Balance operations --------------------------------------------------------------------------------------------


def test_a_withdrawal_beyond_free_margin_is_refused_with_no_money(account):
    connector = connector_for(account.platform)
    engine.order_market(account.platform, account.login, "EURUSD", "buy", D(5))
    free = connector.account_state(account.login).margin_free
    assert free == D("4460.00")  # 10000 − 17.50 commission − 100 floating − 5422.50 margin
    with pytest.raises(NotEnoughMargin, match="10019 No money") as refused:
        connector.balance_operation(account.login, D("-4500"), comment="bo-1 too much", check_margin=True)
    assert refused.value.code == "not_enough_margin"
    assert sim(account).balance == D("9982.50")
    assert SimDeal.objects.filter(action="balance").count() == 1
    ticket = connector.balance_operation(account.login, D("-4460"), comment="bo-2 all free", check_margin=True)
    assert SimDeal.objects.get(pk=ticket).profit == D("-4460.00")
    # Without the check the platform books it anyway (a manager's correction may go negative).
    connector.balance_operation(account.login, D("-100"), kind=BalanceKind.CORRECTION, check_margin=False)
    assert sim(account).balance == D("5422.50")


def test_credit_has_its_own_line_and_counts_in_equity(account):
    connector = connector_for(account.platform)
    ticket = connector.balance_operation(account.login, D("250"), kind=BalanceKind.CREDIT, comment="promo")
    deal = SimDeal.objects.get(pk=ticket)
    assert (deal.action, deal.profit) == ("credit", D("250.00"))
    state = connector.account_state(account.login)
    assert (state.balance, state.credit, state.equity) == (D("10000.00"), D("250.00"), D("10250.00"))
    with pytest.raises(TradingGatewayError, match="credit of 900000 is 250.00 USD"):
        connector.balance_operation(account.login, D("-300"), kind=BalanceKind.CREDIT)
    connector.balance_operation(account.login, D("50"), kind=BalanceKind.BONUS)
    assert SimDeal.objects.filter(action="bonus").get().profit == D("50.00")


def test_bad_balance_operations_are_refused(account):
    connector = connector_for(account.platform)
    for amount, message in ((D(0), "other than zero"), (D("0.001"), "rounds to zero"), ("abc", "not an amount")):
        with pytest.raises(TradingGatewayError, match=message):
            connector.balance_operation(account.login, amount)
    with pytest.raises(TradingGatewayError, match="unknown balance operation type 9"):
        connector.balance_operation(account.login, D(1), kind=9)
    with pytest.raises(TradingGatewayError, match="longer than 32"):
        connector.balance_operation(account.login, D(1), comment="x" * 33)
    with pytest.raises(InvalidLogin):
        connector.balance_operation("424242", D(1))
    assert SimDeal.objects.count() == 1


# The connector contract ------------------------------------------------------------------------------------------


def test_connector_opens_updates_and_reports_accounts(market):
    platform = Platform.objects.get(code="sim-live")
    connector = connector_for(platform)
    assert isinstance(connector, SimulatorConnector)
    connector.ping()
    new = NewAccount(login="", name="Dana", group="sim\\live\\pro", leverage=200, currency="EUR")
    assert connector.account_open(new) == "500000"
    assert connector.account_open(new) == "500001"
    with pytest.raises(TradingGatewayError, match="Login 500000 is taken"):
        connector.account_open(NewAccount(login="500000", name="X", group="g", leverage=100, currency="USD"))
    with pytest.raises(TradingGatewayError, match="leverage must be 1 to 3000"):
        connector.account_open(NewAccount(login="", name="X", group="g", leverage=0, currency="USD"))
    connector.account_update("500000", leverage=50, group="sim\\live\\vip", enabled=False)
    state = connector.account_state("500000")
    assert (state.leverage, state.group, state.enabled, state.margin_level) == (50, "sim\\live\\vip", False, None)
    with pytest.raises(InvalidLogin, match="13 Not found: no account 777"):
        connector.account_state("777")
    with pytest.raises(InvalidLogin):
        connector.account_update("777", leverage=10)
    # Logins are per platform: the demo simulator does not know the live one's accounts.
    with pytest.raises(InvalidLogin):
        connector_for(Platform.objects.get(code="sim-demo")).account_state("500000")


def test_connector_deals_are_those_in_the_window_for_the_asked_logins(market, carl):
    first, second = demo_account(carl), demo_account(carl)
    platform = first.platform
    connector = connector_for(platform)
    engine.order_market(platform, first.login, "EURUSD", "buy", D(1))
    engine.order_market(platform, second.login, "GBPUSD", "sell", D(1))
    moment = timezone.now()
    SimDeal.objects.filter(account__login=first.login).update(time=moment - timedelta(hours=2))
    everything = connector.deals(moment - timedelta(days=1), moment + timedelta(minutes=1))
    assert [deal.login for deal in everything] == [first.login, first.login, second.login, second.login]
    assert [deal.action for deal in everything] == ["balance", "buy", "balance", "sell"]
    recent = connector.deals(moment - timedelta(hours=1), moment + timedelta(minutes=1))
    assert {deal.login for deal in recent} == {second.login}
    mine = connector.deals(moment - timedelta(days=1), moment + timedelta(minutes=1), [first.login])
    assert [(deal.action, deal.volume, deal.price) for deal in mine] == [
        ("balance", D(0), D(0)),
        ("buy", D(1), D("1.08460")),
    ]
    # The end is excluded: a deal exactly at `end` belongs to the next window.
    assert connector.deals(moment - timedelta(days=1), moment - timedelta(hours=2), [first.login]) == []
    assert connector.deals(moment - timedelta(days=1), moment, ["nobody"]) == []


def test_connector_positions_are_valued_at_the_quotes_and_filtered_by_login(market, carl):
    first, second = demo_account(carl), demo_account(carl)
    platform = first.platform
    engine.order_market(platform, first.login, "EURUSD", "buy", D(1))
    engine.order_market(platform, second.login, "USDJPY", "sell", D("0.5"))
    every = connector_for(platform).positions()
    assert [(p.login, p.symbol, p.side) for p in every] == [
        (first.login, "EURUSD", "buy"),
        (second.login, "USDJPY", "sell"),
    ]
    only = connector_for(platform).positions([second.login])
    assert len(only) == 1
    position = only[0]
    # A sell is valued at the ask: (151.410 − 151.430) × 50000 = −1000 JPY, in USD at the mid 151.420.
    assert (position.open_price, position.current_price) == (D("151.410"), D("151.430"))
    assert position.profit == quantize(D(-1000) / D("151.420"), "USD") == D("-6.60")
    assert connector_for(Platform.objects.get(code="sim-live")).positions() == []


# The push ----------------------------------------------------------------------------------------------------


def test_a_booked_deal_reaches_the_back_office_at_once(account, django_capture_on_commit_callbacks):
    platform = account.platform
    with django_capture_on_commit_callbacks(execute=True):
        opened = engine.order_market(platform, account.login, "EURUSD", "buy", D(1))
    mirrored = Deal.objects.get(platform=platform, ticket=opened.pk)
    assert (mirrored.account, mirrored.action, mirrored.price) == (account, "buy", D("1.08460"))
    assert mirrored.booking == Deal.Booking.DEMO
    position = Position.objects.get(platform=platform, ticket=opened.position_id)
    assert (position.account, position.current_price, position.profit) == (account, D("1.08440"), D("-20.00"))
    account.refresh_from_db()
    assert (account.balance, account.equity, account.margin) == (D("9996.50"), D("9976.50"), D("1084.50"))

    quote_set("EURUSD", "1.08560", "1.08580")
    with django_capture_on_commit_callbacks(execute=True):
        closed = engine.position_close(platform, opened.position_id)
    assert Deal.objects.get(platform=platform, ticket=closed.pk).profit == D("100.00")
    assert not Position.objects.filter(platform=platform).exists()
    account.refresh_from_db()
    assert (account.balance, account.margin, account.margin_level) == (D("10093.00"), D(0), None)


def test_a_refused_order_pushes_nothing(account, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(NotEnoughMargin):
        engine.order_market(account.platform, account.login, "EURUSD", "buy", D(50))
    assert callbacks == []


# Tick, swaps -------------------------------------------------------------------------------------------------


def test_the_tick_moves_prices_revalues_accounts_and_stops_out(market, carl):
    steady, doomed = demo_account(carl), demo_account(carl, balance="1000")
    engine.order_market(steady.platform, steady.login, "EURUSD", "buy", D(1))
    engine.order_market(doomed.platform, doomed.login, "EURUSD", "buy", D("0.90"))
    before = dict(Quote.objects.values_list("symbol__name", "bid"))
    quote_set("EURUSD", "1.07700", "1.07720")  # the doomed account is at about 37 %

    result = simulator_tick.apply().get()

    assert result["quotes"] == Symbol.objects.filter(is_active=True).count()
    assert result["stop_outs"] == 1 and result["revalued"] == 1
    after = dict(Quote.objects.values_list("symbol__name", "bid"))
    assert len(after) == 10 and sum(after[name] != before[name] for name in before) >= 3
    for quote in Quote.objects.select_related("symbol"):
        assert quote.bid > 0
        assert quote.ask - quote.bid == quote.symbol.spread_points * quote.symbol.tick_size
    assert not SimPosition.objects.filter(account__login=doomed.login).exists()
    steady.refresh_from_db()
    assert steady.margin > 0 and steady.equity < D("9300")  # revalued after the fall, not at 9996.50


def test_the_tick_leaves_tenants_without_a_simulator_alone(market):
    Platform.objects.update(is_active=False)
    before = list(Quote.objects.values_list("bid", "ask", "at"))
    assert simulator_tick.apply().get() == {"quotes": 0, "swaps": 0, "stop_outs": 0, "revalued": 0}
    assert list(Quote.objects.values_list("bid", "ask", "at")) == before


def test_swaps_are_charged_once_per_rollover_and_triple_on_wednesday(account):
    opened = engine.order_market(account.platform, account.login, "EURUSD", "buy", D(1))
    wednesday = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    SimPosition.objects.filter(pk=opened.position_id).update(opened_at=wednesday)

    assert periodic.swaps_rollover(wednesday + timedelta(hours=12)) == 0  # no rollover passed yet
    assert periodic.swaps_rollover(datetime(2026, 11, 26, 0, 0, 5, tzinfo=UTC)) == 1
    position = SimPosition.objects.get()
    # −6.9 points × 0.00001 × 100000 × 3 nights.
    assert (position.swap, position.swap_charged_to.isoformat()) == (D("-20.70"), "2026-11-25")
    assert periodic.swaps_rollover(datetime(2026, 11, 26, 13, 0, tzinfo=UTC)) == 0
    # Thursday and Friday (1 + 1), then nothing for the weekend.
    periodic.swaps_rollover(datetime(2026, 11, 30, 0, 0, 1, tzinfo=UTC))
    assert SimPosition.objects.get().swap == D("-34.50")

    quote_set("EURUSD", "1.08460", "1.08480")
    closed = engine.position_close(account.platform, opened.position_id)
    assert (closed.profit, closed.swap) == (D("0.00"), D("-34.50"))
    assert sim(account).balance == D("10000") - D("7.00") - D("34.50")


def sim_account_trading(platform: Platform, balance: str = "1000") -> str:
    """An account straight on the simulator (no mirror needed) with a EURUSD buy of 0.90 lots open."""
    connector = SimulatorConnector(platform)
    login = connector.account_open(NewAccount(login="", name="Dana", group="g", leverage=100, currency="USD"))
    connector.balance_operation(login, D(balance), comment="funding")
    engine.order_market(platform, login, "EURUSD", "buy", D("0.90"))
    return login


def test_stop_outs_and_swaps_run_only_on_active_simulators_and_on_live_ones_only_where_switched_on(market, settings):
    live, demo = Platform.objects.get(code="sim-live"), Platform.objects.get(code="sim-demo")
    live_login, demo_login = sim_account_trading(live), sim_account_trading(demo)
    quote_set("EURUSD", "1.07700", "1.07720")  # both accounts at about 37 %: due for a stop-out
    after_rollovers = timezone.now() + timedelta(days=4)

    Platform.objects.filter(pk=demo.pk).update(is_active=False)
    settings.TRADING_LIVE_SIMULATOR = False  # as on production: the live simulator is not the broker's server
    assert periodic.swaps_rollover(after_rollovers) == 0
    assert periodic.stop_outs() == []
    assert periodic.accounts_revalue() == 0
    assert SimPosition.objects.count() == 2 and not SimPosition.objects.exclude(swap=0).exists()

    Platform.objects.filter(pk=demo.pk).update(is_active=True)  # demo simulators run whatever the switch says
    assert periodic.swaps_rollover(after_rollovers) == 1
    assert [deal.account.login for deal in periodic.stop_outs()] == [demo_login]
    assert list(SimPosition.objects.values_list("account__login", flat=True)) == [live_login]

    settings.TRADING_LIVE_SIMULATOR = True
    assert [deal.account.login for deal in periodic.stop_outs()] == [live_login]
    assert not SimPosition.objects.exists()


# The traffic generator ------------------------------------------------------------------------------------------


def test_simulate_trading_makes_funded_accounts_trade_within_their_margin(market, carl):
    accounts = [demo_account(carl), demo_account(carl, balance="2500"), demo_account(carl, currency="EUR")]
    other = factories.client_user("dora@alpha.test")
    accounts.append(demo_account(other, balance="0"))
    out = StringIO()

    call_command("simulate_trading", "--tenant", "alpha", "--trades", "60", "--seed", "7", stdout=out)

    summary = out.getvalue()
    assert summary.startswith("alpha: ") and "opened" in summary and "closed" in summary
    opened = SimDeal.objects.filter(entry="in", action__in=["buy", "sell"]).count()
    closed = SimDeal.objects.filter(entry="out").count()
    assert opened >= 20 and closed >= 5
    assert f"{opened} opened, {closed} closed" in summary
    assert not SimDeal.objects.filter(account__login=accounts[3].login).exclude(action="balance").exists()
    for row in SimAccount.objects.exclude(login=accounts[3].login):
        state = engine.account_state(row.platform, row.login)
        assert state.margin_free > 0 and (state.margin_level is None or state.margin_level > 100)


def test_simulate_trading_is_repeatable_with_a_seed(market, carl):
    demo_account(carl)
    call_command("simulate_trading", "--tenant", "alpha", "--trades", "15", "--seed", "3", stdout=StringIO())
    first = list(SimDeal.objects.order_by("pk").values_list("symbol", "action", "volume"))
    SimDeal.objects.exclude(action="balance").delete()
    SimPosition.objects.all().delete()
    market_again = {"EURUSD": ("1.08440", "1.08460"), "GBPUSD": ("1.26720", "1.26740")}
    for name, (bid, ask) in market_again.items():
        quote_set(name, bid, ask)
    Quote.objects.exclude(symbol__name__in=["EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "EURGBP"]).delete()
    quote_set("USDJPY", "151.410", "151.430")
    quote_set("XAUUSD", "2345.45", "2345.75")
    quote_set("EURGBP", "0.85610", "0.85630")
    SimAccount.objects.update(balance=D("10000.00"))
    call_command("simulate_trading", "--tenant", "alpha", "--trades", "15", "--seed", "3", stdout=StringIO())
    assert list(SimDeal.objects.order_by("pk").values_list("symbol", "action", "volume")) == first


def test_simulate_trading_refuses_an_unknown_tenant_and_bad_numbers(market):
    with pytest.raises(CommandError, match="No tenant with slug 'nowhere'"):
        call_command("simulate_trading", "--tenant", "nowhere", stdout=StringIO())
    with pytest.raises(CommandError, match="cannot be negative"):
        call_command("simulate_trading", "--tenant", "alpha", "--trades", "-1", stdout=StringIO())
    out = StringIO()
    call_command("simulate_trading", "--tenant", "alpha", "--trades", "3", stdout=out)
    assert "no simulator account could trade" in out.getvalue()


def test_traffic_spreads_its_trades_over_the_seconds_with_a_feed_step_each(market, carl):
    demo_account(carl)
    waits: list[float] = []

    summary = traffic_run(trades=7, seconds=3, seed=11, sleep=waits.append)

    assert waits == [1, 1] and summary.feed_steps == 3
    assert summary.opened + summary.closed + summary.refused + summary.skipped == 7
    assert str(summary).startswith(f"{summary.opened} opened, {summary.closed} closed")


# The feed ----------------------------------------------------------------------------------------------------


@given(
    mid=st.decimals(min_value=D("-5"), max_value=D("100000"), places=6, allow_nan=False, allow_infinity=False),
    digits=st.integers(min_value=0, max_value=5),
    spread=st.integers(min_value=0, max_value=500),
)
def test_quotes_are_on_the_tick_grid_spread_apart_and_never_below_one_tick(mid, digits, spread):
    tick = D(1).scaleb(-digits)
    instrument = Symbol(name="X", digits=digits, tick_size=tick, spread_points=spread, start_price=D(1))
    bid, ask = quote_prices(instrument, mid)
    assert bid >= tick and ask - bid == spread * tick
    assert bid % tick == 0


def test_the_walk_of_a_tiny_price_stays_positive(market):
    penny = Symbol.objects.create(
        name="PENNY",
        base_currency="USD",
        profit_currency="USD",
        margin_currency="USD",
        digits=5,
        tick_size=D("0.00001"),
        start_price=D("0.00003"),
        spread_points=2,
    )
    feed_seed(5)
    for _ in range(300):
        feed_step()
        quote = Quote.objects.get(symbol=penny)
        assert quote.bid >= D("0.00001") and quote.ask - quote.bid == D("0.00002")


def test_a_failed_push_step_is_logged_and_the_others_still_run(account, monkeypatch, caplog):
    def broken(platform, deals):
        raise RuntimeError("ingest is down")

    monkeypatch.setattr("trading.sync.ingest.deals_ingest", broken)
    opened = engine.order_market(account.platform, account.login, "EURUSD", "buy", D(1))
    engine.push(account.platform, account.login, [engine.deal_data(opened, account.login)])
    assert "simulator push (deals) for 900000 failed" in caplog.text
    assert not Deal.objects.filter(ticket=opened.pk).exists()
    assert Position.objects.filter(ticket=opened.position_id).exists()
    account.refresh_from_db()
    assert account.margin == D("1084.50")


def test_a_live_account_is_funded_from_the_wallet_trades_and_its_result_reaches_the_ledger(
    market, carl, django_capture_on_commit_callbacks
):
    live = services.account_open(client=carl.client, is_demo=False, leverage=100, currency="USD", actor=carl)
    wallet_fund(carl.client, "2000")
    with django_capture_on_commit_callbacks(execute=True):
        transfer = transfer_to_trading(
            client=carl.client, currency="USD", login=live.login, amount=D("1500"), actor=carl
        )
    transfer.refresh_from_db()
    assert transfer.status == TradingTransfer.Status.COMPLETED
    assert sim(live).balance == D("1500.00")
    # The transfer is already in the ledger: its platform deal is recognised, not booked twice.
    assert Deal.objects.get(login=live.login, action="balance").booking == Deal.Booking.TRANSFER

    with django_capture_on_commit_callbacks(execute=True):
        opened = engine.order_market(live.platform, live.login, "EURUSD", "buy", D(1))
    quote_set("EURUSD", "1.08560", "1.08580")
    with django_capture_on_commit_callbacks(execute=True):
        engine.position_close(live.platform, opened.position_id)
    live.refresh_from_db()
    assert live.balance == D("1593.00")  # +100 profit, −7 commission
    assert set(Deal.objects.filter(login=live.login).values_list("booking", flat=True)) == {
        Deal.Booking.TRANSFER,
        Deal.Booking.BOOKED,
    }
    assert ledger.trading_funds_for(carl.client, "USD").balance == D("1593.00")

    # Taking out more than the free margin (a position is open) is refused by the platform and reversed.
    engine.order_market(live.platform, live.login, "EURUSD", "buy", D(1))
    with django_capture_on_commit_callbacks(execute=True):
        back = transfer_from_trading(client=carl.client, currency="USD", login=live.login, amount=D("600"), actor=carl)
    back.refresh_from_db()
    assert back.status == TradingTransfer.Status.REVERSED and "10019 No money" in back.failure_reason


def test_quotes_ensure_prices_new_symbols_at_their_start_and_leaves_quoted_ones(market):
    quotes_ensure()
    assert Quote.objects.get(symbol__name="EURUSD").bid == D("1.08440")  # kept as it was
    us500 = Quote.objects.get(symbol__name="US500")
    assert (us500.bid, us500.ask) == (D("5212.15"), D("5212.65"))  # 5212.40 ± half of 50 ticks
    assert Quote.objects.count() == Symbol.objects.filter(is_active=True).count()
