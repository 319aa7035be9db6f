"""Starting a verification at the tenant's vendor, and finding the client a vendor's event is about."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction

from brokerage.audit import audit_log
from crm.models import Client
from kyc.adapters.base import Verdict, VerificationStart
from kyc.adapters.registry import vendor_for
from kyc.models import KycSettings, VendorEvent

STARTED = "verification.started"


def client_reference(client: Client) -> str:
    """Our external id for a client at a vendor: the tenant's schema and the client's id, so an id
    sent by one tenant never names a client of another."""
    return f"{connection.schema_name}:{client.pk}"


def client_from_reference(reference: str) -> Client | None:
    """The client an external id names in this tenant ("<schema>:<id>", or the bare id); None for
    another tenant's reference or an unknown id."""
    schema, _, number = reference.rpartition(":")
    if schema and schema != connection.schema_name:
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


def verification_start(*, client: Client, actor) -> VerificationStart:
    """Open the client's verification at the tenant's vendor. For a real vendor the applicant id is
    recorded (a VendorEvent "verification.started", event id "start:<applicant id>"), which is how
    a vendor that never echoes our id (Onfido) is mapped back to the client."""
    settings = KycSettings.current()
    vendor = vendor_for(settings)
    start = vendor.verification_start(client, reference=client_reference(client))
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
