"""The one small interface every KYC vendor sits behind.

A vendor is one subclass of `KycVendor`, registered under the key `KycSettings.provider` names
(kyc.adapters.registry). It does three things for us:

- `verification_start(client, reference=)`: open the verification at the vendor and say where the
  client goes next (`VerificationStart`: the vendor's applicant id, a link or an SDK token);
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

    def verification_start(self, client: Client, *, reference: str) -> VerificationStart:
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
