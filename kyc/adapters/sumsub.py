"""Sumsub (docs.sumsub.com): applicants, the WebSDK link, and the user-verification webhooks.

Webhooks: `X-Payload-Digest` is the HMAC of the raw body keyed with the webhook's secret key, in
the algorithm `X-Payload-Digest-Alg` names (HMAC_SHA256_HEX, HMAC_SHA512_HEX, HMAC_SHA1_HEX; an
absent name means SHA-256, Sumsub's default). The body names the applicant (`applicantId`), our
external id (`externalUserId`) and the event (`type`). `applicantReviewed` carries `reviewResult`:
`reviewAnswer` GREEN (approved) or RED with `reviewRejectType` FINAL (rejected for good) or RETRY
(new documents needed), `rejectLabels`, `moderationComment` (for the client) and `clientComment`
(for us only). Sumsub has no event id: a retry repeats the body, so `correlationId` (or the
type, applicant and creation time) identifies it.

API calls are signed with the app token's secret key: `X-App-Access-Sig` = hex HMAC-SHA256 of
timestamp + method + path with query + body. The tenant's API token field holds
"<app token>:<secret key>", the pair Sumsub issues together.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

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

ALGORITHMS = {"HMAC_SHA256_HEX": hashlib.sha256, "HMAC_SHA512_HEX": hashlib.sha512, "HMAC_SHA1_HEX": hashlib.sha1}
BASE_URL = "https://api.sumsub.com"
LEVEL_NAME = "basic-kyc-level"
LINK_TTL_SECONDS = 3600
# Events that end the review, by answer; everything else is a step on the way.
ON_HOLD = {"applicantOnHold", "applicantAwaitingService"}


def payload_digest(secret: str, body: bytes, algorithm: str = "HMAC_SHA256_HEX") -> str:
    return hmac.new(secret.encode(), body, ALGORITHMS[algorithm]).hexdigest()


class SumsubVendor(KycVendor):
    provider = "sumsub"
    label = "Sumsub"

    def signature_verify(self, *, headers, body) -> None:
        if not self.webhook_secret:
            raise SignatureError("No Sumsub secret key is configured.")
        given = header(headers, "X-Payload-Digest")
        if not given:
            raise SignatureError("The X-Payload-Digest header is missing.")
        algorithm = header(headers, "X-Payload-Digest-Alg").strip() or "HMAC_SHA256_HEX"
        if algorithm not in ALGORITHMS:
            raise SignatureError(f"Unknown digest algorithm {algorithm[:40]!r}.")
        if not digest_matches(payload_digest(self.webhook_secret, body, algorithm), given):
            raise SignatureError("The payload digest does not match the body.")

    def event_parse(self, payload: dict) -> Verdict:
        event_type = text(payload.get("type"), 60)
        applicant_id = text(payload.get("applicantId"), 120)
        if not event_type or not applicant_id:
            raise PayloadError("A Sumsub event needs a type and an applicantId.")
        moment = text(payload.get("createdAtMs") or payload.get("createdAt"), 40)
        event_id = text(payload.get("correlationId"), 120) or f"{event_type}:{applicant_id}:{moment}"[:120]
        result = payload.get("reviewResult") if isinstance(payload.get("reviewResult"), dict) else {}
        outcome, reasons, message = Outcome.INFORMATION, [], ""
        if event_type == "applicantReviewed":
            answer = text(result.get("reviewAnswer"), 10).upper()
            labels = text_list(result.get("rejectLabels"), "reviewResult.rejectLabels", 60)
            if answer == "GREEN":
                outcome = Outcome.APPROVED
            elif answer == "RED":
                final = text(result.get("reviewRejectType"), 10).upper() == "FINAL"
                outcome = Outcome.REJECTED if final else Outcome.RETRY
                message = text(result.get("moderationComment"))
                reasons = [f"Sumsub labels: {', '.join(labels)}"] if labels else []
                if result.get("clientComment"):
                    reasons.append(f"Sumsub comment: {text(result.get('clientComment'))}")
            else:
                raise PayloadError("applicantReviewed needs reviewResult.reviewAnswer GREEN or RED.")
        elif event_type in ON_HOLD:
            outcome = Outcome.NEEDS_REVIEW
            reasons = [f"Sumsub put the applicant on hold ({event_type})"]
        return Verdict(
            event_id=event_id,
            event_type=event_type,
            outcome=outcome,
            client_reference=text(payload.get("externalUserId"), 120),
            applicant_id=applicant_id,
            reasons=tuple(reasons),
            client_message=message,
        )

    # API ----------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, payload: dict) -> dict:
        app_token, _, secret = self.api_token.partition(":")
        if not app_token or not secret:
            raise VendorError("The Sumsub API token must be '<app token>:<secret key>'.")
        body = json.dumps(payload).encode()
        stamp = str(int(time.time()))
        signature = hmac.new(secret.encode(), stamp.encode() + method.encode() + path.encode() + body, hashlib.sha256)
        headers = {
            "Content-Type": "application/json",
            "X-App-Token": app_token,
            "X-App-Access-Ts": stamp,
            "X-App-Access-Sig": signature.hexdigest(),
        }
        return http.http_json(method, BASE_URL + path, headers=headers, body=body)

    def verification_start(self, client, *, reference: str, applicant_id: str = "") -> VerificationStart:
        """An applicant with our reference as externalUserId (unless `applicant_id` names the one an
        earlier start created: Sumsub refuses a second one), and a fresh WebSDK link for the client."""
        if not applicant_id:
            applicant = self._call(
                "POST",
                "/resources/applicants?" + urlencode({"levelName": LEVEL_NAME}),
                {"externalUserId": reference, "email": client.email or "", "phone": client.phone or ""},
            )
            applicant_id = text(applicant.get("id"), 120)
            if not applicant_id:
                raise VendorError("Sumsub created no applicant.")
        link = self._call(
            "POST",
            "/resources/sdkIntegrations/levels/-/websdkLink",
            {"levelName": LEVEL_NAME, "userId": reference, "ttlInSecs": LINK_TTL_SECONDS},
        )
        return VerificationStart(applicant_id=applicant_id, url=text(link.get("url"), 2000))
