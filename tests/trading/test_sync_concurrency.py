"""Real threads with their own PostgreSQL connections ingesting overlapping batches at the same moment."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from payments import ledger
from payments.models import LedgerTransaction
from tests.concurrency import race
from tests.trading.support import deal
from tests.trading.test_sync_support import account_funded, live, trading_funds, trading_results
from trading.connectors.base import PositionData
from trading.models import Deal, Position
from trading.sync.ingest import deals_ingest, positions_store

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 4


def test_overlapping_batches_at_once_store_and_book_each_deal_exactly_once(memory_platform, carl, alpha):
    first = account_funded(carl.client, carl, "5000")
    second = account_funded(carl.client, carl, "5000")
    draw = random.Random(7)
    deals = [
        deal(
            ticket=ticket,
            login=(first, second)[ticket % 2].login,
            time=datetime(2025, 3, 3, tzinfo=UTC),
            profit=Decimal(draw.randrange(-5000, 5000)) / 100,
            commission=Decimal("-1.25"),
        )
        for ticket in range(1, 201)
    ]
    # Each thread gets an overlapping slice, shuffled: every deal is in two or more batches.
    batches = []
    for index in range(THREADS):
        batch = deals[index * 40 : index * 40 + 80] + deals[-20:]
        draw.shuffle(batch)
        batches.append(batch)
    batches[0] += deals[160:180]
    results = race(alpha, lambda index: deals_ingest(live(), batches[index]), count=THREADS)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.inserted for r in results) == 200
    assert Deal.objects.count() == 200
    assert set(Deal.objects.values_list("booking", flat=True)) == {Deal.Booking.BOOKED}
    total = sum((d.profit + d.commission for d in deals), Decimal(0))
    assert trading_funds(carl.client) == Decimal("10000") + total
    assert trading_results() == -total
    booked = LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.TRADING_RESULT)
    assert sum(len(t.metadata["tickets"]) for t in booked) == 200
    assert ledger.ledger_problems() == []


def test_the_same_batch_sent_by_many_threads_is_taken_once(memory_platform, carl, alpha):
    account = account_funded(carl.client, carl, "100")
    batch = [deal(ticket=t, login=account.login, profit=Decimal("2"), commission=Decimal(0)) for t in range(1, 31)]
    results = race(alpha, lambda index: deals_ingest(live(), batch), count=6)
    assert sorted(r.inserted for r in results) == [0, 0, 0, 0, 0, 30]
    assert trading_funds(carl.client) == Decimal("160")
    assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.TRADING_RESULT).count() == 1
    assert ledger.ledger_problems() == []


def open_position(ticket: int, login: str) -> PositionData:
    return PositionData(
        ticket=ticket,
        login=login,
        symbol="EURUSD",
        side="buy",
        volume=Decimal("1"),
        open_price=Decimal("1.08"),
        current_price=Decimal("1.09"),
        profit=Decimal("100"),
        swap=Decimal("0"),
        opened_at=datetime(2025, 3, 3, tzinfo=UTC),
    )


def test_a_positions_snapshot_locks_its_rows_in_ticket_order_before_writing_any(memory_platform, alpha):
    """Waiting for the lowest ticket, a snapshot holds no higher one: a per-login push cannot deadlock with it."""
    platform = live()
    positions_store(platform, [open_position(t, "500100") for t in (1, 2, 3, 4)], None)
    holding, release = threading.Event(), threading.Event()
    snapshot: dict = {}

    def hold_lowest() -> None:  # another writer (a push) in the middle of its own work on ticket 1
        with tenant_context(alpha):
            try:
                with transaction.atomic():
                    list(Position.objects.select_for_update().filter(platform=platform, ticket=1))
                    holding.set()
                    release.wait(30)
            finally:
                connection.close()

    def store() -> None:  # the pull's snapshot: 3 and 4 closed, 1 and 2 still open
        with tenant_context(alpha):
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    snapshot["pid"] = cursor.fetchone()[0]
                snapshot["result"] = positions_store(
                    platform, [open_position(1, "500100"), open_position(2, "500100")], None
                )
            except Exception as error:  # noqa: BLE001 - asserted on below
                snapshot["result"] = error
            finally:
                connection.close()

    holder = threading.Thread(target=hold_lowest)
    holder.start()
    assert holding.wait(10)
    writer = threading.Thread(target=store)
    writer.start()
    try:
        deadline = time.monotonic() + 10
        waiting = False
        while not waiting and time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", [snapshot.get("pid", 0)]
                )
                row = cursor.fetchone()
            waiting = bool(row and row[0])
            time.sleep(0.02)
        assert waiting, "the snapshot never waited for ticket 1"
        # While it waits, tickets 3 and 4 (which it is about to delete) are still free.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT ticket FROM trading_position WHERE platform_id = %s AND ticket IN (3, 4) FOR UPDATE NOWAIT",
                [platform.pk],
            )
            assert sorted(row[0] for row in cursor.fetchall()) == [3, 4]
    finally:
        release.set()
        holder.join()
        writer.join()
    assert snapshot["result"] == 2
    assert sorted(Position.objects.values_list("ticket", flat=True)) == [1, 2]
