"""deals_ingest and positions_store: each deal once, its money booked once, bad input reported not fatal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from brokerage.models import OutboxEvent
from payments import ledger
from payments.models import LedgerTransaction
from tests.trading.support import deal
from tests.trading.test_sync_support import account_funded, demo, live, trading_funds, trading_results
from trading import services
from trading.connectors.base import PositionData
from trading.models import Deal, Platform, Position, Symbol, SymbolAlias, SyncProblem, TradingAccount
from trading.sync.ingest import deals_ingest, positions_store

Booking = Deal.Booking
Kind = SyncProblem.Kind
T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def account(memory_platform, carl):
    return account_funded(carl.client, carl, "200")


def test_new_deals_are_stored_with_symbol_and_account_and_their_money_booked(account, carl):
    result = deals_ingest(
        live(),
        [
            deal(ticket=1, login=account.login, time=T0, profit=Decimal("50.00"), commission=Decimal("-3.50")),
            deal(
                ticket=2,
                login=account.login,
                time=T0,
                symbol="EURUSD.pro",
                profit=Decimal("-20.25"),
                commission=Decimal(0),
            ),
        ],
    )
    assert (result.inserted, result.duplicates, result.problems, result.booked) == (2, 0, 0, 2)
    rows = {d.ticket: d for d in Deal.objects.all()}
    eurusd = Symbol.objects.get(name="EURUSD")
    assert rows[1].symbol == eurusd and rows[2].symbol == eurusd and rows[2].symbol_name == "EURUSD.pro"
    assert rows[1].account == account and {rows[1].booking, rows[2].booking} == {Booking.BOOKED}
    # 200 moved in, +46.50 and -20.25 from trading: the ledger follows the platform.
    assert trading_funds(carl.client) == Decimal("226.25")
    assert trading_results() == Decimal("-26.25")
    posting = LedgerTransaction.objects.get(kind=LedgerTransaction.Kind.TRADING_RESULT)
    assert posting.reference == f"trading:sim-live:{account.login}:1-2"
    assert ledger.ledger_problems() == []
    event = OutboxEvent.objects.get(topic="trading.deals_ingested")
    assert event.payload["inserted"] == 2 and event.payload["logins"] == [account.login]


def test_a_replayed_or_overlapping_batch_adds_nothing_and_books_nothing_again(account, carl):
    first = [deal(ticket=t, login=account.login, time=T0, profit=Decimal("10")) for t in (1, 2, 3)]
    deals_ingest(live(), first)
    again = deals_ingest(live(), first[1:] + [deal(ticket=4, login=account.login, time=T0, profit=Decimal("5"))])
    assert (again.inserted, again.duplicates) == (1, 2)
    assert Deal.objects.count() == 4
    assert trading_funds(carl.client) == Decimal("200") + 3 * Decimal("6.50") + Decimal("1.50")
    assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.TRADING_RESULT).count() == 2
    replay = deals_ingest(live(), first)
    assert (replay.inserted, replay.duplicates) == (0, 3)
    assert OutboxEvent.objects.filter(topic="trading.deals_ingested").count() == 2  # none for a pure replay
    assert ledger.ledger_problems() == []


def test_the_same_ticket_twice_in_one_batch_is_stored_once(account):
    result = deals_ingest(live(), [deal(ticket=7, login=account.login), deal(ticket=7, login=account.login)])
    assert (result.inserted, result.duplicates) == (1, 1)


def test_our_own_transfer_deals_are_not_booked_again(account, carl, memory_platform):
    transfer_deal = memory_platform.deal_list[-1]  # the platform side of the 200 transfer
    assert transfer_deal.comment.startswith("bo-")
    result = deals_ingest(live(), [transfer_deal])
    assert result.inserted == 1
    assert Deal.objects.get().booking == Booking.TRANSFER
    assert trading_funds(carl.client) == Decimal("200")
    assert not LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.TRADING_RESULT).exists()


def test_a_dealers_correction_and_bonus_are_booked_but_credit_is_not_client_money(account, carl):
    common = {
        "login": account.login,
        "symbol": "",
        "entry": "in",
        "volume": Decimal(0),
        "price": Decimal(0),
        "commission": Decimal(0),
    }
    deals_ingest(
        live(),
        [
            deal(ticket=1, action="correction", profit=Decimal("-15.00"), comment="fix", **common),
            deal(ticket=2, action="bonus", profit=Decimal("25.00"), comment="welcome", **common),
            deal(ticket=3, action="credit", profit=Decimal("500.00"), comment="credit line", **common),
            deal(ticket=4, action="balance", profit=Decimal("30.00"), comment="dealer deposit", **common),
        ],
    )
    bookings = dict(Deal.objects.values_list("ticket", "booking"))
    assert bookings == {1: Booking.BOOKED, 2: Booking.BOOKED, 3: Booking.NONE, 4: Booking.BOOKED}
    assert trading_funds(carl.client) == Decimal("240.00")


def test_deals_without_money_are_not_booked(account, carl):
    deals_ingest(live(), [deal(ticket=1, login=account.login, entry="in", profit=Decimal(0), commission=Decimal(0))])
    assert Deal.objects.get().booking == Booking.NONE
    assert not LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.TRADING_RESULT).exists()


def test_a_loss_beyond_the_clients_trading_funds_stays_pending_with_a_problem(account, carl):
    ok = deals_ingest(live(), [deal(ticket=1, login=account.login, profit=Decimal("-150"), commission=Decimal(0))])
    assert ok.booked == 1
    result = deals_ingest(
        live(),
        [
            deal(ticket=2, login=account.login, profit=Decimal("-40"), commission=Decimal(0)),
            deal(ticket=3, login=account.login, profit=Decimal("-30"), commission=Decimal(0)),
        ],
    )
    assert (result.inserted, result.booked, result.pending) == (2, 0, 2)
    assert dict(Deal.objects.values_list("ticket", "booking")) == {
        1: Booking.BOOKED,
        2: Booking.PENDING,
        3: Booking.PENDING,
    }
    assert trading_funds(carl.client) == Decimal("50")  # nothing of the failed batch was posted
    problem = SyncProblem.objects.get(kind=Kind.BOOKING)
    assert problem.subject == account.login and "below zero" in problem.message
    assert ledger.ledger_problems() == []


def test_an_overdraw_on_one_account_does_not_stop_another_accounts_booking(account, carl, memory_platform):
    other_client = type(carl.client).objects.create(first_name="Dora", last_name="Lee", email="dora@alpha.test")
    other = account_funded(other_client, carl, "100")
    result = deals_ingest(
        live(),
        [
            deal(ticket=1, login=account.login, profit=Decimal("-500"), commission=Decimal(0)),
            deal(ticket=2, login=other.login, profit=Decimal("-60"), commission=Decimal(0)),
        ],
    )
    assert (result.booked, result.pending) == (1, 1)
    assert trading_funds(carl.client) == Decimal("200")
    assert trading_funds(other_client) == Decimal("40")


def test_demo_deals_never_touch_the_ledger(memory_platform, carl):
    account = services.account_open(client=carl.client, is_demo=True, leverage=100, currency="USD", actor=carl)
    deals_ingest(demo(), [deal(ticket=1, login=account.login, profit=Decimal("99"))])
    assert Deal.objects.get().booking == Booking.DEMO
    assert not LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.TRADING_RESULT).exists()


def test_an_unknown_symbol_is_stored_by_name_and_asks_for_an_alias(account):
    result = deals_ingest(
        live(),
        [
            deal(ticket=1, login=account.login, symbol="EURUSD.ecn"),
            deal(ticket=2, login=account.login, symbol="EURUSD.ecn"),
        ],
    )
    assert result.inserted == 2 and result.problems == 2
    row = Deal.objects.get(ticket=1)
    assert row.symbol is None and row.symbol_name == "EURUSD.ecn" and row.booking == Booking.BOOKED
    problem = SyncProblem.objects.get(kind=Kind.UNKNOWN_SYMBOL)
    assert problem.subject == "EURUSD.ecn" and problem.occurrences == 2
    assert "alias" in problem.message and "/ops/" in problem.message
    # Replaying the same deals does not count the problem again.
    deals_ingest(live(), [deal(ticket=1, login=account.login, symbol="EURUSD.ecn")])
    assert SyncProblem.objects.get(kind=Kind.UNKNOWN_SYMBOL).occurrences == 2
    # Once the alias exists, new deals resolve.
    SymbolAlias.objects.create(alias="EURUSD.ecn", symbol=Symbol.objects.get(name="EURUSD"))
    deals_ingest(live(), [deal(ticket=3, login=account.login, symbol="EURUSD.ecn")])
    assert Deal.objects.get(ticket=3).symbol.name == "EURUSD"


def test_unknown_login_and_login_of_another_platform_are_stored_without_account(memory_platform, carl):
    demo_account = services.account_open(client=carl.client, is_demo=True, leverage=100, currency="USD", actor=carl)
    result = deals_ingest(
        live(), [deal(ticket=1, login="123456"), deal(ticket=2, login=demo_account.login, profit=Decimal("5"))]
    )
    assert result.inserted == 2 and result.booked == 0
    rows = {d.ticket: d for d in Deal.objects.all()}
    assert rows[1].account is None and rows[2].account is None
    assert rows[1].booking == Booking.PENDING  # live money nobody's ledger holds yet
    kinds = dict(SyncProblem.objects.values_list("kind", "subject"))
    assert kinds == {Kind.UNKNOWN_LOGIN: "123456", Kind.WRONG_PLATFORM: demo_account.login}
    assert "is an account on" in SyncProblem.objects.get(kind=Kind.WRONG_PLATFORM).message


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ticket": None}, "ticket must be a whole number"),
        ({"ticket": -5}, "out of range"),
        ({"time": None}, "time is missing"),
        ({"time": datetime(2025, 1, 1)}, "no time zone"),  # noqa: DTZ001 - the point of the test
        ({"action": "gift"}, "unknown action 'gift'"),
        ({"entry": "sideways"}, "unknown entry"),
        ({"profit": 12.5}, "profit must be a Decimal, got float"),
        ({"volume": Decimal("NaN")}, "volume is not a finite number"),
        ({"login": ""}, "login is missing"),
        ({"symbol": ""}, "symbol is missing"),
    ],
)
def test_a_malformed_deal_is_skipped_and_reported_while_the_rest_go_in(account, change, reason):
    bad = replace(deal(ticket=9, login=account.login), **change)
    result = deals_ingest(live(), [deal(ticket=1, login=account.login), bad, deal(ticket=2, login=account.login)])
    assert result.inserted == 2 and result.problems == 1
    assert set(Deal.objects.values_list("ticket", flat=True)) == {1, 2}
    problem = SyncProblem.objects.get(kind=Kind.MALFORMED)
    assert reason in problem.message


def test_problems_count_up_on_one_open_row_and_a_resolved_one_opens_anew(account):
    deals_ingest(live(), [deal(ticket=1, login="777")])
    deals_ingest(live(), [deal(ticket=2, login="777")])
    problem = SyncProblem.objects.get()
    assert problem.occurrences == 2
    SyncProblem.objects.filter(pk=problem.pk).update(resolved_at=T0)
    deals_ingest(live(), [deal(ticket=3, login="777")])
    assert SyncProblem.objects.filter(resolved_at__isnull=True, subject="777").get().occurrences == 1


def test_an_account_without_a_client_is_mirrored_but_its_money_waits(memory_platform):
    platform = live()
    TradingAccount.objects.create(login="555555", platform=platform, group="g", leverage=100, currency="USD")
    result = deals_ingest(platform, [deal(ticket=1, login="555555", profit=Decimal("10"))])
    assert result.pending == 1 and Deal.objects.get().account.login == "555555"
    assert SyncProblem.objects.get(kind=Kind.BOOKING).subject == "555555"


def position(ticket: int, login: str, **fields) -> PositionData:
    values = {
        "ticket": ticket,
        "login": login,
        "symbol": "EURUSD",
        "side": "buy",
        "volume": Decimal("1"),
        "open_price": Decimal("1.08"),
        "current_price": Decimal("1.09"),
        "profit": Decimal("100"),
        "swap": Decimal("0"),
        "opened_at": T0,
    }
    return PositionData(**(values | fields))


def test_positions_are_replaced_for_the_given_logins_only(memory_platform, carl):
    platform: Platform = live()
    TradingAccount.objects.create(login="500100", platform=platform, group="g", leverage=100, currency="USD")
    positions_store(platform, [position(1, "500100"), position(2, "500100"), position(3, "500200")], None)
    assert set(Position.objects.values_list("ticket", flat=True)) == {1, 2, 3}
    positions_store(platform, [position(2, "500100", current_price=Decimal("1.1"))], ["500100"])
    rows = {p.ticket: p for p in Position.objects.all()}
    assert set(rows) == {2, 3}  # 1 closed; 500200's position untouched
    assert rows[2].current_price == Decimal("1.1") and rows[2].account.login == "500100"
    positions_store(platform, [], None)
    assert not Position.objects.exists()


def test_a_malformed_position_is_reported_and_the_others_kept(memory_platform):
    platform = live()
    count = positions_store(
        platform, [position(1, "1"), position(2, "1", side="long"), position(3, "1", symbol="ZZZ")], None
    )
    assert count == 2
    assert set(SyncProblem.objects.values_list("kind", flat=True)) == {Kind.MALFORMED, Kind.UNKNOWN_SYMBOL}
    positions_store(platform, [position(3, "1", symbol="ZZZ")], None)
    assert SyncProblem.objects.get(kind=Kind.UNKNOWN_SYMBOL).occurrences == 1


def test_deal_time_is_kept_exactly(account):
    moment = T0 + timedelta(microseconds=123456)
    deals_ingest(live(), [deal(ticket=1, login=account.login, time=moment)])
    assert Deal.objects.get().time == moment


def test_pending_money_is_booked_with_the_first_batch_that_makes_it_fit(memory_platform, carl):
    account = account_funded(carl.client, carl, "100")
    first = deals_ingest(live(), [deal(ticket=1, login=account.login, profit=Decimal("-150"), commission=Decimal(0))])
    assert (first.booked, first.pending) == (0, 1)
    assert SyncProblem.objects.get(kind=Kind.BOOKING, resolved_at__isnull=True).subject == account.login
    # Still too little: the new loss waits with the old one.
    second = deals_ingest(live(), [deal(ticket=2, login=account.login, profit=Decimal("40"), commission=Decimal(0))])
    assert (second.booked, second.pending) == (0, 1)
    third = deals_ingest(live(), [deal(ticket=3, login=account.login, profit=Decimal("500"), commission=Decimal(0))])
    assert third.booked == 3
    assert set(Deal.objects.values_list("booking", flat=True)) == {Booking.BOOKED}
    # 100 in, -150 + 40 + 500 from trading: the ledger shows what the platform's balance shows.
    assert trading_funds(carl.client) == Decimal("490")
    assert trading_results() == Decimal("-390")
    posting = LedgerTransaction.objects.get(kind=LedgerTransaction.Kind.TRADING_RESULT)
    assert posting.reference == f"trading:sim-live:{account.login}:1-3"
    assert posting.metadata["tickets"] == [1, 2, 3]
    assert not SyncProblem.objects.filter(kind=Kind.BOOKING, resolved_at__isnull=True).exists()
    assert ledger.ledger_problems() == []


def test_pending_deals_of_another_account_are_not_swept_into_this_accounts_posting(memory_platform, carl):
    other_client = type(carl.client).objects.create(first_name="Dora", last_name="Lee", email="dora@alpha.test")
    mine, theirs = account_funded(carl.client, carl, "100"), account_funded(other_client, carl, "10")
    deals_ingest(live(), [deal(ticket=1, login=theirs.login, profit=Decimal("-50"), commission=Decimal(0))])
    deals_ingest(live(), [deal(ticket=2, login=mine.login, profit=Decimal("500"), commission=Decimal(0))])
    assert dict(Deal.objects.values_list("ticket", "booking")) == {1: Booking.PENDING, 2: Booking.BOOKED}
    assert trading_funds(carl.client) == Decimal("600") and trading_funds(other_client) == Decimal("10")
    assert ledger.ledger_problems() == []
