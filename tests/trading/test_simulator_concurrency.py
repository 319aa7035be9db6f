"""Races on one simulator account with real threads, each on its own database connection."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests import factories
from tests.concurrency import race_each
from trading import services
from trading.connectors.base import NotEnoughMargin, TradingGatewayError
from trading.defaults import trading_defaults_ensure
from trading.models import Deal, Quote, SimAccount, SimDeal, SimPosition, Symbol, TradingAccount, TradingPolicy
from trading.simulator import engine

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def funded(alpha) -> TradingAccount:
    """A demo account with 1500 USD at 1:100: margin for one lot of EURUSD (1084.50), not two."""
    with tenant_context(alpha):
        trading_defaults_ensure()
        Quote.objects.update_or_create(
            symbol=Symbol.objects.get(name="EURUSD"),
            defaults={"bid": D("1.08440"), "ask": D("1.08460"), "at": timezone.now()},
        )
        TradingPolicy.objects.update(demo_balance=D(1500))
        carl = factories.client_user("carl@alpha.test")
        return services.account_open(client=carl.client, is_demo=True, leverage=100, currency="USD", actor=carl)


def test_two_orders_racing_for_the_margin_of_one_fill_exactly_once(alpha, funded):
    def order():
        return engine.order_market(funded.platform, funded.login, "EURUSD", "buy", D(1))

    results = race_each(alpha, [order, order])

    filled = [result for result in results if isinstance(result, SimDeal)]
    refused = [result for result in results if isinstance(result, NotEnoughMargin)]
    assert len(filled) == 1 and len(refused) == 1, results
    assert "10019 No money" in refused[0].message
    with tenant_context(alpha):
        row = SimAccount.objects.get(login=funded.login)
        assert row.balance == D("1496.50")
        assert SimPosition.objects.count() == 1
        assert SimDeal.objects.filter(action="buy").count() == 1
        state = engine.account_state(row.platform, row.login)
        assert state.margin == D("1084.50") and state.margin_free > 0
        # The push ran after the winner's commit: the back office has its deal and figures.
        assert Deal.objects.filter(login=funded.login, action="buy").count() == 1
        mirror = TradingAccount.objects.get(pk=funded.pk)
        assert (mirror.balance, mirror.margin) == (D("1496.50"), D("1084.50"))


def test_two_closes_of_one_position_book_one_out_deal(alpha, funded):
    with tenant_context(alpha):
        opened = engine.order_market(funded.platform, funded.login, "EURUSD", "buy", D("0.5"))

    def close():
        return engine.position_close(funded.platform, opened.position_id)

    results = race_each(alpha, [close, close])

    closed = [result for result in results if isinstance(result, SimDeal)]
    refused = [result for result in results if isinstance(result, TradingGatewayError)]
    assert len(closed) == 1 and len(refused) == 1, results
    assert "no open position" in refused[0].message
    with tenant_context(alpha):
        assert SimDeal.objects.filter(entry="out").count() == 1
        # 1500 − 1.75 − 1.75 commissions − 10.00 (bought at the ask, sold at the bid).
        assert SimAccount.objects.get(login=funded.login).balance == D("1486.50")


def test_a_withdrawal_racing_an_order_never_leaves_negative_free_margin(alpha, funded):
    def order():
        return engine.order_market(funded.platform, funded.login, "EURUSD", "buy", D(1))

    def withdraw():
        return engine.balance_operation(funded.platform, funded.login, D("-1000"), comment="bo-race", check_margin=True)

    results = race_each(alpha, [order, withdraw])

    assert sum(isinstance(result, NotEnoughMargin) for result in results) == 1, results
    with tenant_context(alpha):
        row = SimAccount.objects.get(login=funded.login)
        assert engine.account_state(row.platform, row.login).margin_free >= 0
        assert row.balance in (D("1496.50"), D("500.00"))
