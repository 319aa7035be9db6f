"""The KYC file's state machine: after anything that can change the outcome (a document checked, a
profile change, a screening, a vendor's verdict), `kyc_evaluate` scores the risk and, once the client
has submitted everything, approves the file itself or puts it in the review queue with the reasons
the machine could not decide. Staff decisions (kyc.review) end in `kyc_status_set` too.

Client.kyc_status is the one status everything else reads (payments' withdrawal checks, CRM lists).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from brokerage.audit import audit_log
from brokerage.events import event_publish
from crm.comms import email_send_system
from crm.links import client_url
from crm.models import Client
from crm.timeline import timeline_record
from kyc.adapters.registry import VENDORS
from kyc.adapters.services import vendor_approved
from kyc.models import Document, DocumentCheck, DocumentRequest, KycSettings, Review, ScreeningHit
from kyc.requirements import requirement_states, submission_complete
from kyc.risk import risk_assess

KycStatus = Client.KycStatus

CLIENT_MESSAGES = {
    KycStatus.PENDING: (
        "Your documents are with our team",
        "We have everything we need and will review your file shortly.",
    ),
    KycStatus.APPROVED: ("Your account is verified", "Your identity is verified. Deposits and withdrawals are open."),
    KycStatus.REJECTED: ("Your verification was declined", "We could not verify your account."),
    KycStatus.DOCUMENTS_REQUESTED: ("We need more documents", "Please upload the documents we asked for."),
}


def kyc_status_set(client: Client, status: str, *, actor=None, reason: str = "", client_message: str = "") -> bool:
    """Move the client's KYC status (locked row), with audit, timeline, an event and an email to the
    client; False when it already had that status."""
    with transaction.atomic():
        locked = Client.objects.select_for_update().get(pk=client.pk)
        before = locked.kyc_status
        if before == status:
            return False
        now = timezone.now()
        fields = {"kyc_status": status, "kyc_status_changed_at": now}
        if status == KycStatus.APPROVED and locked.status in (Client.Status.LEAD, Client.Status.REGISTERED):
            fields["status"] = Client.Status.VERIFIED
        Client.objects.filter(pk=locked.pk).update(**fields)
        for name, value in fields.items():
            setattr(client, name, value)
        label = KycStatus(status).label
        audit_log(
            actor=actor,
            action="kyc.status.changed",
            obj=locked,
            before={"kyc_status": before},
            after={"kyc_status": status, "reason": reason},
        )
        timeline_record(
            client_id=locked.pk,
            kind="kyc",
            topic="kyc.status_changed",
            title=f"KYC: {label.lower()}",
            detail=reason,
            url=client_url(locked),
            actor=actor,
            source=f"kyc-status:{locked.pk}:{now.isoformat()}",
        )
        event_publish("kyc.status_changed", {"client_id": locked.pk, "from": before, "to": status})
        subject, body = CLIENT_MESSAGES.get(status, ("", ""))
        if subject:
            text = f"{body}\n\n{client_message}".strip() if client_message else body
            email_send_system(client=locked, subject=subject, body=text)
    return True


def _staff_detail(document: Document) -> str:
    """What staff read about a document: the summaries of its checks that did not pass (the client's
    own status_reason only says that a person will look)."""
    flagged = [check.summary for check in document.checks.all() if check.outcome != DocumentCheck.Outcome.PASS]
    return " ".join(flagged) or document.status_reason


def review_reasons(client: Client, *, level: str) -> list[str]:
    """Why a person must look at this file; empty when the machine may decide it."""
    reasons = []
    for document in client.kyc_documents.filter(status=Document.Status.NEEDS_REVIEW).prefetch_related("checks"):
        reasons.append(
            f"{document.get_kind_display()} ({document.get_side_display().lower()}): {_staff_detail(document)}"
        )
    hits = client.screening_hits.filter(status=ScreeningHit.Status.OPEN).count()
    if hits:
        reasons.append(f"{hits} open watchlist hit{'s' if hits > 1 else ''} to decide")
    if client.screening_hits.filter(status=ScreeningHit.Status.CONFIRMED).exists():
        reasons.append("A confirmed watchlist match")
    if level == Client.RiskLevel.HIGH:
        reasons.append("High risk: needs two compliance officers")
    if not KycSettings.current().auto_approve:
        reasons.append("Every file is reviewed by a person (automatic approval is off)")
    return reasons


def review_open(client: Client, reasons: list[str]) -> Review:
    """The client's open review (one per client, SLA from its opening) with the current reasons; an
    open review keeps its reasons when none are left, since only a person closes it."""
    review = Review.objects.filter(client=client, status__in=Review.OPEN_STATUSES).first()
    if review is None:
        review = Review.objects.create(client=client, reasons=reasons)
    elif reasons and review.reasons != reasons:
        review.reasons = reasons
        review.save(update_fields=["reasons"])
    return review


def _request_groups(kinds) -> set[str]:
    """Identity documents stand in for each other: a request for a passport is answered by an ID card."""
    return {"identity" if kind in Document.IDENTITY_KINDS else kind for kind in kinds}


def _requests_answered(client: Client) -> tuple[bool, list[DocumentRequest]]:
    """Whether the client uploaded what staff (or expiry monitoring) asked for since they asked, and
    the requests that answers (marked fulfilled). Until then the file waits for the client: the
    documents already on file were what prompted the request."""
    open_requests = list(DocumentRequest.objects.filter(client=client, fulfilled_at__isnull=True))
    for request in open_requests:
        uploaded = (
            client.kyc_documents.filter(uploaded_at__gt=request.created_at)
            .exclude(status=Document.Status.REPLACED)
            .values_list("kind", flat=True)
        )
        if not _request_groups(request.kinds) <= _request_groups(uploaded):
            return False, []
    DocumentRequest.objects.filter(pk__in=[r.pk for r in open_requests]).update(fulfilled_at=timezone.now())
    return True, open_requests


def _monitoring_reasons(client: Client) -> tuple[list[str], list[ScreeningHit]]:
    """What on an approved client needs a person: open hits, matches confirmed since the approval,
    identity documents uploaded since then that failed or need a look."""
    since = client.kyc_status_changed_at or client.created_at
    reasons = []
    open_hits = client.screening_hits.filter(status=ScreeningHit.Status.OPEN).count()
    if open_hits:
        reasons.append(f"{open_hits} open watchlist hit{'s' if open_hits > 1 else ''} to decide")
    confirmed = list(client.screening_hits.filter(status=ScreeningHit.Status.CONFIRMED, decided_at__gt=since))
    for hit in confirmed:
        what = "PEP" if hit.is_pep else "sanctions"
        reasons.append(f"Confirmed {what} match after approval: {hit.entry.get('name', hit.entry_id)}")
    for document in client.kyc_documents.filter(
        uploaded_at__gt=since,
        kind__in=Document.IDENTITY_KINDS,
        status__in=[Document.Status.FAILED, Document.Status.NEEDS_REVIEW],
    ):
        reasons.append(f"New {document.get_kind_display().lower()} after approval: {_staff_detail(document)}")
    return reasons, confirmed


def identity_changed(client_id: int, fields, *, changed_at) -> Review | None:
    """An approved client's name, birth date or nationality changed at `changed_at`: a person
    compares the new details with the documents on file (the status stays until they decide). A
    change made before the approval (an event delivered late) was part of what was approved."""
    labels = sorted(Client._meta.get_field(name).verbose_name for name in fields)
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client_id)
        if client.kyc_status != KycStatus.APPROVED:
            return None
        if client.kyc_status_changed_at and changed_at <= client.kyc_status_changed_at:
            return None
        return review_open(
            client, [f"Identity details changed after approval ({', '.join(labels)}): compare them with the documents"]
        )


def kyc_evaluate(client_id: int, *, trigger: str) -> Client:
    """Re-score and, when the file is complete, decide it or queue it. Safe to call any number of
    times (events, tasks and pages all call it); the client's row lock serialises concurrent calls.

    The machine approves only a file no person has been asked about: once a review is open, only a
    person (or a vendor's verdict through kyc.review) closes it, so a client cannot talk a high-risk
    file out of its second approval by editing the profile.
    """
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client_id)
        assessment = risk_assess(client, trigger=trigger)
        if client.kyc_status == KycStatus.REJECTED:
            return client
        if client.kyc_status == KycStatus.APPROVED:
            reasons, confirmed = _monitoring_reasons(client)
            if reasons:
                review_open(client, reasons)
            if confirmed:
                # A confirmed match stops withdrawals (payments reads the status) until a person decides.
                kyc_status_set(client, KycStatus.PENDING, reason="; ".join(reasons))
            return client
        states = requirement_states(client)
        if not submission_complete(client, states):
            return client
        answered, requests = _requests_answered(client)
        if not answered or client.kyc_documents.filter(status=Document.Status.CHECKING).exists():
            return client  # the client still owes a document, or the check task evaluates again
        reasons = review_reasons(client, level=assessment.level)
        vendor = VENDORS.get(KycSettings.current().provider)
        if vendor is not None and vendor.uses_webhooks and not vendor_approved(client, vendor.provider):
            reasons.append(
                f"Waiting for {vendor.label}'s identity verification: the built-in checks alone do not approve"
            )
        asked = sorted({kind for r in requests if r.requested_by_id for kind in r.kinds})
        if asked:
            reasons.append(
                "The documents staff asked for arrived: " + ", ".join(Document.Kind(k).label.lower() for k in asked)
            )
        if reasons or Review.objects.filter(client=client, status__in=Review.OPEN_STATUSES).exists():
            review_open(client, reasons)
            kyc_status_set(client, KycStatus.PENDING, reason="; ".join(reasons))
        else:
            kyc_status_set(
                client,
                KycStatus.APPROVED,
                reason=f"Every automatic check passed; screening clear; risk {assessment.level}",
            )
    return client
