"""What the built-in simulated providers share: delivering their signed webhooks, and payouts.

A simulator never calls our HTTP endpoint: after the transaction that produced
the notification commits, a Celery task signs the body and hands it to
`payments.webhooks.webhook_receive`, the same function the endpoint calls.
"""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django_tenants.utils import schema_context

from payments.adapters.base import PayoutTransientError
from payments.models import PaymentMethod, SandboxPayout

logger = logging.getLogger(__name__)

# Payouts whose amount ends in .13 fail at the simulated providers (documented on the checkout page).
FAILING_PAYOUT_CENTS = 13


def webhook_send_after_commit(method: PaymentMethod, payload: dict) -> None:
    """Deliver a notification once the current transaction commits (signed at each attempt)."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    schema = connection.schema_name
    transaction.on_commit(lambda: _enqueue(schema, method.pk, body))


def _enqueue(schema: str, method_id: int, body: str) -> None:
    from payments.adapters.tasks import simulator_webhook_deliver

    with schema_context(schema):
        try:
            simulator_webhook_deliver.delay(method_id, body)
        except Exception:  # kombu raises several kinds; the simulator's notification is then lost
            logger.exception("simulated webhook for method %s not queued", method_id)


def unix_now() -> int:
    return int(time.time())


def payout_fails(amount: Decimal) -> bool:
    cents = amount * 100
    return cents == cents.to_integral_value() and int(cents) % 100 == FAILING_PAYOUT_CENTS


def payout_accept(method: PaymentMethod, withdrawal, *, psp_reference: str) -> tuple[SandboxPayout, bool]:
    """The provider's record of a payout, made once per payout reference; (payout, made now)."""
    if method.settings.get("simulate_outage"):
        raise PayoutTransientError(f"{method.name} is not answering (simulated outage).")
    existing = SandboxPayout.objects.filter(payout_reference=withdrawal.payout_reference).first()
    if existing is not None:
        return existing, False
    fails = payout_fails(withdrawal.amount)
    try:
        with transaction.atomic():
            payout = SandboxPayout.objects.create(
                method=method,
                payout_reference=withdrawal.payout_reference,
                psp_reference=psp_reference,
                amount=withdrawal.amount - withdrawal.fee,
                currency=withdrawal.currency,
                status=SandboxPayout.Status.FAILED if fails else SandboxPayout.Status.PAID,
                failure_message="The receiving account refused the payout (sandbox: amounts ending in .13)."
                if fails
                else "",
            )
    except IntegrityError:  # a racing call for the same reference made it first
        return SandboxPayout.objects.get(payout_reference=withdrawal.payout_reference), False
    return payout, True
