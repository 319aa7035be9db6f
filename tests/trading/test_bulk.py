"""The bulk back-fill: COPY + one upsert, counts, dedupe against live-ingested deals, the command."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from brokerage.errors import ApplicationError
from payments import ledger
from payments.models import LedgerTransaction
from tests.trading.support import deal
from tests.trading.test_sync_support import account_funded, live, trading_funds
from trading import services
from trading.models import Deal, Platform, SyncProblem
from trading.sync.bulk import backfill_end, deals_bulk_load
from trading.sync.ingest import deals_ingest
from trading.sync.pull import OVERLAP, platform_sync

Kind = SyncProblem.Kind
T0 = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def account(memory_platform, carl):
    return account_funded(carl.client, carl, "200")


def history(login: str, tickets, **fields):
    return [deal(ticket=t, login=login, time=T0 + timedelta(minutes=t), **fields) for t in tickets]


def test_a_back_fill_stores_every_deal_as_history_and_posts_nothing(account, carl):
    rows = history(account.login, range(1, 101))
    rows[1] = deal(ticket=2, login=account.login, time=T0, symbol="GOLD", profit=Decimal("-12.34567891"))
    result = deals_bulk_load(live(), rows, chunk_size=30)  # four chunks
    assert (result.inserted, result.duplicates, result.malformed) == (100, 0, 0)
    assert Deal.objects.count() == 100
    assert set(Deal.objects.values_list("booking", flat=True)) == {Deal.Booking.HISTORY}
    gold = Deal.objects.get(ticket=2)
    assert (gold.symbol.name, gold.symbol_name, gold.profit) == ("XAUUSD", "GOLD", Decimal("-12.34567891"))
    assert gold.account == account and gold.time == T0
    assert not LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.TRADING_RESULT).exists()
    assert trading_funds(carl.client) == Decimal("200")


def test_deals_already_ingested_live_are_skipped_and_keep_their_booking(account, carl):
    deals_ingest(live(), history(account.login, [5, 6], profit=Decimal("10"), commission=Decimal(0)))
    result = deals_bulk_load(live(), history(account.login, range(1, 11)))
    assert (result.inserted, result.duplicates) == (8, 2)
    assert Deal.objects.get(ticket=5).booking == Deal.Booking.BOOKED
    assert trading_funds(carl.client) == Decimal("220")
    again = deals_bulk_load(live(), history(account.login, range(1, 11)))
    assert (again.inserted, again.duplicates) == (0, 10)
    assert Deal.objects.count() == 10


def test_unknown_symbols_and_logins_are_summarised_into_problems(account, memory_platform, carl):
    demo = services.account_open(client=carl.client, is_demo=True, leverage=100, currency="USD", actor=carl)
    rows = (
        history(account.login, [1, 2], symbol="EURUSD.ecn")
        + history(account.login, [3], symbol="EURUSD.ecn")
        + history("404404", [4, 5])
        + history(demo.login, [6])
        + [
            {"ticket": 7, "login": account.login, "time": T0, "action": "gift", "entry": "in"},
            {"ticket": 8, "login": "", "time": T0, "action": "buy", "entry": "in"},
            {"ticket": None, "login": account.login, "time": T0, "action": "buy", "entry": "in"},
            {"ticket": 9, "login": account.login, "time": None, "action": "buy", "entry": "in"},
        ]
    )
    result = deals_bulk_load(live(), rows)
    assert (result.inserted, result.malformed) == (6, 4)
    assert result.unknown_symbols == {"EURUSD.ecn": 3}
    assert result.unknown_logins == {"404404": 2} and result.wrong_platform == {demo.login: 1}
    problems = {(p.kind, p.subject): p.occurrences for p in SyncProblem.objects.all()}
    assert problems == {
        (Kind.UNKNOWN_SYMBOL, "EURUSD.ecn"): 3,
        (Kind.UNKNOWN_LOGIN, "404404"): 2,
        (Kind.WRONG_PLATFORM, demo.login): 1,
        (Kind.MALFORMED, "bulk load"): 4,
    }
    assert Deal.objects.get(ticket=6).account is None


def test_a_value_postgres_cannot_read_stops_its_chunk_with_a_clear_error(account):
    rows = history(account.login, range(1, 4)) + [
        {"ticket": 4, "login": account.login, "time": T0, "action": "buy", "entry": "in", "price": "abc"}
    ]
    with pytest.raises(ApplicationError, match=r"Rows 3-4 were not loaded \(row 4: .*numeric: \"abc\"\)"):
        deals_bulk_load(live(), rows, chunk_size=2)
    assert sorted(Deal.objects.values_list("ticket", flat=True)) == [1, 2]  # the first chunk committed


def test_the_same_ticket_twice_in_a_load_is_stored_once(account):
    result = deals_bulk_load(live(), history(account.login, [1, 1, 2]))
    assert (result.inserted, result.duplicates) == (2, 1)


CSV = """ticket,login,time,symbol,action,entry,volume,price,profit,commission,swap,fee,comment,order,position_id,extra
81234,{login},2024-05-02T09:31:07+00:00,EURUSD,sell,out,1.00,1.08512,50.00,-3.50,0,0,"closed, by hand",7001,6001,x
81235,{login},2024-05-02 10:00:00,,balance,in,0,0,100,,,,Deposit,,,y
"""


def test_the_command_loads_a_csv_file(account, tmp_path, alpha):
    path = tmp_path / "deals.csv"
    path.write_text(CSV.format(login=account.login))
    out = io.StringIO()
    call_command("backfill_deals", "--tenant", alpha.slug, "--platform", "sim-live", "--file", str(path), stdout=out)
    assert "2 deal(s) loaded, 0 already stored" in out.getvalue()
    first, second = Deal.objects.order_by("ticket")
    assert (first.comment, first.order, first.position_id, first.commission) == (
        "closed, by hand",
        7001,
        6001,
        Decimal("-3.50"),
    )
    assert second.time == datetime(2024, 5, 2, 10, tzinfo=UTC) and second.symbol_name == "" and second.fee == 0
    call_command("backfill_deals", "--tenant", alpha.slug, "--platform", "sim-live", "--file", str(path), stdout=out)
    assert "0 deal(s) loaded, 2 already stored" in out.getvalue()


def test_the_command_refuses_a_file_without_the_required_columns(account, tmp_path, alpha):
    path = tmp_path / "deals.csv"
    path.write_text("ticket,login\n1,2\n")
    with pytest.raises(CommandError, match="no column.*action, entry, time"):
        call_command("backfill_deals", "--tenant", alpha.slug, "--platform", "sim-live", "--file", str(path))


def test_the_command_pulls_history_from_the_platform_day_by_day(account, memory_platform, alpha):
    for hours in (1, 30, 50):
        memory_platform.trade(account.login, deal(time=T0 + timedelta(hours=hours)))
    out = io.StringIO()
    arguments = ["--tenant", alpha.slug, "--platform", "sim-live", "--from", "2024-05-02", "--to", "2024-05-05"]
    call_command("backfill_deals", *arguments, stdout=out)
    assert memory_platform.calls.count("deals") == 3
    assert "3 deal(s) loaded" in out.getvalue()
    memory_platform.down = True
    with pytest.raises(CommandError, match="did not answer for 2024-05-02.*--from 2024-05-02"):
        call_command("backfill_deals", *arguments, stdout=out)


def test_the_command_needs_exactly_one_source(account, alpha):
    with pytest.raises(CommandError, match="either --file or --from"):
        call_command("backfill_deals", "--tenant", alpha.slug, "--platform", "sim-live")
    with pytest.raises(CommandError, match="No platform 'nope'"):
        call_command("backfill_deals", "--tenant", alpha.slug, "--platform", "nope", "--from", "2024-01-01")


def test_deals_from_where_the_live_sync_begins_are_left_to_it_and_booked_by_it(account, memory_platform, carl):
    cursor = T0 + timedelta(days=2)
    Platform.objects.filter(pk=live().pk).update(deals_synced_to=cursor)
    assert backfill_end(live()) == cursor - OVERLAP
    old = memory_platform.trade(account.login, deal(time=cursor - timedelta(minutes=3), profit=Decimal("10")))
    late = [
        memory_platform.trade(account.login, deal(time=moment, profit=Decimal("20"), commission=Decimal(0)))
        for moment in (cursor - timedelta(minutes=1), cursor + timedelta(hours=1))
    ]
    result = deals_bulk_load(live(), [old, *late])
    assert (result.inserted, result.clipped, result.duplicates, result.malformed) == (1, 2, 0, 0)
    assert result.rows == 3
    assert list(Deal.objects.values_list("ticket", "booking")) == [(old.ticket, Deal.Booking.HISTORY)]
    # The live sync reads them from its cursor (minus the overlap) and books their money.
    platform_sync(live(), now=cursor + timedelta(hours=2))
    bookings = dict(Deal.objects.filter(ticket__in=[d.ticket for d in late]).values_list("ticket", "booking"))
    assert set(bookings.values()) == {Deal.Booking.BOOKED} and len(bookings) == 2
    assert trading_funds(carl.client) == Decimal("240")  # 200 in, +20 +20; the history deal is not posted
    assert ledger.ledger_problems() == []


def test_the_command_stops_the_back_fill_where_the_live_sync_begins(account, memory_platform, alpha):
    Platform.objects.filter(pk=live().pk).update(deals_synced_to=T0 + timedelta(days=2))
    for hours in (1, 30, 50):
        memory_platform.trade(account.login, deal(time=T0 + timedelta(hours=hours)))
    out = io.StringIO()
    base = ["--tenant", alpha.slug, "--platform", "sim-live"]
    call_command("backfill_deals", *base, "--from", "2024-05-02", stdout=out)  # no --to: up to the live sync
    assert "2 deal(s) loaded" in out.getvalue()
    assert Deal.objects.count() == 2
    out = io.StringIO()
    call_command("backfill_deals", *base, "--from", "2024-05-02", "--to", "2024-05-10", stdout=out)
    assert "--to clipped to 2024-05-04 08:58:00 UTC" in out.getvalue()
    assert "0 deal(s) loaded, 2 already stored" in out.getvalue() and Deal.objects.count() == 2
    with pytest.raises(CommandError, match="Nothing to back-fill: the live sync .* from 2024-05-04 08:58:00"):
        call_command("backfill_deals", *base, "--from", "2024-05-05", stdout=out)


def test_the_command_reports_file_rows_left_to_the_live_sync(account, tmp_path, alpha):
    Platform.objects.filter(pk=live().pk).update(deals_synced_to=datetime(2024, 5, 2, 9, 45, tzinfo=UTC))
    path = tmp_path / "deals.csv"
    path.write_text(CSV.format(login=account.login))
    out = io.StringIO()
    call_command("backfill_deals", "--tenant", alpha.slug, "--platform", "sim-live", "--file", str(path), stdout=out)
    assert "1 deal(s) loaded, 0 already stored" in out.getvalue()
    assert "1 deal(s) left to the live sync" in out.getvalue()
    assert list(Deal.objects.values_list("ticket", flat=True)) == [81234]


def test_a_long_load_reports_its_running_totals_after_every_committed_chunk(account):
    seen = []
    result = deals_bulk_load(
        live(), history(account.login, range(1, 6)), chunk_size=2, progress=lambda so_far: seen.append(so_far.rows)
    )
    assert seen == [2, 4, 5] and result.inserted == 5
