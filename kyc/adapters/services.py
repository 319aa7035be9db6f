"""Starting a verification at the tenant's vendor, and finding the client a vendor's event is about."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction

from brokerage.audit import audit_log
from brokerage.models import AuditRecord
from crm.models import Client
from kyc.adapters.base import Outcome, Verdict, VerificationStart
from kyc.adapters.registry import vendor_for
from kyc.models import KycSettings, VendorEvent

STARTED = "verification.started"


def client_reference(client: Client) -> str:
    """Our external id for a client at a vendor: the tenant's schema and the client's id, so an id
    sent by one tenant never names a client of another."""
    return f"{connection.schema_name}:{client.pk}"


def client_from_reference(reference: str) -> Client | None:
    """The client an external id names in this tenant ("<schema>:<id>"); None for another tenant's
    reference, an unknown id, or a bare id (which names no tenant, so it could be anyone's client)."""
    schema, _, number = reference.rpartition(":")
    if schema != connection.schema_name:
        return None
    if not (number.isascii() and number.isdigit() and len(number) <= 18):  # a bigint, not any digit string
        return None
    return Client.objects.filter(pk=int(number)).first()


def client_for_verdict(provider: str, verdict: Verdict) -> Client | None:
    """Our reference when the vendor echoes it; otherwise the applicant id recorded at the start."""
    if verdict.client_reference:
        client = client_from_reference(verdict.client_reference)
        if client is not None:
            return client
    if not verdict.applicant_id:
        return None
    started = (
        VendorEvent.objects.filter(provider=provider, event_id=f"start:{verdict.applicant_id}", client__isnull=False)
        .select_related("client")
        .first()
    )
    return started.client if started else None


def vendor_approved(client: Client, provider: str) -> bool:
    """Whether `provider`'s latest verdict on the client (kyc.webhooks audits each one it applies) is
    an approval. With a vendor configured, the built-in checks alone approve nobody: kyc_evaluate
    approves a complete file only on top of the vendor's approval."""
    latest = (
        AuditRecord.objects.filter(
            action="kyc.vendor.verdict_applied",
            object_type=Client._meta.label,
            object_id=str(client.pk),
            after__provider=provider,
        )
        .order_by("-id")
        .values_list("after", flat=True)
        .first()
    )
    return bool(latest) and latest.get("outcome") == Outcome.APPROVED


def started_applicant(provider: str, client: Client) -> str:
    """The vendor's applicant id from the client's earlier start there ("" if none)."""
    started = VendorEvent.objects.filter(provider=provider, client=client, event_type=STARTED).order_by("-id").first()
    return str(started.payload.get("applicant_id") or "") if started else ""


def verification_start(*, client: Client, actor) -> VerificationStart:
    """Open the client's verification at the tenant's vendor, or continue the one an earlier start
    opened (same applicant, a fresh link or token). For a real vendor the applicant id is recorded
    (a VendorEvent "verification.started", event id "start:<applicant id>"), which is how a vendor
    that never echoes our id (Onfido) is mapped back to the client. Raises VendorError when the
    vendor fails, ImproperlyConfigured when the stored secrets cannot be decrypted."""
    settings = KycSettings.current()
    vendor = vendor_for(settings)
    start = vendor.verification_start(
        client, reference=client_reference(client), applicant_id=started_applicant(vendor.provider, client)
    )
    if not vendor.uses_webhooks:
        return start
    with transaction.atomic():
        try:
            with transaction.atomic():
                VendorEvent.objects.create(
                    provider=vendor.provider,
                    event_id=f"start:{start.applicant_id}"[:120],
                    event_type=STARTED,
                    client=client,
                    payload={"applicant_id": start.applicant_id, "reference": client_reference(client)},
                    outcome=VendorEvent.Outcome.APPLIED,
                    detail=f"Verification started at {vendor.label}",
                )
        except IntegrityError:  # the vendor returned an applicant we already know: nothing new
            return start
        audit_log(
            actor=actor,
            action="kyc.vendor.verification_started",
            obj=client,
            after={"provider": vendor.provider, "applicant_id": start.applicant_id},
        )
    return start
