"""Shared by the KYC vendor tests: a tenant configured for a vendor, and signed deliveries."""

from __future__ import annotations

import json

from brokerage.fields import encrypt
from kyc.adapters import onfido, sumsub
from kyc.models import KycSettings

SECRETS = {"alpha": "alpha-webhook-secret-1", "beta": "beta-webhook-secret-2"}


def vendor_use(provider: str, *, secret: str, api_token: str = "") -> KycSettings:
    """Configure the current tenant like the settings page does (secrets stored encrypted)."""
    settings = KycSettings.current()
    settings.provider = provider
    settings.vendor_webhook_secret = encrypt(secret) if secret else ""
    settings.vendor_api_token = encrypt(api_token) if api_token else ""
    settings.save()
    return settings


def sumsub_body(
    reference: str,
    *,
    event_type: str = "applicantReviewed",
    answer: str = "GREEN",
    reject_type: str = "",
    labels: list[str] | None = None,
    moderation: str = "",
    correlation: str = "req-1",
    applicant: str = "5cb56e8e0a975a35f333cb83",
) -> bytes:
    payload = {
        "applicantId": applicant,
        "inspectionId": "5cb56e8e0a975a35f333cb84",
        "correlationId": correlation,
        "externalUserId": reference,
        "levelName": "basic-kyc-level",
        "type": event_type,
        "sandboxMode": False,
        "reviewStatus": "completed" if event_type == "applicantReviewed" else "pending",
        "createdAtMs": "2026-11-24 10:00:00.000",
    }
    if event_type == "applicantReviewed":
        payload["reviewResult"] = {"reviewAnswer": answer}
        if answer == "RED":
            payload["reviewResult"].update(
                reviewRejectType=reject_type,
                rejectLabels=labels or [],
                moderationComment=moderation,
                clientComment="Internal: document looks edited.",
            )
    return json.dumps(payload).encode()


def sumsub_headers(body: bytes, secret: str, algorithm: str = "HMAC_SHA256_HEX") -> dict[str, str]:
    return {"X-Payload-Digest": sumsub.payload_digest(secret, body, algorithm), "X-Payload-Digest-Alg": algorithm}


def onfido_body(
    *, action: str = "check.completed", object_id: str = "chk-1", result: str | None = "clear", applicant: str = ""
) -> bytes:
    thing = {
        "id": object_id,
        "status": "complete",
        "completed_at_iso8601": "2026-11-24T10:00:00Z",
        "href": f"https://api.eu.onfido.com/v3.6/checks/{object_id}",
    }
    if result is not None:
        thing["result"] = result
    payload = {"payload": {"resource_type": action.split(".")[0], "action": action, "object": thing}}
    if applicant:
        payload["payload"]["resource"] = {"applicant_id": applicant}
    return json.dumps(payload).encode()


def onfido_headers(body: bytes, secret: str) -> dict[str, str]:
    return {"X-SHA2-Signature": onfido.signature(secret, body)}


def post(http, provider: str, body: bytes, headers: dict[str, str]):
    return http.post(f"/kyc/webhooks/{provider}/", data=body, content_type="application/json", headers=headers)
