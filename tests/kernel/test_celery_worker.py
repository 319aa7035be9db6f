"""One task through a real Celery worker and Redis, in the tenant schema it was sent from."""

import time

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from brokerage.events import event_publish
from brokerage.models import OutboxEvent

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_an_event_published_in_a_tenant_is_delivered_by_a_real_worker_in_that_tenant(alpha, beta, worker_queue):
    with tenant_context(alpha), transaction.atomic():
        event = event_publish("crm.client.registered", {"client_id": 1})
    # The same id exists in no other schema: had the worker run in public or beta, it would fail.
    with tenant_context(beta):
        assert not OutboxEvent.objects.filter(pk=event.pk).exists()

    deadline = time.monotonic() + 60
    with tenant_context(alpha):
        while time.monotonic() < deadline:
            event.refresh_from_db()
            if event.delivered_at is not None:
                break
            time.sleep(0.2)
        assert event.dispatched_at is not None
        assert event.delivered_at is not None, "the worker did not deliver the event within 60 s"
