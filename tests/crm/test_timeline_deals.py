"""Deals on the client timeline: one line per live account per UTC day, added to as batches arrive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.events import event_deliver
from brokerage.models import OutboxEvent
from crm.models import Client, TimelineEvent
from tests import factories
from tests.concurrency import race_each
from tests.trading.conftest import memory_platform  # noqa: F401 - fixture
from tests.trading.support import MemoryConnector, deal
from trading import services as trading
from trading.crm_hooks import DealDay
from trading.defaults import trading_defaults_ensure
from trading.sync.ingest import deals_ingest

TOPIC = "trading.deals_ingested"


def deal_lines(client: Client) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(client=client, topic=TOPIC).order_by("occurred_at", "id"))


def yesterday_at(hour: int, minute: int = 0) -> datetime:
    day = (timezone.now() - timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.fixture
def live(in_alpha, memory_platform):  # noqa: F811
    carl = factories.client_user("carl@alpha.test").client
    account = trading.account_open(client=carl, is_demo=False, leverage=100, currency="USD", actor=carl.user)
    TimelineEvent.objects.all().delete()
    return account


def ingest(account, deals, capture) -> None:
    with capture(execute=True):
        deals_ingest(account.platform, deals)


def test_one_by_one_deals_of_a_day_are_one_line_with_the_sums(live, django_capture_on_commit_callbacks):
    start = yesterday_at(9)
    profits = [D("120.25"), D("-40.10"), D("0.35")]
    ingest(
        live,
        [deal(ticket=1, login=live.login, entry="in", profit=D(0), time=start)],
        django_capture_on_commit_callbacks,
    )
    for index, profit in enumerate(profits, start=2):
        deal_time = start + timedelta(minutes=index)
        ingest(
            live,
            [deal(ticket=index, login=live.login, profit=profit, commission=D("-1.00"), time=deal_time)],
            django_capture_on_commit_callbacks,
        )

    [line] = deal_lines(live.client)
    # (120.25 - 1) + (-40.10 - 1) + (0.35 - 1) = 77.50
    assert line.title == f"4 deals on {live.login}, {start.date().isoformat()} UTC (3 closed, P/L +77.50 USD)"
    assert line.occurred_at == start + timedelta(minutes=4)
    assert DealDay.parse(line.detail) == DealDay(4, 3, D("77.50"), "USD")
    live.client.refresh_from_db()
    assert live.client.last_activity_at == start + timedelta(minutes=4)
    assert live.client.last_trade_at == start + timedelta(minutes=4)


def test_a_losing_day_and_a_day_with_no_closed_deal_read_plainly(live, django_capture_on_commit_callbacks):
    ingest(
        live,
        [deal(ticket=1, login=live.login, profit=D("-10.00"), commission=D("-0.50"), time=yesterday_at(8))],
        django_capture_on_commit_callbacks,
    )
    today = timezone.now().replace(second=0, microsecond=0) - timedelta(seconds=1)
    ingest(live, [deal(ticket=2, login=live.login, entry="in", time=today)], django_capture_on_commit_callbacks)

    old, new = deal_lines(live.client)
    assert old.title == f"1 deal on {live.login}, {yesterday_at(8).date().isoformat()} UTC (1 closed, P/L -10.50 USD)"
    assert new.title == f"1 deal on {live.login}, {today.date().isoformat()} UTC"


def test_a_batch_across_midnight_goes_to_the_line_of_each_day(live, django_capture_on_commit_callbacks):
    midnight = yesterday_at(0)
    ingest(
        live,
        [
            deal(ticket=1, login=live.login, time=midnight - timedelta(minutes=1)),
            deal(ticket=2, login=live.login, time=midnight),
            deal(ticket=3, login=live.login, entry="in", time=midnight + timedelta(minutes=1)),
        ],
        django_capture_on_commit_callbacks,
    )
    before, after = deal_lines(live.client)
    assert before.source == f"deals:{live.pk}:{(midnight - timedelta(days=1)).date().isoformat()}"
    assert before.title.startswith(f"1 deal on {live.login}, {(midnight - timedelta(days=1)).date().isoformat()} UTC")
    assert after.source == f"deals:{live.pk}:{midnight.date().isoformat()}"
    assert after.title == f"2 deals on {live.login}, {midnight.date().isoformat()} UTC (1 closed, P/L +46.50 USD)"


def test_each_account_has_its_own_line_in_its_currency(live, django_capture_on_commit_callbacks):
    euro = trading.account_open(client=live.client, is_demo=False, leverage=100, currency="EUR", actor=live.client.user)
    at = yesterday_at(12)
    ingest(
        live,
        [deal(ticket=1, login=live.login, time=at), deal(ticket=2, login=euro.login, time=at)],
        django_capture_on_commit_callbacks,
    )
    titles = sorted(line.title for line in deal_lines(live.client))
    day = at.date().isoformat()
    assert titles == sorted(
        [
            f"1 deal on {live.login}, {day} UTC (1 closed, P/L +46.50 USD)",
            f"1 deal on {euro.login}, {day} UTC (1 closed, P/L +46.50 EUR)",
        ]
    )


def test_a_redelivered_event_is_not_counted_twice(live, django_capture_on_commit_callbacks):
    at = yesterday_at(15)
    ingest(live, [deal(ticket=1, login=live.login, time=at)], django_capture_on_commit_callbacks)
    event = OutboxEvent.objects.filter(topic=TOPIC).latest("id")
    event_deliver(event.pk)
    event_deliver(event.pk)
    [line] = deal_lines(live.client)
    assert DealDay.parse(line.detail) == DealDay(1, 1, D("46.50"), "USD")


def test_figures_of_different_currencies_are_never_added():
    with pytest.raises(ValueError, match="cannot be added"):
        DealDay(1, 1, D(1), "USD") + DealDay(1, 1, D(1), "EUR")
    assert DealDay.parse("Deals: 2\nClosed: x\nP/L: 1 USD") is None
    figures = DealDay(3, 2, D("-0.00012345"), "JPY")
    assert DealDay.parse(figures.detail()) == figures


# Concurrency -----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_adding_batches_of_one_account_and_day_lose_nothing(alpha, monkeypatch):
    connector = MemoryConnector()
    monkeypatch.setattr("trading.platforms.connector_for", lambda platform: connector)
    # Events stay in the outbox: the test delivers them itself, the last two from two threads at once.
    monkeypatch.setattr("brokerage.events._dispatch_in", lambda schema, event_id: None)
    at = yesterday_at(11)
    with tenant_context(alpha):
        trading_defaults_ensure()
        carl = factories.client_user("carl@alpha.test").client
        account = trading.account_open(client=carl, is_demo=False, leverage=100, currency="USD", actor=carl.user)
        batches = [
            [deal(ticket=1, login=account.login, profit=D("5.00"), time=at)],
            [deal(ticket=2, login=account.login, profit=D("10.00"), time=at + timedelta(minutes=1))],
            [
                deal(ticket=3, login=account.login, profit=D("20.00"), time=at + timedelta(minutes=2)),
                deal(ticket=4, login=account.login, entry="in", time=at + timedelta(minutes=3)),
            ],
        ]
        for batch in batches:
            deals_ingest(account.platform, batch)
        existing, first, second = OutboxEvent.objects.filter(topic=TOPIC).order_by("id")
        event_deliver(existing.pk)  # the day's line exists: both workers add to it

    results = race_each(alpha, [lambda: event_deliver(first.pk), lambda: event_deliver(second.pk)])

    assert not [result for result in results if isinstance(result, Exception)], results
    with tenant_context(alpha):
        [line] = TimelineEvent.objects.filter(client=carl, topic=TOPIC)
        # (5 - 3.50) + (10 - 3.50) + (20 - 3.50) = 24.50
        assert line.title == f"4 deals on {account.login}, {at.date().isoformat()} UTC (3 closed, P/L +24.50 USD)"
        assert line.occurred_at == at + timedelta(minutes=3)
