"""Domain events through a transactional outbox.

`event_publish` writes the event row in the caller's transaction; after that
transaction commits, the event is handed to Celery. If the broker is down the
row stays undispatched and `outbox_relay` (beat, every tenant) sends it later.
Handlers register with `@subscribe(topic)`; each handler runs at most once per
event (a ProcessedEvent row in the handler's own transaction), so redelivery is harmless.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import schema_context

from brokerage.models import OutboxEvent, ProcessedEvent

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]
_HANDLERS: dict[str, list[Handler]] = defaultdict(list)

# An event sent to the broker but not delivered after this long is sent again,
# up to MAX_DISPATCH_ATTEMPTS times; after that it waits for a person (it stays in the table).
REDISPATCH_AFTER = timedelta(minutes=5)
MAX_DISPATCH_ATTEMPTS = 20


def subscribe(topic: str) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        if handler not in _HANDLERS[topic]:
            _HANDLERS[topic].append(handler)
        return handler

    return decorator


def handler_name(handler: Handler) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"


def event_publish(topic: str, payload: dict[str, Any]) -> OutboxEvent:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_publish must run inside the transaction of the change it reports")
    event = OutboxEvent.objects.create(topic=topic, payload=payload)
    # The commit may happen after the caller has left this schema: dispatch from this one.
    schema = connection.schema_name
    transaction.on_commit(lambda: _dispatch_in(schema, event.pk))
    return event


def _dispatch_in(schema: str, event_id: int) -> None:
    with schema_context(schema):
        event_dispatch(event_id)


def event_dispatch(event_id: int) -> bool:
    """Hand one event to the broker; False (and the row stays pending) if the broker is unreachable."""
    from brokerage.tasks import outbox_deliver

    OutboxEvent.objects.filter(pk=event_id).update(dispatch_attempts=F("dispatch_attempts") + 1)
    try:
        outbox_deliver.delay(event_id)
    except Exception:  # kombu raises several kinds; any of them means "not sent"
        logger.warning("outbox event %s not dispatched; the relay will retry", event_id, exc_info=True)
        return False
    OutboxEvent.objects.filter(pk=event_id).update(dispatched_at=timezone.now())
    return True


def event_deliver(event_id: int) -> None:
    """Run every handler of the event that has not yet run, each in its own transaction."""
    event = OutboxEvent.objects.get(pk=event_id)
    for handler in _HANDLERS.get(event.topic, []):
        name = handler_name(handler)
        try:
            with transaction.atomic():
                ProcessedEvent.objects.create(event=event, handler=name)
                handler(event)
        except IntegrityError:
            if not ProcessedEvent.objects.filter(event=event, handler=name).exists():
                raise
            logger.info("event %s already handled by %s", event_id, name)
    OutboxEvent.objects.filter(pk=event_id, delivered_at=None).update(delivered_at=timezone.now())


def events_pending_dispatch(now=None):
    """Events that never reached the broker, or reached it and were not delivered in time."""
    now = now or timezone.now()
    never_sent = OutboxEvent.objects.filter(
        delivered_at=None, dispatched_at=None, created_at__lt=now - timedelta(seconds=10)
    )
    stuck = OutboxEvent.objects.filter(delivered_at=None, dispatched_at__lt=now - REDISPATCH_AFTER)
    return (never_sent | stuck).filter(dispatch_attempts__lt=MAX_DISPATCH_ATTEMPTS).order_by("id")


def outbox_relay_once(limit: int = 500) -> int:
    sent = 0
    for event_id in events_pending_dispatch().values_list("pk", flat=True)[:limit]:
        if not event_dispatch(event_id):
            break  # the broker is still down: stop hammering it, beat will call again
        sent += 1
    return sent
