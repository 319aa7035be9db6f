"""Kernel benchmark: audit trail writes, outbox publishes and page/API latency.

Each figure is printed beside a baseline measured in the same run on the same
machine, so the cost of the mechanism shows, not the speed of the box:
  - audit_log (advisory lock + hash chain) vs. a plain INSERT + commit of the same row
  - event_publish in its own transaction vs. a plain INSERT of the same row in one
  - /ops/crm/clients/ and /api/v1/clients/ p50/p95 vs. the bare SQL query behind them

Run: `.venv/bin/python bench/kernel.py` (uses DATABASE_URL like the demo). It creates a
throwaway tenant `bench` and drops it again at the end.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")
os.environ.setdefault("BROKERAGE_DEMO", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from brokerage.audit import audit_log  # noqa: E402
from brokerage.events import event_publish  # noqa: E402
from brokerage.models import AuditRecord, OutboxEvent, User  # noqa: E402
from brokerage.staff import roles_sync  # noqa: E402
from crm.models import Client  # noqa: E402
from tenants.models import Domain, Tenant  # noqa: E402

AUDIT_ROWS = 2000
EVENTS = 2000
CLIENTS = 5000
REQUESTS = 200
HOST = "bench.localhost"


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"p50 {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def bench_audit(actor: User) -> None:
    start = time.perf_counter()
    for index in range(AUDIT_ROWS):
        audit_log(actor=actor, action="bench.write", obj=actor, after={"n": index})
    chained = time.perf_counter() - start

    start = time.perf_counter()
    for index in range(AUDIT_ROWS):
        with transaction.atomic():
            AuditRecord.objects.create(
                occurred_at=timezone.now(),
                actor_id=actor.pk,
                actor_email=actor.email,
                action="bench.raw",
                object_type="brokerage.User",
                object_id=str(actor.pk),
                after={"n": index},
                previous_hash="0" * 64,
                record_hash=f"{index:064d}",
            )
    raw = time.perf_counter() - start
    print(
        f"audit_log, one transaction each   {rate(AUDIT_ROWS, chained):>12}   "
        f"baseline INSERT + commit of the same row {rate(AUDIT_ROWS, raw):>9}"
    )


def bench_outbox() -> None:
    """With Redis, dispatch is a send to a private queue that is purged afterwards; without, eager delivery."""
    from brokerage.celery import app

    app.conf.task_default_queue = "bench-kernel"
    mode = "eager delivery" if app.conf.task_always_eager else "send to Redis"
    start = time.perf_counter()
    for index in range(EVENTS):
        with transaction.atomic():
            event_publish("bench.nothing", {"n": index})
    published = time.perf_counter() - start

    start = time.perf_counter()
    for index in range(EVENTS):
        with transaction.atomic():
            OutboxEvent.objects.create(topic="bench.raw", payload={"n": index}, delivered_at=timezone.now())
    raw = time.perf_counter() - start
    if not app.conf.task_always_eager:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("bench-kernel")
    print(
        f"event_publish + commit + {mode:<14} {rate(EVENTS, published):>9}   "
        f"baseline INSERT + commit              {rate(EVENTS, raw):>12}"
    )


def bench_pages(tenant: Tenant, owner: User) -> None:
    Client.objects.bulk_create(
        [
            Client(first_name=f"First{i}", last_name=f"Last{i}", email=f"bench{i}@example.test", country="GB")
            for i in range(CLIENTS)
        ],
        batch_size=2000,
    )
    http = HttpClient(HTTP_HOST=HOST)
    http.force_login(owner)
    from rest_framework.authtoken.models import Token

    token = Token.objects.get_or_create(user=owner)[0].key

    def timed(call) -> list[float]:
        call()  # warm up caches and connections
        samples = []
        for _ in range(REQUESTS):
            start = time.perf_counter()
            response = call()
            samples.append(time.perf_counter() - start)
            assert response is None or response.status_code == 200, response.status_code
        return samples

    page = timed(lambda: http.get("/ops/crm/clients/"))
    api = timed(lambda: http.get("/api/v1/clients/", HTTP_AUTHORIZATION=f"Token {token}"))

    def bare_sql():
        connection.set_tenant(tenant)
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM crm_client ORDER BY created_at DESC, id DESC LIMIT 25")
            cursor.fetchall()
            cursor.execute("SELECT count(*) FROM crm_client")
            cursor.fetchall()

    sql = timed(bare_sql)
    print(f"GET /ops/crm/clients/ ({CLIENTS} clients)   {percentiles(page)}")
    print(f"GET /api/v1/clients/                 {percentiles(api)}")
    print(f"baseline: the bare SQL behind them   {percentiles(sql)}")


def main() -> None:
    settings.BROKERAGE_REQUIRE_STAFF_MFA = False  # the bench signs in without a TOTP code
    Tenant.objects.filter(slug="bench").first() and Tenant.objects.get(slug="bench").delete(force_drop=True)
    tenant = Tenant(schema_name="t_bench", name="Bench", slug="bench")
    tenant.save(verbosity=0)
    Domain.objects.create(domain=HOST, tenant=tenant, is_primary=True)
    try:
        with tenant_context(tenant):
            roles_sync()
            owner = User.objects.create_user("owner@bench.test", "bench-password-1")
            from django.contrib.auth.models import Group

            owner.groups.add(Group.objects.get(name="owner"))
            print(f"kernel benchmark on {os.cpu_count()} cores, PostgreSQL {connection.pg_version // 10000}")
            bench_audit(owner)
            bench_outbox()
            bench_pages(tenant, owner)
    finally:
        connection.set_schema_to_public()
        tenant.delete(force_drop=True)


if __name__ == "__main__":
    main()
