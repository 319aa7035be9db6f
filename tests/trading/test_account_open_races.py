"""Two opens for one client at the same moment: the account limit holds (real threads, real locks)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections
from django_tenants.utils import tenant_context

from brokerage.errors import ApplicationError
from tests import factories
from tests.trading.support import MemoryConnector
from trading import services
from trading.defaults import trading_defaults_ensure
from trading.models import TradingAccount, TradingPolicy

pytestmark = pytest.mark.django_db(transaction=True)


class SlowOpens(MemoryConnector):
    """Opening takes a while, as a remote server's does: long enough for the other thread to arrive."""

    def account_open(self, account):
        time.sleep(0.3)
        return super().account_open(account)


@pytest.mark.parametrize("kinds", [(False, False), (False, True)], ids=["both-live", "live-and-demo"])
def test_two_racing_opens_cannot_both_pass_the_account_limit(alpha, monkeypatch, kinds):
    with tenant_context(alpha):
        trading_defaults_ensure()
        policy = TradingPolicy.current()
        policy.max_accounts_per_client = 1
        policy.save()
        user = factories.client_user("racer@alpha.test")
    monkeypatch.setattr("trading.platforms.connector_for", lambda platform: connector)
    connector = SlowOpens()
    barrier = threading.Barrier(len(kinds))
    outcomes: list[str] = []

    def open_one(is_demo: bool):
        try:
            connection.set_tenant(alpha)
            barrier.wait()
            services.account_open(client=user.client, is_demo=is_demo, leverage=100, currency="USD", actor=user)
            outcomes.append("opened")
        except ApplicationError as refused:
            outcomes.append(refused.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=open_one, args=(is_demo,)) for is_demo in kinds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["A client may hold at most 1 trading accounts.", "opened"]
    with tenant_context(alpha):
        assert TradingAccount.objects.filter(client=user.client).count() == 1
    assert len(connector.accounts) == 1  # the refused one never reached the platform
