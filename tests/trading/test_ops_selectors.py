"""The reads behind /ops/trading/: keyset pages over deals, and the client summary's edge cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.models import Client
from tests import factories
from trading import selectors
from trading.models import Deal, Platform, Symbol, TradingAccount
from trading.ops.paging import keyset_page

pytestmark = pytest.mark.django_db

START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seconds=st.lists(st.integers(min_value=0, max_value=6), min_size=0, max_size=25),
    size=st.integers(min_value=1, max_value=7),
)
def test_keyset_pages_show_every_deal_once_in_order_both_ways(memory_platform, seconds, size):
    """Many deals share a second (ties on time): walking older pages, then back newer, loses and repeats none."""
    Deal.objects.all().delete()
    platform = Platform.objects.get(code="sim-live")
    for ticket, second in enumerate(seconds, start=1):
        Deal.objects.create(
            platform=platform, ticket=ticket, login="1", time=START + timedelta(seconds=second), action="buy"
        )
    expected = list(Deal.objects.order_by("-time", "-id").values_list("id", flat=True))

    pages, cursor = [], ""
    while True:
        page = keyset_page(Deal.objects.all(), after=cursor, size=size)
        pages.append([row.pk for row in page])
        assert len(page) <= size
        if not page.older:
            break
        cursor = page.older
    assert [pk for rows in pages for pk in rows] == expected

    # Back from the last page to the first through the "newer" cursors.
    back, page = [], keyset_page(Deal.objects.all(), after=cursor, size=size) if cursor else None
    while page is not None and page.newer:
        page = keyset_page(Deal.objects.all(), before=page.newer, size=size)
        back.append([row.pk for row in page])
    assert back == list(reversed(pages[:-1]))


@pytest.mark.parametrize("cursor", ["", "nonsense", "2024-03-01T12:00:00~x", "2024-03-01T12:00:00~5", "~~"])
def test_a_malformed_or_naive_cursor_shows_the_first_page(memory_platform, cursor):
    platform = Platform.objects.get(code="sim-live")
    for ticket in range(3):
        Deal.objects.create(platform=platform, ticket=ticket, login="1", time=START, action="buy")
    assert [row.ticket for row in keyset_page(Deal.objects.all(), after=cursor, size=2)] == [2, 1]


def test_summary_without_a_rate_or_a_known_symbol_says_so(memory_platform):
    client = Client.objects.get(user=factories.client_user("nora@alpha.test"))
    platform = Platform.objects.get(code="sim-live")
    account = TradingAccount.objects.create(
        login="500100", platform=platform, client=client, group="g", leverage=100, currency="EUR"
    )
    common = {"platform": platform, "login": "500100", "account": account, "time": START, "action": "buy"}
    # GBPUSD: profit in USD, no quote and no USD/EUR rate anywhere.
    Deal.objects.create(
        ticket=1, symbol_name="GBPUSD", symbol=Symbol.objects.get(name="GBPUSD"), volume=D("1"), price=D("1.25"),
        profit=D("10"), **common,
    )  # fmt: skip
    summary = selectors.client_trading_summary(client)
    row = summary.accounts[0]
    assert (row.deal_count, row.volume_lots, row.realised_pnl) == (1, D("1"), D("10"))
    assert row.notional is None and row.notional_gaps == ["USD/EUR"]
    assert summary.totals[0]["complete"] is False

    Deal.objects.create(ticket=2, symbol_name="ZZZ", volume=D("1"), price=D("2"), **common)
    Deal.objects.filter(ticket=1).delete()
    row = selectors.client_trading_summary(client).accounts[0]
    assert row.notional is None and row.notional_gaps == ["unknown symbol ZZZ"]


def test_summary_of_a_client_without_accounts_is_empty(memory_platform):
    client = Client.objects.get(user=factories.client_user("empty@alpha.test"))
    summary = selectors.client_trading_summary(client)
    assert (summary.accounts, summary.deal_count, summary.volume_lots, summary.totals) == ([], 0, D(0), [])
