"""Property: however the same deals arrive (split, reordered, replayed, pulled, pushed), the mirror and the
ledger end up the same as taking each deal once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from payments import ledger
from tests.trading.support import deal
from tests.trading.test_sync_support import account_funded, live, trading_funds, trading_results
from trading.models import Deal
from trading.sync.bulk import deals_bulk_load
from trading.sync.ingest import deals_ingest, pending_deals_book

TICKETS = 12


class Rollback(Exception):
    pass


@pytest.fixture
def accounts(memory_platform, carl):
    # Enough funds that no order of these deals can overdraw (the one thing that would depend on order).
    return [account_funded(carl.client, carl, "10000"), account_funded(carl.client, carl, "10000")]


def the_deals(logins: list[str], moneys: list[int]) -> dict[int, object]:
    return {
        ticket: deal(
            ticket=ticket,
            login=logins[ticket % 2],
            time=datetime(2025, 3, 3, tzinfo=UTC),
            symbol="GOLD" if ticket % 3 else "EURUSD",
            profit=Decimal(money) / 100,
            commission=Decimal(0),
        )
        for ticket, money in zip(range(1, TICKETS + 1), moneys, strict=True)
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    moneys=st.lists(st.integers(-9999, 9999), min_size=TICKETS, max_size=TICKETS),
    batches=st.lists(st.lists(st.integers(1, TICKETS), max_size=TICKETS), min_size=1, max_size=6),
    bulk_first=st.lists(st.integers(1, TICKETS), max_size=4),
)
def test_any_interleaving_or_replay_of_batches_gives_the_same_rows_and_ledger(
    accounts, carl, moneys, batches, bulk_first
):
    deals = the_deals([a.login for a in accounts], moneys)
    before = trading_funds(carl.client), trading_results()
    try:
        with transaction.atomic():
            # Some deals may already be there as back-filled history (not booked).
            deals_bulk_load(live(), [deals[t] for t in bulk_first])
            history = set(bulk_first)
            for batch in batches:
                deals_ingest(live(), [deals[t] for t in batch])
            deals_ingest(live(), list(deals.values()))  # the pull finally reads everything

            rows = {d.ticket: d for d in Deal.objects.all()}
            assert set(rows) == set(deals)
            for ticket, row in rows.items():
                money = deals[ticket].profit
                if ticket in history:
                    assert row.booking == Deal.Booking.HISTORY
                else:
                    assert row.booking == (Deal.Booking.BOOKED if money else Deal.Booking.NONE)
                assert row.profit == money
            booked = sum((deals[t].profit for t in deals if t not in history), Decimal(0))
            assert trading_funds(carl.client) == before[0] + booked
            assert trading_results() == before[1] - booked
            assert ledger.ledger_problems() == []
            raise Rollback
    except Rollback:
        pass


@pytest.fixture
def poor_accounts(memory_platform, carl):
    """Two clients with little money on their accounts: losses often overdraw and wait as pending."""
    other = type(carl.client).objects.create(first_name="Dora", last_name="Lee", email="dora@alpha.test")
    return [account_funded(carl.client, carl, "20"), account_funded(other, carl, "20")]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    moneys=st.lists(st.integers(-9999, 9999), min_size=TICKETS, max_size=TICKETS),
    batches=st.lists(st.lists(st.integers(1, TICKETS), max_size=TICKETS), min_size=1, max_size=6),
)
# A loss that overdraws, then a gain that makes it fit (each account): the loss must be booked with it.
@example(moneys=[-5000, -5000, 9999, 9999] + [0] * (TICKETS - 4), batches=[[1, 2], [3, 4]])
def test_pending_money_waits_only_while_it_cannot_fit_and_the_ledger_always_holds_the_booked_deals(
    poor_accounts, moneys, batches
):
    deals = the_deals([a.login for a in poor_accounts], moneys)
    clients = {a.login: a.client for a in poor_accounts}
    before = {login: trading_funds(client) for login, client in clients.items()}
    try:
        with transaction.atomic():
            for batch in batches:
                deals_ingest(live(), [deals[t] for t in batch])
                pending_deals_book(live())
            deals_ingest(live(), list(deals.values()))
            pending_deals_book(live())

            rows = {d.ticket: d for d in Deal.objects.all()}
            assert set(rows) == set(deals)
            for login, client in clients.items():
                mine = [row for row in rows.values() if row.login == login]
                booked = sum((r.profit for r in mine if r.booking == Deal.Booking.BOOKED), Decimal(0))
                pending = sum((r.profit for r in mine if r.booking == Deal.Booking.PENDING), Decimal(0))
                funds = trading_funds(client)
                assert funds == before[login] + booked >= 0
                # What still waits cannot be booked: it would overdraw (else the retry would have booked it).
                if any(r.booking == Deal.Booking.PENDING for r in mine):
                    assert funds + pending < 0
                for row in mine:
                    expected = {Deal.Booking.BOOKED, Deal.Booking.PENDING} if row.profit else {Deal.Booking.NONE}
                    assert row.booking in expected
            assert trading_results() == -sum(
                (r.profit for r in rows.values() if r.booking == Deal.Booking.BOOKED), Decimal(0)
            )
            assert ledger.ledger_problems() == []
            raise Rollback
    except Rollback:
        pass
