"""Provider webhooks: POST /payments/webhooks/<method code>/, and the one function that handles them.

`webhook_receive` is called by the HTTP endpoint and by the simulators' delivery task alike:
1. every delivery is stored (WebhookDelivery: headers without secrets, the raw body, the outcome);
2. the adapter checks the signature over the raw bytes (400 if wrong, stale or missing);
3. in one transaction: the payment's row is locked, the event id is claimed (a partial unique
   index lets each provider event be processed once: a repeat is a 200 no-op), and the
   deposit or withdrawal service applies it. Services ignore what no longer applies (a late
   "failed" after "succeeded"), and the ledger posting's reference is unique, so nothing is
   ever posted twice, whatever the order or number of deliveries.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from brokerage.errors import ApplicationError, error_body
from brokerage.money import quantize
from payments.adapters.base import EventKind, SignatureError, WebhookError, WebhookEvent
from payments.adapters.registry import UnknownProvider, adapter_for
from payments.deposits import services as deposit_services
from payments.models import Deposit, PaymentMethod, WebhookDelivery, Withdrawal

logger = logging.getLogger(__name__)
Outcome = WebhookDelivery.Outcome

# Headers never stored: credentials and cookies (signatures are kept: they are not secrets).
_SECRET_HEADER_WORDS = ("authorization", "cookie", "secret", "token", "api-key", "apikey", "password", "csrf")
DEPOSIT_KINDS = (EventKind.DEPOSIT_SUCCEEDED, EventKind.DEPOSIT_FAILED, EventKind.DEPOSIT_CONFIRMING)


@dataclass(frozen=True)
class WebhookResult:
    status: int
    body: dict
    delivery: WebhookDelivery


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def headers_to_store(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if not any(word in k.lower() for word in _SECRET_HEADER_WORDS)}


def webhook_receive(*, method_code: str, headers: dict[str, str], body: bytes) -> WebhookResult:
    method = PaymentMethod.objects.filter(code=method_code).first()
    record = {
        "provider": (method.provider if method else method_code)[:40],
        "method": method,
        "headers": headers_to_store(headers),
        "body": body.decode("utf-8", errors="replace"),
    }
    try:
        if method is None:
            raise _Refused(404, "unknown_method", f"No payment method {method_code!r}.")
        try:
            event = adapter_for(method).webhook_parse(headers=headers, body=body)
        except UnknownProvider as error:
            raise _Refused(404, "unknown_provider", str(error)) from error
        except SignatureError as error:
            raise _Refused(400, "bad_signature", str(error)) from error
        except WebhookError as error:
            raise _Refused(400, "bad_payload", str(error)) from error
    except _Refused as refused:
        return _refused(record, refused)
    record.update(signature_valid=True, event_id=event.event_id[:200], event_type=event.event_type[:80])
    if event.kind == EventKind.IGNORED:
        delivery = WebhookDelivery.objects.create(**record, outcome=Outcome.IGNORED, detail="Not an event we act on.")
        return WebhookResult(200, {"received": True, "outcome": delivery.outcome}, delivery)
    try:
        with transaction.atomic():
            return _apply(method, event, record)
    except _Refused as refused:
        return _refused(record, refused)
    except ApplicationError as error:
        return _refused(record, _Refused(400, error.code, error.message))
    except Exception:
        logger.exception("webhook %s of %s failed", event.event_id, method.code)
        return _refused(record, _Refused(500, "error", "The event could not be processed; send it again."))


def _refused(record: dict, refused: _Refused) -> WebhookResult:
    delivery = WebhookDelivery.objects.create(**record, outcome=Outcome.REJECTED, detail=refused.message[:500])
    return WebhookResult(refused.status, error_body(refused.code, refused.message), delivery)


def _apply(method: PaymentMethod, event: WebhookEvent, record: dict) -> WebhookResult:
    if event.kind in DEPOSIT_KINDS:
        subject = _deposit_locked(method, event.merchant_reference)
        link = {"deposit": subject}
    else:
        subject = (
            Withdrawal.objects.select_for_update()
            .filter(method=method, payout_reference=event.payout_reference)
            .first()
            if event.payout_reference
            else None
        )
        link = {"withdrawal": subject}
    if subject is None:
        raise _Refused(404, "unknown_payment", "No payment of ours matches this event.")
    if not event.event_id:
        raise _Refused(400, "bad_payload", "The event has no id.")
    processed = WebhookDelivery.objects.filter(provider=record["provider"], event_id=event.event_id)
    if processed.filter(outcome=Outcome.PROCESSED).exists():
        return _duplicate(record, link)
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(**record, **link, outcome=Outcome.PROCESSED)
    except IntegrityError:  # a concurrent delivery of the same event claimed it first
        return _duplicate(record, link)
    delivery.detail = _handle(method, event, subject)[:500]
    delivery.save(update_fields=["detail"])
    return WebhookResult(200, {"received": True, "outcome": delivery.outcome, "detail": delivery.detail}, delivery)


def _duplicate(record: dict, link: dict) -> WebhookResult:
    delivery = WebhookDelivery.objects.create(
        **record, **link, outcome=Outcome.DUPLICATE, detail="Already processed: nothing changed."
    )
    return WebhookResult(200, {"received": True, "outcome": delivery.outcome}, delivery)


def _deposit_locked(method: PaymentMethod, merchant_reference: str) -> Deposit | None:
    try:
        public_id = uuid.UUID(merchant_reference)
    except (ValueError, TypeError, AttributeError):
        return None
    return Deposit.objects.select_for_update().filter(method=method, public_id=public_id).first()


def _handle(method: PaymentMethod, event: WebhookEvent, subject) -> str:
    actor_label = f"psp:{method.provider}"
    if event.kind == EventKind.DEPOSIT_CONFIRMING:
        deposit = deposit_services.deposit_confirming(
            subject, confirmations=event.confirmations, actor_label=actor_label
        )
        return f"{deposit.get_status_display()}: {deposit.confirmations} of {deposit.required_confirmations}."
    if event.kind == EventKind.DEPOSIT_SUCCEEDED:
        if event.amount is None or event.currency != subject.currency:
            raise _Refused(400, "currency_mismatch", f"Paid in {event.currency or '?'}, expected {subject.currency}.")
        was_completed = subject.status == Deposit.Status.COMPLETED
        if event.confirmations:
            deposit_services.deposit_confirming(subject, confirmations=event.confirmations, actor_label=actor_label)
        deposit = deposit_services.deposit_confirm(
            subject,
            amount=event.amount,
            actor_label=actor_label,
            psp_reference=event.psp_reference,
            source_label=event.source_label,
        )
        if was_completed:
            return "Already completed: nothing changed."
        currency = deposit.currency
        return f"Completed: {quantize(deposit.amount, currency)} {currency}, {quantize(deposit.net, currency)} to the wallet."
    if event.kind == EventKind.DEPOSIT_FAILED:
        deposit = deposit_services.deposit_fail(subject, reason=event.reason, actor_label=actor_label)
        if deposit.status != Deposit.Status.FAILED:
            return f"Already {deposit.get_status_display().lower()}: nothing changed."
        return f"Failed: {deposit.failure_reason}"
    # Payouts: the withdrawal's own service decides what the outcome means for it.
    from payments.withdrawals.services import withdrawal_payout_settled

    paid = event.kind == EventKind.PAYOUT_PAID
    withdrawal_payout_settled(
        subject, paid=paid, reason=event.reason, psp_reference=event.psp_reference, actor_label=actor_label
    )
    return "Payout paid." if paid else f"Payout failed: {event.reason}"


@csrf_exempt
@require_POST
def webhook_endpoint(request, method_code: str):
    """Providers post here; no session or CSRF token: the signature is the authentication."""
    result = webhook_receive(method_code=method_code, headers=dict(request.headers), body=request.body)
    return JsonResponse(result.body, status=result.status)
