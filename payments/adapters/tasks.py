"""Celery entry points of the simulated providers."""

from celery import shared_task

from payments.adapters.registry import adapter_for
from payments.models import PaymentMethod


@shared_task(bind=True, acks_late=True, max_retries=6)
def simulator_webhook_deliver(self, method_id: int, body: str) -> int:
    """Sign and deliver one simulated webhook; retried with backoff while we answer 5xx.

    A 4xx answer (bad signature, unknown payment) is final, as it would be worth a look
    by a person at a real provider's dashboard; the delivery is stored either way.
    """
    from payments.webhooks import webhook_receive

    method = PaymentMethod.objects.get(pk=method_id)
    raw = body.encode()
    result = webhook_receive(method_code=method.code, headers=adapter_for(method).webhook_headers(raw), body=raw)
    if result.status >= 500:
        raise self.retry(countdown=min(300, 5 * 2**self.request.retries))
    return result.status
