"""KYC vendors' webhooks: POST /kyc/webhooks/<provider>/ on the tenant's domain.

1. The tenant must use that vendor (KycSettings.provider), else 404 and nothing is written.
2. The vendor's signature is checked over the raw bytes with the tenant's secret (401 if missing or
   wrong, nothing written; 503 if the stored secret cannot be decrypted) before the body is parsed
   (400 if it is not a JSON object we can store, or its fields are not of the expected types).
3. In one transaction the provider's event id is claimed (VendorEvent's unique constraint: a retry,
   or a copy delivered at the same moment on another connection, waits for the first and then
   answers 200 with outcome "duplicate", changing nothing), and the verdict is applied through the
   staff review functions (kyc.review, actor None): approved -> review_approve (which still refuses
   a high-risk file, open hits or documents waiting: the review then stays open for a person; on a
   file the client has not completed it is only recorded, in the open review's reasons),
   rejected for good -> review_reject with the vendor's reason for the client, rejected for retry ->
   review_request_documents, needs review -> the review queue. Each applied verdict is audited.
   An event about no client of ours is stored as unknown_client and answered 200 (the vendor must
   not retry it forever).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError, error_body
from crm.models import Client
from kyc import review as reviews
from kyc.adapters.base import KycVendor, Outcome, PayloadError, SignatureError, Verdict, payload_load
from kyc.adapters.registry import VENDORS, vendor_for
from kyc.adapters.services import client_for_verdict
from kyc.models import Document, KycSettings, Review, VendorEvent
from kyc.workflow import kyc_status_set, review_open

logger = logging.getLogger(__name__)
KycStatus = Client.KycStatus
Stored = VendorEvent.Outcome

# What a vendor's "try again" asks for, by words in its labels; identity documents otherwise.
RETRY_KINDS = (
    (("SELFIE", "FACE", "LIVENESS"), [Document.Kind.SELFIE]),
    (("ADDRESS", "RESIDENCE", "UTILITY"), [Document.Kind.PROOF_OF_ADDRESS]),
)


@dataclass(frozen=True)
class WebhookResult:
    status: int
    body: dict


def _refused(status: int, code: str, message: str) -> WebhookResult:
    return WebhookResult(status, error_body(code, message))


def vendor_webhook_receive(*, provider: str, headers: dict[str, str], body: bytes) -> WebhookResult:
    if provider not in VENDORS or not VENDORS[provider].uses_webhooks:
        return _refused(404, "unknown_provider", f"No KYC vendor {provider[:40]!r} takes webhooks here.")
    settings = KycSettings.current()
    if settings.provider != provider:
        return _refused(404, "wrong_provider", f"This broker does not verify clients with {VENDORS[provider].label}.")
    try:
        vendor = vendor_for(settings)
    except ImproperlyConfigured:  # a stored secret no FIELD_ENCRYPTION_KEYS key decrypts
        logger.exception("KYC webhook of %s: the tenant's vendor secrets cannot be decrypted", provider)
        return _refused(503, "not_configured", "The vendor's credentials cannot be read here; send it again later.")
    try:
        vendor.signature_verify(headers=headers, body=body)
    except SignatureError as error:
        return _refused(401, "bad_signature", str(error))
    try:
        payload = payload_load(body)
        verdict = vendor.event_parse(payload)
    except PayloadError as error:
        return _refused(400, "bad_payload", str(error))
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError):
        # A signed body of a shape the parser did not foresee: still the sender's fault, not ours.
        logger.warning("KYC webhook of %s: unreadable event", provider, exc_info=True)
        return _refused(400, "bad_payload", "The event's fields are not of the types expected.")
    client = client_for_verdict(provider, verdict)
    try:
        with transaction.atomic():
            return _claim_and_apply(vendor, verdict, payload, client)
    except Exception:
        logger.exception("KYC webhook %s of %s failed", verdict.event_id, provider)
        return _refused(500, "error", "The event could not be processed; send it again.")


def _claim_and_apply(vendor: KycVendor, verdict: Verdict, payload: dict, client: Client | None) -> WebhookResult:
    try:
        with transaction.atomic():
            event = VendorEvent.objects.create(
                provider=vendor.provider,
                event_id=verdict.event_id,
                event_type=verdict.event_type,
                client=client,
                payload=payload,
                outcome=Stored.UNKNOWN_CLIENT if client is None else Stored.IGNORED,
            )
    except IntegrityError:  # this event was received before (or is being, on another connection)
        return WebhookResult(200, {"received": True, "outcome": "duplicate", "detail": "Already received."})
    if client is None:
        event.detail = "No client of ours has this reference or applicant id."
    elif verdict.outcome == Outcome.INFORMATION:
        event.detail = f"{vendor.label}: {verdict.event_type}; nothing to decide."
    else:
        applied, event.detail = _apply(vendor, verdict, client)
        if applied:
            event.outcome = Stored.APPLIED
    event.detail = event.detail[:300]
    event.save(update_fields=["outcome", "detail"])
    return WebhookResult(200, {"received": True, "outcome": event.outcome, "detail": event.detail})


def _apply(vendor: KycVendor, verdict: Verdict, client: Client) -> tuple[bool, str]:
    """Apply a verdict to the client's file; (whether it changed anything, what happened)."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    before = client.kyc_status
    if before == KycStatus.REJECTED:
        return False, f"{vendor.label} said {verdict.outcome}, but the file is rejected: a person must reopen it."
    if before == KycStatus.APPROVED and verdict.outcome == Outcome.APPROVED:
        return False, "Already approved."
    reasons = [f"{vendor.label}: {verdict.outcome.replace('_', ' ')}", *verdict.reasons]
    review = Review.objects.filter(client=client, status__in=Review.OPEN_STATUSES).first()
    if review is None:
        review = review_open(client, reasons)
    gaps = reviews.submission_gaps(client) if verdict.outcome == Outcome.APPROVED else []
    if gaps:
        # The vendor checked the identity; the rest of the file (questionnaire, address...) is ours to
        # collect. Its verdict is on record for the person who decides once the file is complete.
        why = f"{vendor.label} approved the identity; the file is incomplete: {', '.join(gaps)}"
        review_open(client, list(dict.fromkeys([*review.reasons, why])))
        detail = f"{vendor.label} approved; left for a person: the file is incomplete: {', '.join(gaps)}"
    elif verdict.outcome == Outcome.APPROVED:
        try:
            reviews.review_approve(review, actor=None)
            detail = f"Approved by {vendor.label}."
        except ApplicationError as refusal:
            review_open(client, list(dict.fromkeys([*review.reasons, f"{vendor.label} approved; {refusal.message}"])))
            kyc_status_set(client, KycStatus.PENDING, reason=f"{vendor.label} approved; {refusal.message}")
            detail = f"{vendor.label} approved; left for a person: {refusal.message}"
    elif verdict.outcome == Outcome.REJECTED:
        message = verdict.client_message or f"{vendor.label}, our verification provider, could not verify you."
        reviews.review_reject(review, actor=None, reason=message)
        detail = f"Rejected by {vendor.label}: {message}"
    elif verdict.outcome == Outcome.RETRY:
        kinds = _retry_kinds(verdict)
        message = verdict.client_message or f"Please go through {vendor.label}'s verification again with new photos."
        reviews.review_request_documents(review, actor=None, kinds=kinds, message=message)
        detail = f"{vendor.label} asked for new documents: {message}"
    else:
        review_open(client, list(dict.fromkeys([*review.reasons, *reasons])))
        if before != KycStatus.APPROVED:
            kyc_status_set(client, KycStatus.PENDING, reason="; ".join(reasons))
        detail = f"Queued for a review: {'; '.join(reasons)}"
    client.refresh_from_db(fields=["kyc_status"])
    audit_log(
        actor=None,
        action="kyc.vendor.verdict_applied",
        obj=client,
        before={"kyc_status": before},
        after={
            "kyc_status": client.kyc_status,
            "provider": vendor.provider,
            "event_id": verdict.event_id,
            "outcome": str(verdict.outcome),
            "reasons": list(verdict.reasons),
        },
    )
    return True, detail


def _retry_kinds(verdict: Verdict) -> list[str]:
    words = " ".join(verdict.reasons).upper()
    for markers, kinds in RETRY_KINDS:
        if any(marker in words for marker in markers):
            return [str(kind) for kind in kinds]
    return [str(kind) for kind in Document.IDENTITY_KINDS]


@csrf_exempt
@require_POST
def vendor_webhook(request, provider: str):
    """Vendors post here; no session or CSRF token: the signature is the authentication."""
    result = vendor_webhook_receive(provider=provider, headers=dict(request.headers), body=request.body)
    return JsonResponse(result.body, status=result.status)
