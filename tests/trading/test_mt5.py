"""The MT5 Web API connector against a fake MT5 server that speaks the same protocol."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.trading.fake_mt5 import FakeMt5
from trading.connectors import mt5
from trading.connectors.base import (
    BalanceKind,
    InvalidLogin,
    LoginTaken,
    NewAccount,
    NotEnoughMargin,
    PlatformUnavailable,
    TradingGatewayError,
)
from trading.connectors.mt5 import Mt5Connector

PASSWORD = "Manager-Pass1"
HOUR = 3600


@pytest.fixture
def fake():
    # A trade server at UTC+3, like many brokers' in summer: times must come back in UTC.
    server = FakeMt5(manager_password=PASSWORD, server_utc_offset=3 * HOUR)
    yield server
    server.close()
    mt5.sessions_clear()


def platform_for(url: str, password: str = PASSWORD) -> SimpleNamespace:
    return SimpleNamespace(code="mt5-test", server=url, manager_login="1000", manager_password=password)


@pytest.fixture
def connector(fake) -> Mt5Connector:
    return Mt5Connector(platform_for(fake.url))


def new_account(login: str = "700001", **changes) -> NewAccount:
    values = {
        "login": login,
        "name": "Carl Client",
        "group": "real\\standard",
        "leverage": 100,
        "currency": "USD",
        "password": "Trader-Pass9!",
    }
    values.update(changes)
    return NewAccount(**values)


# Handshake --------------------------------------------------------------------------------------


def test_the_password_answer_matches_the_published_known_answer():
    # Vector from the public C# client ivmazurenko/mt5-webapi-connect.
    digest = mt5.password_hash("Password1")
    assert mt5.rand_answer(digest, bytes.fromhex("73007dc7184747ce0f7c98516ef1c851")) == (
        "77fe51827f7fa69dd80fbec9aa33f1bb"
    )


def test_one_handshake_serves_every_later_call_and_connector(fake, connector):
    fake.user_add("700001", balance="10")
    connector.account_state("700001")
    Mt5Connector(platform_for(fake.url)).account_state("700001")
    assert fake.handshakes == 1
    assert fake.paths()[:3] == ["/api/auth/start", "/api/auth/answer", "/api/time/server"]
    start = fake.calls[0][2]
    assert start == {"version": "484", "agent": "brokerage", "login": "1000", "type": "manager"}


def test_a_wrong_manager_password_is_refused_and_nothing_else_is_sent(fake):
    wrong = Mt5Connector(platform_for(fake.url, password="not-the-password"))
    with pytest.raises(PlatformUnavailable, match="3006 Invalid account password"):
        wrong.balance_operation("700001", Decimal("10"))
    assert fake.paths() == ["/api/auth/start", "/api/auth/answer"]


def test_a_server_that_cannot_prove_the_password_is_never_trusted(fake, connector):
    fake.impostor = True
    fake.user_add("700001")
    with pytest.raises(PlatformUnavailable, match="could not prove"):
        connector.balance_operation("700001", Decimal("10"), comment="bo-1 Wallet transfer")
    assert "/api/trade/balance" not in fake.paths()
    assert fake.users["700001"]["Balance"] == 0


def test_an_expired_session_is_renewed_once_and_the_call_goes_through(fake, connector):
    fake.user_add("700001", balance="25")
    connector.account_state("700001")
    fake.expire_sessions()
    assert connector.account_state("700001").balance == Decimal("25")
    assert fake.handshakes == 2
    assert fake.paths()[-5:] == [
        "/api/user/account/get",  # refused: the session is gone
        "/api/auth/start",
        "/api/auth/answer",
        "/api/time/server",
        "/api/user/account/get",
    ]


def test_an_idle_session_is_pinged_before_the_next_call(fake, connector, monkeypatch):
    fake.user_add("700001")
    connector.account_state("700001")
    monkeypatch.setattr(Mt5Connector, "keepalive_after", 0.0)
    connector.account_state("700001")
    assert fake.paths()[-2:] == ["/api/test/access", "/api/user/account/get"]
    assert fake.handshakes == 1


def test_the_password_never_reaches_the_logs_or_a_url(fake, connector, caplog):
    caplog.set_level(logging.DEBUG)
    connector.account_open(new_account())
    fake.impostor = True
    fake.expire_sessions()
    with pytest.raises(PlatformUnavailable):
        connector.ping()
    assert PASSWORD not in caplog.text and "Trader-Pass9!" not in caplog.text
    assert PASSWORD not in repr(connector)
    for _, _, query, _ in fake.calls:
        assert "Trader-Pass9!" not in "".join(query.values())


# Accounts ---------------------------------------------------------------------------------------


def test_an_account_is_opened_with_our_login_group_leverage_and_default_rights(fake, connector):
    assert connector.account_open(new_account(leverage=200)) == "700001"
    user = fake.users["700001"]
    assert (user["Group"], user["Leverage"], user["Name"]) == ("real\\standard", 200, "Carl Client")
    assert user["Rights"] == mt5.RIGHTS_DEFAULT
    body = next(body for _, path, _, body in fake.calls if path == "/api/user/add")
    assert body["MainPassword"] == "Trader-Pass9!" and body["InvestPassword"]


def test_an_account_in_another_currency_than_its_group_is_refused(fake, connector):
    with pytest.raises(TradingGatewayError, match="keeps accounts in USD, not EUR"):
        connector.account_open(new_account(currency="EUR"))
    assert fake.users == {}
    assert connector.account_open(new_account(currency="EUR", group="real\\euro")) == "700001"


def test_an_unknown_group_or_a_taken_login_is_a_refusal(fake, connector):
    with pytest.raises(TradingGatewayError, match="13 Not found") as unknown_group:
        connector.account_open(new_account(group="real\\nowhere"))
    assert not isinstance(unknown_group.value, InvalidLogin)
    fake.user_add("700001")
    with pytest.raises(TradingGatewayError, match="3004 Account already exists"):
        connector.account_open(new_account())


def test_a_login_mt5_already_has_is_reported_as_taken(fake, connector):
    # MT_RET_USR_LOGIN_EXIST (3004): the caller may try another login; any other refusal is final.
    fake.user_add("700001")
    with pytest.raises(LoginTaken, match="700001"):
        connector.account_open(new_account())
    fake.force["/api/user/add"] = "3006 Invalid account password"
    with pytest.raises(TradingGatewayError) as weak_password:
        connector.account_open(new_account("700002"))
    assert not isinstance(weak_password.value, LoginTaken)


def test_leverage_group_and_rights_are_changed_on_the_server(fake, connector):
    connector.account_open(new_account())
    connector.account_update("700001", leverage=50, group="real\\euro")
    assert (fake.users["700001"]["Leverage"], fake.users["700001"]["Group"]) == (50, "real\\euro")

    connector.account_update("700001", enabled=False)
    rights = fake.users["700001"]["Rights"]
    assert not rights & mt5.RIGHT_ENABLED and rights & mt5.RIGHT_TRADE_DISABLED
    assert rights & mt5.RIGHT_EXPERT  # other rights untouched

    connector.account_update("700001", enabled=True)
    assert fake.users["700001"]["Rights"] == mt5.RIGHTS_DEFAULT


def test_changing_an_unknown_account_says_invalid_login(fake, connector):
    with pytest.raises(InvalidLogin, match="13 Not found"):
        connector.account_update("799999", leverage=10)


def test_account_state_maps_every_figure_exactly(fake, connector):
    user = fake.user_add("700001", balance="1000.10", leverage=30)
    user["Credit"], user["Floating"], user["Margin"] = Decimal("50"), Decimal("-20.05"), Decimal("300")
    state = connector.account_state("700001")
    assert (state.login, state.balance, state.credit) == ("700001", Decimal("1000.10"), Decimal("50"))
    assert (state.equity, state.margin, state.margin_free) == (Decimal("1030.05"), Decimal("300"), Decimal("730.05"))
    assert state.margin_level == Decimal("343.35") and state.leverage == 30


def test_account_state_without_margin_has_no_margin_level(fake, connector):
    fake.user_add("700001", balance="10")
    assert connector.account_state("700001").margin_level is None


# Balance operations -----------------------------------------------------------------------------


def test_a_balance_operation_books_the_amount_and_returns_the_deal_ticket(fake, connector):
    fake.user_add("700001")
    ticket = connector.balance_operation("700001", Decimal("200.50"), comment="bo-0123456789abcdef Wallet tran")
    booked = fake.deal_rows[-1]
    assert ticket == booked["Deal"]
    assert (booked["Action"], booked["Profit"], booked["Comment"]) == (
        2,
        Decimal("200.50"),
        "bo-0123456789abcdef Wallet tran",
    )
    assert fake.users["700001"]["Balance"] == Decimal("200.50")
    query = fake.calls[-1][2]
    assert (query["type"], query["balance"], query["check_margin"]) == ("2", "200.50", "1")


def test_credit_and_bonus_use_their_mt5_types(fake, connector):
    fake.user_add("700001")
    connector.balance_operation("700001", Decimal("30"), kind=BalanceKind.CREDIT, check_margin=False)
    connector.balance_operation("700001", Decimal("5"), kind=BalanceKind.BONUS)
    assert [row["Action"] for row in fake.deal_rows] == [3, 6]
    assert fake.calls[-2][2]["check_margin"] == "0"
    assert fake.users["700001"]["Credit"] == Decimal("30")


def test_taking_more_than_the_free_margin_is_refused_as_not_enough_margin(fake, connector):
    user = fake.user_add("700001", balance="100")
    user["Margin"] = Decimal("95")
    with pytest.raises(NotEnoughMargin, match="10019 No money"):
        connector.balance_operation("700001", Decimal("-10"))
    assert fake.users["700001"]["Balance"] == Decimal("100") and fake.deal_rows == []


def test_a_balance_operation_on_an_unknown_login_is_an_invalid_login(fake, connector):
    with pytest.raises(InvalidLogin, match="13 Not found"):
        connector.balance_operation("799999", Decimal("10"))


def test_a_comment_longer_than_mt5_keeps_is_refused_before_sending(fake, connector):
    fake.user_add("700001")
    with pytest.raises(TradingGatewayError, match="at most 32"):
        connector.balance_operation("700001", Decimal("10"), comment="x" * 33)
    assert "/api/trade/balance" not in fake.paths()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999.99"), places=2))
def test_the_server_books_exactly_the_amount_we_send(fake, connector, amount):
    fake.user_add("700001")
    connector.balance_operation("700001", amount)
    assert fake.users["700001"]["Balance"] == amount


# Deals and positions ----------------------------------------------------------------------------


def test_every_deal_field_is_mapped_and_times_come_back_in_utc(fake, connector):
    when = datetime(2024, 3, 5, 14, 30, 15, 250000, tzinfo=UTC)
    fake.deal_add(
        "700001",
        action=1,
        entry=1,
        symbol="EURUSD.pro",
        lots="0.37",
        price="1.08512",
        profit="-12.34",
        commission="-2.59",
        storage="-0.41",
        fee="-0.10",
        comment="closed by SL",
        when=when,
        order=880,
        position=770,
    )
    [deal] = connector.deals(when - timedelta(minutes=1), when + timedelta(minutes=1), ["700001"])
    assert deal.time == when.replace(microsecond=250000)
    assert (deal.login, deal.symbol, deal.action, deal.entry) == ("700001", "EURUSD.pro", "sell", "out")
    assert (deal.volume, deal.price, deal.profit) == (Decimal("0.37"), Decimal("1.08512"), Decimal("-12.34"))
    assert (deal.commission, deal.swap, deal.fee) == (Decimal("-2.59"), Decimal("-0.41"), Decimal("-0.10"))
    assert (deal.comment, deal.order, deal.position_id) == ("closed by SL", 880, 770)
    window = next(query for _, path, query, _ in fake.calls if path == "/api/deal/get_total")
    assert int(window["from"]) == int((when - timedelta(minutes=1)).timestamp()) + 3 * HOUR - 1


@pytest.mark.parametrize(
    ("action", "entry", "expected"),
    [
        (0, 0, ("buy", "in")),
        (1, 2, ("sell", "inout")),
        (0, 3, ("buy", "out_by")),
        (2, 0, ("balance", "in")),
        (3, 0, ("credit", "in")),
        (4, 0, ("charge", "in")),
        (5, 0, ("correction", "in")),
        (6, 0, ("bonus", "in")),
        (7, 0, ("charge", "in")),  # a commission booked on its own still moves the balance
    ],
)
def test_mt5_action_and_entry_numbers_map_to_our_choices(fake, connector, action, entry, expected):
    fake.deal_add("700001", action=action, entry=entry, profit="1")
    [deal] = connector.deals(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1), ["700001"])
    assert (deal.action, deal.entry) == expected


def test_cancelled_deal_records_are_left_out(fake, connector):
    fake.deal_add("700001", action=13)
    fake.deal_add("700001", action=0)
    deals = connector.deals(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1), ["700001"])
    assert [deal.action for deal in deals] == ["buy"]


@pytest.mark.parametrize("volume_ext", [True, False])
def test_volume_is_read_in_lots_from_volume_ext_or_volume(fake, connector, volume_ext):
    fake.send_volume_ext = volume_ext
    fake.deal_add("700001", lots="2.05")
    [deal] = connector.deals(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1), ["700001"])
    assert deal.volume == Decimal("2.05")


def test_deals_are_read_page_by_page_across_more_than_250(fake, connector):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for index in range(263):
        fake.deal_add("700001", when=start + timedelta(seconds=index), profit="1")
    fake.deal_add("700002", when=start, profit="1")
    deals = connector.deals(start, start + timedelta(days=1), ["700001", "700002"])
    assert len(deals) == 264 and len({deal.ticket for deal in deals}) == 264
    pages = [query for _, path, query, _ in fake.calls if path == "/api/deal/get_page"]
    assert [(query["login"], query["offset"], query["total"]) for query in pages] == [
        ("700001", "0", "100"),
        ("700001", "100", "100"),
        ("700001", "200", "100"),
        ("700002", "0", "100"),
    ]


def test_the_deal_window_includes_its_start_and_excludes_its_end(fake, connector):
    start = datetime(2024, 1, 1, 12, tzinfo=UTC)
    for offset in (-1, 0, 59, 60):
        fake.deal_add("700001", when=start + timedelta(seconds=offset), comment=str(offset))
    deals = connector.deals(start, start + timedelta(seconds=60), ["700001"])
    assert [deal.comment for deal in deals] == ["0", "59"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(min_value=0, max_value=230))
def test_paging_returns_every_deal_once_whatever_the_count(fake, connector, count):
    fake.deal_rows.clear()
    start = datetime(2024, 2, 1, tzinfo=UTC)
    for index in range(count):
        fake.deal_add("700001", when=start + timedelta(seconds=index))
    deals = connector.deals(start, start + timedelta(days=1), ["700001"])
    assert sorted(deal.ticket for deal in deals) == sorted(row["Deal"] for row in fake.deal_rows)


def test_positions_are_mapped_and_paged(fake, connector):
    opened = datetime(2024, 4, 2, 8, 0, tzinfo=UTC)
    for _ in range(120):
        fake.position_add("700001", opened=opened)
    gold_row = {"symbol": "XAUUSD", "lots": "0.10", "price_open": "2345.60", "price_current": "2340.10"}
    fake.position_add("700001", action=1, profit="55.00", storage="-3.85", opened=opened, **gold_row)
    positions = connector.positions(["700001"])
    assert len(positions) == 121
    gold = positions[-1]
    assert (gold.login, gold.symbol, gold.side, gold.volume) == ("700001", "XAUUSD", "sell", Decimal("0.10"))
    assert (gold.open_price, gold.current_price) == (Decimal("2345.60"), Decimal("2340.10"))
    assert (gold.profit, gold.swap, gold.opened_at) == (Decimal("55.00"), Decimal("-3.85"), opened)


def time_reads(fake: FakeMt5) -> int:
    return fake.paths().count("/api/time/server")


def test_a_clock_change_on_the_server_is_picked_up_by_the_next_deal_read(fake, connector):
    # Summer time ends at the broker (UTC+3 -> UTC+2) while our session stays open.
    now = datetime.now(UTC)
    assert connector.deals(now - timedelta(minutes=5), now + timedelta(minutes=5), ["700001"]) == []
    fake.clock_shift(-HOUR)
    row = fake.deal_add("700001", profit="5")
    later = datetime.now(UTC)
    [deal] = connector.deals(later - timedelta(minutes=5), later + timedelta(minutes=5), ["700001"])
    assert deal.ticket == row["Deal"]
    assert abs(deal.time - later) < timedelta(seconds=5)  # UTC again, not an hour off
    window = [query for _, path, query, _ in fake.calls if path == "/api/deal/get_total"][-1]
    assert int(window["from"]) == int((later - timedelta(minutes=5)).timestamp()) + 2 * HOUR - 1


def test_every_deal_read_asks_the_server_its_time_first(fake, connector):
    now = datetime.now(UTC)
    connector.deals(now - timedelta(minutes=5), now, ["700001"])
    before = time_reads(fake)
    connector.deals(now - timedelta(minutes=5), now, ["700001"])
    assert time_reads(fake) == before + 1
    assert fake.paths()[-2:] == ["/api/time/server", "/api/deal/get_total"]


def test_a_cached_offset_is_read_again_once_it_is_ten_minutes_old(fake, connector):
    fake.position_add("700001", opened=datetime(2024, 4, 2, 8, 0, tzinfo=UTC))
    [first] = connector.positions(["700001"])
    reads = time_reads(fake)
    connector.positions(["700001"])
    assert time_reads(fake) == reads  # fresh enough: no extra request

    fake.clock_shift(HOUR)  # summer time starts: UTC+4 from now on
    opened = datetime(2024, 4, 2, 9, 0, tzinfo=UTC)
    fake.position_add("700001", opened=opened)
    [session] = mt5._SESSIONS.values()
    session.offset_read_at -= mt5.OFFSET_MAX_AGE + 1
    positions = connector.positions(["700001"])
    assert time_reads(fake) == reads + 1
    assert positions[-1].opened_at == opened
    assert first.opened_at == datetime(2024, 4, 2, 8, 0, tzinfo=UTC)


def test_a_server_that_stops_telling_its_time_keeps_the_last_known_offset(fake, connector):
    now = datetime.now(UTC)
    connector.deals(now - timedelta(minutes=5), now, ["700001"])
    fake.force["/api/time/server"] = "12002 Command doesn't supported"
    row = fake.deal_add("700001", profit="5")
    later = datetime.now(UTC)
    [deal] = connector.deals(later - timedelta(minutes=5), later + timedelta(minutes=5), ["700001"])
    assert deal.ticket == row["Deal"] and abs(deal.time - later) < timedelta(seconds=5)


# Errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retcode", "error"),
    [
        ("3 Invalid parameters", TradingGatewayError),
        ("13 Not found", InvalidLogin),
        ("10019 No money", NotEnoughMargin),
        ("12 Too frequent requests", TradingGatewayError),
        ("9 Operation timeout", PlatformUnavailable),
        ("10 No connection", PlatformUnavailable),
    ],
)
def test_retcodes_become_typed_errors_with_the_servers_text(fake, connector, retcode, error):
    fake.user_add("700001")
    fake.force["/api/trade/balance"] = retcode
    with pytest.raises(error) as raised:
        connector.balance_operation("700001", Decimal("10"))
    assert type(raised.value) is error
    assert retcode in raised.value.message


def test_a_permission_refusal_is_retried_once_after_a_new_handshake_then_refused(fake, connector):
    fake.user_add("700001")
    fake.force["/api/trade/balance"] = "8 Not enough permissions"
    with pytest.raises(TradingGatewayError, match="8 Not enough permissions"):
        connector.balance_operation("700001", Decimal("10"))
    assert fake.paths().count("/api/trade/balance") == 2 and fake.handshakes == 2


def test_a_server_answering_503_is_unavailable(fake, connector):
    fake.down = True
    with pytest.raises(PlatformUnavailable, match="HTTP 503"):
        connector.ping()


def test_a_slow_server_times_out_as_unavailable(fake, connector, monkeypatch):
    connector.ping()
    monkeypatch.setattr(Mt5Connector, "read_timeout", 0.2)
    fake.slow = 0.6
    with pytest.raises(PlatformUnavailable, match="did not answer in time"):
        connector.ping()


def test_an_answer_that_is_not_json_is_unavailable(fake, connector):
    fake.garbage = True
    with pytest.raises(PlatformUnavailable, match="not JSON"):
        connector.ping()


def test_a_refused_connection_is_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PlatformUnavailable, match="unreachable: the connection was refused") as down:
        Mt5Connector(platform_for(f"http://127.0.0.1:{port}")).ping()
    assert "Error" not in down.value.message  # words for staff, not an exception class


def test_an_address_that_does_not_resolve_says_so():
    with pytest.raises(PlatformUnavailable, match="its name does not resolve"):
        Mt5Connector(platform_for("http://mt5.example.invalid:443")).ping()


def test_a_lost_answer_after_booking_is_unavailable_not_refused(fake, connector):
    fake.user_add("700001")
    fake.balance_fault = "drop_answer"
    with pytest.raises(PlatformUnavailable):
        connector.balance_operation("700001", Decimal("10"), comment="bo-lost")
    assert fake.users["700001"]["Balance"] == Decimal("10")  # it happened there


@pytest.mark.parametrize(
    ("server", "login", "password", "message"),
    [
        ("ftp://mt5.example.com", "1000", PASSWORD, "https://host:port"),
        ("", "1000", PASSWORD, "https://host:port"),
        ("https://mt5.example.com:443", "", PASSWORD, "not set"),
        ("https://mt5.example.com:443", "1000", "", "not set"),
    ],
)
def test_a_platform_without_address_or_credentials_is_a_clear_refusal(server, login, password, message):
    platform = SimpleNamespace(code="mt5-test", server=server, manager_login=login, manager_password=password)
    with pytest.raises(TradingGatewayError, match=message):
        Mt5Connector(platform)
