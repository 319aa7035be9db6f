"""What the benchmarks share: a throwaway tenant, where outbox events go, and latency percentiles.

Import after django.setup() (the scripts set up Django first)."""

from __future__ import annotations

import logging
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal as D

from django.db import connection
from django_tenants.utils import tenant_context

from brokerage.celery import app
from tenants.models import Domain, Tenant


def deal_terms(ticket: int) -> dict:
    """A deal's side, size, price and money, made from its ticket (cheap, deterministic, varied):
    even tickets close a position with a profit or loss, odd ones open it."""
    closing = ticket % 2 == 0
    return {
        "action": "sell" if ticket % 3 else "buy",
        "entry": "out" if closing else "in",
        "volume": D(ticket % 500 + 1) / 100,
        "price": D(108000 + ticket % 997) / 100000,
        "profit": D(ticket % 20001 - 10000) / 100 if closing else D(0),
        "commission": D("-3.50"),
        "swap": D(-(ticket % 90)) / 100 if closing else D(0),
        "comment": "",
        "order": ticket + 10_000_000,
        "position_id": ticket // 2 + 5_000_000,
    }


def percentiles(samples: list[float]) -> str:
    """Seconds in, "p50 .. p95 .. p99 .. ms" out."""
    ordered = sorted(samples)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000

    return f"p50 {statistics.median(ordered) * 1000:6.2f}  p95 {at(0.95):6.2f}  p99 {at(0.99):6.2f} ms"


def outbox_mode(queue: str) -> str:
    """With Redis, events go to a private queue purged at the end; without, they are delivered inline."""
    if app.conf.task_always_eager:
        logging.getLogger("kombu").setLevel(logging.ERROR)  # its in-memory broker warns on every connection
        return "eager delivery (no REDIS_URL)"
    app.conf.task_default_queue = queue
    return "sent to Redis"


@contextmanager
def bench_tenant(slug: str, name: str, *, queue: str, domain: str = "") -> Iterator[Tenant]:
    """A fresh tenant (a leftover of a killed run is dropped first), current while the block runs,
    dropped afterwards together with the events its run queued."""
    existing = Tenant.objects.filter(slug=slug).first()
    if existing is not None:
        existing.delete(force_drop=True)
    tenant = Tenant(schema_name=f"t_{slug}", name=name, slug=slug)
    tenant.save(verbosity=0)
    if domain:
        Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
    try:
        with tenant_context(tenant):
            yield tenant
    finally:
        connection.set_schema_to_public()
        tenant.delete(force_drop=True)
        if not app.conf.task_always_eager:
            with app.connection_for_write() as broker:
                broker.default_channel.queue_purge(queue)
