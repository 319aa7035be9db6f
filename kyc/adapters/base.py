"""The one small interface every KYC vendor sits behind.

A vendor is one subclass of `KycVendor`, registered under the key `KycSettings.provider` names
(kyc.adapters.registry). It does three things for us:

- `verification_start(client, reference=, applicant_id=)`: open the verification at the vendor (or,
  given the applicant id of an earlier start, continue it) and say where the client goes next
  (`VerificationStart`: the vendor's applicant id, a link or an SDK token);
- `signature_verify(headers=, body=)`: check the vendor's signature over the RAW body, in constant
  time, before anything in it is read (`SignatureError` if it does not match);
- `event_parse(payload)`: turn a signed notification into a `Verdict` in our terms
  (`PayloadError` when the fields we need are missing).

`reference` is our external id for the client: "<tenant schema>:<client id>". A vendor that echoes
it back (Sumsub's externalUserId) names the client directly; one that does not (Onfido) names its
applicant, which kyc.adapters.services maps to the client through the VendorEvent stored when the
verification started.
"""

from __future__ import annotations

import enum
import hmac
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from crm.models import Client


class VendorError(Exception):
    """The vendor could not be reached or refused a request (starting a verification)."""


class SignatureError(Exception):
    """The signature is missing or does not match the body: nothing in it may be trusted."""


class PayloadError(Exception):
    """A signed notification we cannot read (not JSON, or the fields we need are missing)."""


class Outcome(enum.StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"  # final: the client may not try again
    RETRY = "retry"  # rejected for now: the client must upload new documents
    NEEDS_REVIEW = "needs_review"  # the vendor could not decide: a person looks at it
    INFORMATION = "information"  # a step on the way (documents submitted, check started): nothing to apply


@dataclass(frozen=True)
class Verdict:
    """A vendor's notification in our terms, whatever its wire format."""

    event_id: str  # the vendor's id of this notification, or one built from fields a retry repeats
    event_type: str  # the vendor's own name for it, for the record
    outcome: Outcome
    client_reference: str = ""  # our external id, when the vendor echoes it
    applicant_id: str = ""  # the vendor's id of the person
    reasons: tuple[str, ...] = ()  # for staff: labels, comments, the vendor's result
    client_message: str = ""  # what the vendor says the client may read (a rejection's cause)


@dataclass(frozen=True)
class VerificationStart:
    applicant_id: str
    url: str = ""  # where the client verifies (a hosted page), when the vendor gives one
    sdk_token: str = ""  # for vendors whose SDK runs in our page instead
    extra: dict = field(default_factory=dict)


class KycVendor:
    provider: ClassVar[str]
    label: ClassVar[str]
    # False for the built-in checks: they decide in-house and no webhook ever reaches us.
    uses_webhooks: ClassVar[bool] = True

    def __init__(self, *, webhook_secret: str = "", api_token: str = ""):
        self.webhook_secret = webhook_secret
        self.api_token = api_token

    def verification_start(self, client: Client, *, reference: str, applicant_id: str = "") -> VerificationStart:
        raise NotImplementedError

    def signature_verify(self, *, headers: dict[str, str], body: bytes) -> None:
        raise NotImplementedError

    def event_parse(self, payload: dict) -> Verdict:
        raise NotImplementedError


def header(headers: dict[str, str], name: str) -> str:
    """A header's value whatever its case ("" if absent)."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), "")


def digest_matches(expected_hex: str, given: str) -> bool:
    """Constant-time comparison of two hex digests (case-insensitive, as vendors differ)."""
    return hmac.compare_digest(expected_hex.lower().encode(), given.strip().lower().encode())


def text(value, limit: int = 300) -> str:
    return str(value or "").strip()[:limit]


def text_list(value, name: str, limit: int = 100) -> list[str]:
    """A list of short texts in a payload (absent or null: empty); PayloadError for anything else."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str | int | float) for item in value):
        raise PayloadError(f"{name} must be a list of texts.")
    return [text(item, limit) for item in value if text(item, limit)]


# Vendors' notifications are a few levels deep; anything much deeper is not one of theirs.
MAX_DEPTH = 20


def _finite(number: str) -> float:
    value = float(number)
    if not math.isfinite(value):
        raise ValueError("A number is out of range.")
    return value


def _constant(name: str):
    raise ValueError(f"{name} is not JSON.")


def payload_load(body: bytes) -> dict:
    """The signed body as a JSON object we can store (PostgreSQL's jsonb takes no NUL character,
    unpaired surrogate, NaN or infinity) and walk; PayloadError otherwise."""
    try:
        payload = json.loads(body, parse_float=_finite, parse_constant=_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise PayloadError("The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise PayloadError("The body is not a JSON object.")
    pending = [(payload, 1)]
    while pending:  # iterative: the depth is what we are checking
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise PayloadError(f"The body is nested more than {MAX_DEPTH} levels deep.")
        children = list(value.items()) if isinstance(value, dict) else enumerate(value)
        for key, child in children:
            for string in (key, child):
                if isinstance(string, str) and ("\x00" in string or not _encodable(string)):
                    raise PayloadError("The body holds a character that is not text.")
            if isinstance(child, dict | list):
                pending.append((child, depth + 1))
    return payload


def _encodable(string: str) -> bool:
    try:
        string.encode()
    except UnicodeEncodeError:
        return False
    return True
