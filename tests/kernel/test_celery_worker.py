"""One task through a real Celery worker and Redis, in the tenant schema it was sent from."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from brokerage.celery import app
from brokerage.events import event_publish
from brokerage.models import OutboxEvent

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    """The test database, for the worker process; also when the server listens on a Unix socket."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host") or "127.0.0.1"
    if host.startswith("/"):
        return f"postgres://{db['USER']}{password}@/{db['NAME']}?host={host}"
    return f"postgres://{db['USER']}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture
def worker_queue():
    """A worker on a queue of its own, so a demo worker on the same Redis never takes these tasks."""
    if not settings.REDIS_URL:
        pytest.fail("REDIS_URL is not set: this test needs a real Redis (make test provides one)")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": _database_url(), "BROKERAGE_TESTING": "1"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "brokerage", "worker", "--pool", "solo", "-Q", queue, "-l", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    try:
        yield queue
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = previous
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode(errors="replace")
        if worker.returncode not in (0, -15):
            print(output)


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
