"""Onfido (documentation.onfido.com, API v3.6): applicants, SDK tokens, and webhooks.

Webhooks: `X-SHA2-Signature` is the hex HMAC-SHA256 of the raw body keyed with the webhook's
token. The body is `{"payload": {"resource_type", "action", "object": {"id", "status", "href",
"completed_at_iso8601", ...}, "resource": {...}}}`. `check.completed` reports a check whose result
is `clear` (approved) or `consider` (a person must look); `workflow_run.completed` (Onfido Studio)
ends as approved, declined or review. Onfido sends no event id and no id of ours: a retry repeats
the action, object id and completion time, and the person is Onfido's applicant id, which we
recorded when the verification started. When the object lacks the result or the applicant, the
check is read from its `href` (only on Onfido's own hosts) with the API token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlparse

from kyc.adapters import http
from kyc.adapters.base import (
    KycVendor,
    Outcome,
    PayloadError,
    SignatureError,
    VendorError,
    Verdict,
    VerificationStart,
    digest_matches,
    header,
    text,
    text_list,
)

BASE_URL = "https://api.eu.onfido.com/v3.6"
CHECK_RESULTS = {"clear": Outcome.APPROVED, "consider": Outcome.NEEDS_REVIEW}
RUN_STATUSES = {"approved": Outcome.APPROVED, "declined": Outcome.REJECTED, "review": Outcome.NEEDS_REVIEW}


def signature(token: str, body: bytes) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def onfido_host(url: str) -> bool:
    parsed = urlparse(url)
    host = parsed.hostname or ""
    return parsed.scheme == "https" and (host == "onfido.com" or host.endswith(".onfido.com"))


class OnfidoVendor(KycVendor):
    provider = "onfido"
    label = "Onfido"

    def signature_verify(self, *, headers, body) -> None:
        if not self.webhook_secret:
            raise SignatureError("No Onfido webhook token is configured.")
        given = header(headers, "X-SHA2-Signature")
        if not given:
            raise SignatureError("The X-SHA2-Signature header is missing.")
        if not digest_matches(signature(self.webhook_secret, body), given):
            raise SignatureError("The signature does not match the body.")

    def event_parse(self, payload: dict) -> Verdict:
        inner = payload.get("payload")
        if not isinstance(inner, dict) or not isinstance(inner.get("object"), dict):
            raise PayloadError("An Onfido event needs payload.object.")
        action = text(inner.get("action"), 60)
        thing = inner["object"]
        resource = inner.get("resource") if isinstance(inner.get("resource"), dict) else {}
        object_id = text(thing.get("id"), 60)
        if not action or not object_id:
            raise PayloadError("An Onfido event needs payload.action and payload.object.id.")
        moment = text(thing.get("completed_at_iso8601") or thing.get("status"), 40)
        applicant_id = text(resource.get("applicant_id") or thing.get("applicant_id"), 120)
        outcome, reasons = Outcome.INFORMATION, []
        if action == "check.completed":
            result = text(thing.get("result"), 20).lower()
            if not result or not applicant_id:
                check = self._check_read(text(thing.get("href"), 500))
                result = result or text(check.get("result"), 20).lower()
                applicant_id = applicant_id or text(check.get("applicant_id"), 120)
            if result not in CHECK_RESULTS:
                raise PayloadError(f"check.completed needs a result clear or consider, not {result!r}.")
            outcome = CHECK_RESULTS[result]
            reasons = [f"Onfido check {object_id}: {result}"]
        elif action == "workflow_run.completed":
            status = text(thing.get("status"), 20).lower()
            outcome = RUN_STATUSES.get(status, Outcome.INFORMATION)
            reasons = [
                f"Onfido workflow run {object_id}: {status}",
                *text_list(resource.get("reasons"), "payload.resource.reasons"),
            ]
        return Verdict(
            event_id=f"{action}:{object_id}:{moment}"[:120],
            event_type=action,
            outcome=outcome,
            applicant_id=applicant_id,
            reasons=tuple(reasons),
        )

    # API ----------------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        if not self.api_token:
            raise VendorError("No Onfido API token is configured.")
        return {"Authorization": f"Token token={self.api_token}", "Content-Type": "application/json"}

    def _check_read(self, href: str) -> dict:
        if not onfido_host(href):
            raise PayloadError("The check's href is not an Onfido address.")
        try:
            return http.http_json("GET", href, headers=self._headers())
        except VendorError as error:
            raise PayloadError(f"The check could not be read: {error}") from error

    def verification_start(self, client, *, reference: str, applicant_id: str = "") -> VerificationStart:
        """An applicant (unless `applicant_id` names the one an earlier start created; Onfido keeps no
        id of ours: the caller records the applicant id) and a fresh SDK token for it."""
        if not applicant_id:
            person = {"first_name": client.first_name or "-", "last_name": client.last_name or "-"}
            if client.email:
                person["email"] = client.email
            applicant = http.http_json(
                "POST", f"{BASE_URL}/applicants/", headers=self._headers(), body=json.dumps(person).encode()
            )
            applicant_id = text(applicant.get("id"), 120)
            if not applicant_id:
                raise VendorError("Onfido created no applicant.")
        token = http.http_json(
            "POST",
            f"{BASE_URL}/sdk_token",
            headers=self._headers(),
            body=json.dumps({"applicant_id": applicant_id, "referrer": "*://*/*"}).encode(),
        )
        sdk_token = text(token.get("token"), 4000)
        if not sdk_token:
            raise VendorError("Onfido gave no SDK token.")
        return VerificationStart(applicant_id=applicant_id, sdk_token=sdk_token)
