"""The pull safety net: deals since the cursor, positions, states; a platform down then up loses nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from payments import ledger
from payments.wallets.trading import trading_transfer_send, transfer_to_trading
from tests.trading.support import deal, wallet_fund
from tests.trading.test_sync_support import account_funded, live, trading_funds
from trading.connectors.base import PositionData
from trading.models import Deal, Platform, Position, SyncProblem, TradingAccount
from trading.sync import pull, tasks
from trading.sync.pull import platform_sync
from trading.sync.state import account_is_stale

Kind = SyncProblem.Kind


@pytest.fixture
def account(memory_platform, carl):
    return account_funded(carl.client, carl, "200")


def trade(connector, login, at, profit: str):
    return connector.trade(login, deal(time=at, profit=Decimal(profit), commission=Decimal(0)))


def tickets() -> list[int]:
    return sorted(Deal.objects.values_list("ticket", flat=True))


def test_a_platform_down_then_up_resumes_from_its_cursor_without_losing_or_doubling(account, carl, memory_platform):
    now = timezone.now()
    first = trade(memory_platform, account.login, now - timedelta(seconds=30), "10")
    result = platform_sync(live(), now=now)
    assert result.inserted == 2 and not result.error  # the transfer's deal and the trade
    assert live().deals_synced_to == now

    memory_platform.down = True
    missed = trade(memory_platform, account.login, now + timedelta(seconds=10), "7")
    down = platform_sync(live(), now=now + timedelta(seconds=20))
    assert "Connection refused" in down.error
    platform = live()
    assert platform.deals_synced_to == now  # not moved
    assert platform.health == Platform.Health.ERROR
    problem = SyncProblem.objects.get(kind=Kind.CONNECTION, resolved_at__isnull=True)
    assert "nothing is lost" in problem.message
    platform_sync(live(), now=now + timedelta(seconds=25))
    assert SyncProblem.objects.get(kind=Kind.CONNECTION).occurrences == 2

    memory_platform.down = False
    later = trade(memory_platform, account.login, now + timedelta(seconds=40), "-3")
    back = platform_sync(live(), now=now + timedelta(seconds=60))
    # `first` and the transfer's deal are re-read by the overlap and skipped.
    assert (back.inserted, back.duplicates) == (2, 2)
    assert tickets() == sorted([memory_platform.deal_list[0].ticket, first.ticket, missed.ticket, later.ticket])
    assert live().health == Platform.Health.OK
    assert not SyncProblem.objects.filter(kind=Kind.CONNECTION, resolved_at__isnull=True).exists()
    assert trading_funds(carl.client) == Decimal("214")  # 200 transferred (not booked again) + 10 + 7 - 3
    assert ledger.ledger_problems() == []


def test_a_deal_written_late_with_an_earlier_time_is_caught_by_the_overlap(account, memory_platform):
    now = timezone.now()
    platform_sync(live(), now=now)
    late = trade(memory_platform, account.login, now - timedelta(seconds=50), "5")  # reported after the cursor passed
    platform_sync(live(), now=now + timedelta(seconds=5))
    assert late.ticket in tickets()


def test_a_long_outage_is_caught_up_window_by_window(account, memory_platform, monkeypatch):
    monkeypatch.setattr(pull, "WINDOW", timedelta(hours=1))
    monkeypatch.setattr(pull, "MAX_WINDOWS", 3)
    start = timezone.now() - timedelta(hours=5)
    Platform.objects.filter(code="sim-live").update(deals_synced_to=start)
    for hour in range(5):
        trade(memory_platform, account.login, start + timedelta(hours=hour, minutes=30), "1")
    first = platform_sync(live(), now=start + timedelta(hours=5))
    # Each window starts OVERLAP before the previous end: three windows reach 3 × (1 h - 2 min).
    assert first.inserted == 3 and live().deals_synced_to == start + 3 * (timedelta(hours=1) - pull.OVERLAP)
    second = platform_sync(live(), now=start + timedelta(hours=5))
    assert second.inserted == 3  # the last two trades and the transfer's deal of a moment ago
    assert live().deals_synced_to == start + timedelta(hours=5)
    assert len(tickets()) == 6


def test_open_positions_are_replaced_by_what_the_platform_reports(account, memory_platform):
    now = timezone.now()
    common = {"symbol": "EURUSD", "side": "buy", "volume": Decimal(1), "open_price": Decimal("1.08")}
    memory_platform.position_list = [
        PositionData(ticket=t, login=account.login, current_price=Decimal("1.09"), profit=Decimal(100),
                     swap=Decimal(0), opened_at=now, **common)
        for t in (1, 2)
    ]  # fmt: skip
    assert platform_sync(live(), now=now).positions == 2
    memory_platform.position_list = memory_platform.position_list[1:]
    platform_sync(live(), now=now + timedelta(seconds=5))
    assert list(Position.objects.values_list("ticket", flat=True)) == [2]


def test_two_runs_never_sync_one_platform_at_once(account):
    other = connections.create_connection("default")
    key = f"trading-sync:{connection.schema_name}:{live().pk}"
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [key])
        result = platform_sync(live())
        assert result.skipped and live().deals_synced_to is None
    finally:
        other.close()
    assert not platform_sync(live()).skipped


def test_the_beat_task_syncs_every_active_platform(account, memory_platform):
    Platform.objects.filter(code="sim-demo").update(is_active=False)
    assert tasks.platforms_sync() == 1  # the transfer's deal
    assert live().last_sync_at is not None
    assert Platform.objects.get(code="sim-demo").deals_synced_to is None


def test_account_states_are_refreshed_and_go_stale_while_the_platform_is_down(account, memory_platform):
    memory_platform.accounts[account.login]["balance"] = Decimal("321.00")
    assert tasks.account_states_refresh() == 1
    account.refresh_from_db()
    assert account.balance == Decimal("321.00") and not account_is_stale(account)
    memory_platform.down = True
    assert tasks.account_states_refresh() == 0
    assert live().health == Platform.Health.ERROR
    assert SyncProblem.objects.filter(kind=Kind.CONNECTION, resolved_at__isnull=True).exists()
    assert account_is_stale(account, now=account.state_at + timedelta(seconds=301))
    assert not account_is_stale(account, now=account.state_at + timedelta(seconds=299))
    memory_platform.down = False
    tasks.account_states_refresh()
    assert not SyncProblem.objects.filter(kind=Kind.CONNECTION, resolved_at__isnull=True).exists()


def test_an_account_the_platform_no_longer_knows_is_reported(account, memory_platform):
    del memory_platform.accounts[account.login]
    assert tasks.account_states_refresh() == 0
    assert SyncProblem.objects.get(kind=Kind.UNKNOWN_LOGIN).subject == account.login


def test_a_pending_loss_is_booked_by_the_next_sync_once_a_transfer_brought_the_funds(memory_platform, carl):
    account = account_funded(carl.client, carl, "100")
    now = timezone.now()
    trade(memory_platform, account.login, now - timedelta(seconds=30), "-150")
    platform_sync(live(), now=now)
    loss = Deal.objects.get(action=Deal.Action.BUY)
    assert loss.booking == Deal.Booking.PENDING
    assert trading_funds(carl.client) == Decimal("100")

    # The client moves 100 more from the wallet: the platform's deal for it is our own transfer, not new money.
    wallet_fund(carl.client, "100", reference="top-up")
    transfer = transfer_to_trading(
        client=carl.client, currency="USD", login=account.login, amount=Decimal("100"), actor=carl
    )
    trading_transfer_send(transfer.pk)
    platform_sync(live(), now=now + timedelta(seconds=5))
    loss.refresh_from_db()
    assert loss.booking == Deal.Booking.BOOKED
    assert trading_funds(carl.client) == Decimal("50")  # 100 + 100 - 150, as on the platform
    assert not SyncProblem.objects.filter(kind=Kind.BOOKING, resolved_at__isnull=True).exists()
    assert ledger.ledger_problems() == []
    platform_sync(live(), now=now + timedelta(seconds=10))  # nothing left to book, nothing booked twice
    assert trading_funds(carl.client) == Decimal("50")


def test_deals_of_a_login_unknown_when_they_came_are_attached_and_booked_once_the_account_exists(memory_platform, carl):
    now = timezone.now()
    trade_deal = deal(ticket=7001, login="500777", time=now - timedelta(seconds=30), profit=Decimal("30"))
    memory_platform.deal_list.append(replace(trade_deal, commission=Decimal(0)))
    platform_sync(live(), now=now)
    orphan = Deal.objects.get(ticket=7001)
    assert orphan.account is None and orphan.booking == Deal.Booking.PENDING
    assert SyncProblem.objects.get(kind=Kind.UNKNOWN_LOGIN, resolved_at__isnull=True).subject == "500777"

    # Staff import the account, first without a client: attached, still waiting for a client.
    account = TradingAccount.objects.create(
        login="500777", platform=live(), group="g", leverage=100, currency="USD", is_demo=False
    )
    platform_sync(live(), now=now + timedelta(seconds=5))
    orphan.refresh_from_db()
    assert orphan.account == account and orphan.booking == Deal.Booking.PENDING
    assert not SyncProblem.objects.filter(kind=Kind.UNKNOWN_LOGIN, resolved_at__isnull=True).exists()

    TradingAccount.objects.filter(pk=account.pk).update(client=carl.client)
    platform_sync(live(), now=now + timedelta(seconds=10))
    orphan.refresh_from_db()
    assert orphan.booking == Deal.Booking.BOOKED
    assert trading_funds(carl.client) == Decimal("30")
    assert ledger.ledger_problems() == []


def test_beat_asks_a_platform_that_is_down_once_a_minute_not_every_five_seconds(account, memory_platform):
    memory_platform.down = True
    first = {result.platform: result for result in pull.platforms_sync_all()}
    assert first["sim-live"].error and not first["sim-live"].skipped
    asked = len(memory_platform.calls)
    again = {result.platform: result for result in pull.platforms_sync_all()}
    assert again["sim-live"].skipped and len(memory_platform.calls) == asked
    problem = SyncProblem.objects.get(kind="connection", subject="sim-live")
    assert ".." not in problem.message

    memory_platform.down = False
    Platform.objects.update(health_checked_at=timezone.now() - pull.DOWN_RETRY)
    later = {result.platform: result for result in pull.platforms_sync_all()}
    assert not later["sim-live"].error and not later["sim-live"].skipped
    assert Platform.objects.get(code="sim-live").health == Platform.Health.OK
