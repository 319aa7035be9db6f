"""The default: our own checks (kyc.documents, kyc.screening, kyc.workflow). No vendor, no webhook."""

from __future__ import annotations

from django.urls import reverse

from kyc.adapters.base import KycVendor, PayloadError, SignatureError, VerificationStart


class BuiltinVendor(KycVendor):
    provider = "builtin"
    label = "Built-in checks"
    uses_webhooks = False

    def verification_start(self, client, *, reference: str, applicant_id: str = "") -> VerificationStart:
        """The client verifies in our portal: the documents page is the next step."""
        return VerificationStart(applicant_id=reference, url=reverse("portal:kyc_documents"))

    def signature_verify(self, *, headers, body) -> None:
        raise SignatureError("The built-in checks take no webhooks.")

    def event_parse(self, payload) -> None:
        raise PayloadError("The built-in checks take no webhooks.")
