"""The trading beat tasks through a real Celery worker and Redis, in the tenant they were sent from."""

import time

import pytest
from django_tenants.utils import tenant_context

from trading.defaults import trading_defaults_ensure
from trading.models import Platform, Quote
from trading.simulator.feed import quotes_ensure
from trading.simulator.tasks import simulator_tick
from trading.sync.tasks import platforms_sync

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _wait_for(check, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_the_feed_tick_and_the_sync_run_in_the_tenant_they_were_sent_from(alpha, beta, worker_queue):
    with tenant_context(beta):
        trading_defaults_ensure()
        quotes_ensure()
        beta_quotes = dict(Quote.objects.values_list("symbol__name", "at"))
    with tenant_context(alpha):
        trading_defaults_ensure()
        quotes_ensure()
        before = dict(Quote.objects.values_list("symbol__name", "at"))
        simulator_tick.delay()
        platforms_sync.delay()

        def moved() -> bool:
            return Quote.objects.filter(at__gt=before["EURUSD"], symbol__name="EURUSD").exists()

        def synced() -> bool:
            return not Platform.objects.filter(is_active=True, last_sync_at__isnull=True).exists()

        assert _wait_for(moved), "the worker did not move alpha's prices within 60 s"
        assert _wait_for(synced), "the worker did not sync alpha's platforms within 60 s"
    with tenant_context(beta):  # beta's market was not touched by alpha's tasks
        assert dict(Quote.objects.values_list("symbol__name", "at")) == beta_quotes
        assert not Platform.objects.filter(last_sync_at__isnull=False).exists()
