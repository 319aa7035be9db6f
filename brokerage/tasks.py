from celery import shared_task

from brokerage import events, idempotency


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=300, max_retries=8)
def outbox_deliver(event_id: int) -> None:
    events.event_deliver(event_id)


@shared_task
def outbox_relay() -> int:
    return events.outbox_relay_once()


@shared_task
def idempotency_purge() -> int:
    return idempotency.idempotency_purge()
