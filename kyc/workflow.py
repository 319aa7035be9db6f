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
from kyc.models import Document, DocumentRequest, KycSettings, Review, ScreeningHit
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


def review_reasons(client: Client, *, level: str) -> list[str]:
    """Why a person must look at this file; empty when the machine may decide it."""
    reasons = []
    for document in client.kyc_documents.filter(status=Document.Status.NEEDS_REVIEW):
        reasons.append(
            f"{document.get_kind_display()} ({document.get_side_display().lower()}): {document.status_reason}"
        )
    hits = client.screening_hits.filter(status=ScreeningHit.Status.OPEN).count()
    if hits:
        reasons.append(f"{hits} open watchlist hit{'s' if hits > 1 else ''} to decide")
    if client.screening_hits.filter(status=ScreeningHit.Status.CONFIRMED).exists():
        reasons.append("A confirmed watchlist match")
    if level == Client.RiskLevel.HIGH:
        reasons.append("High risk: needs two compliance officers")
    checking = client.kyc_documents.filter(status=Document.Status.CHECKING)
    if checking:
        reasons.append("Still being checked: " + ", ".join(sorted({d.get_kind_display() for d in checking})))
    if not KycSettings.current().auto_approve:
        reasons.append("Every file is reviewed by a person (automatic approval is off)")
    return reasons


def review_open(client: Client, reasons: list[str]) -> Review:
    """The client's open review with these reasons (one open review per client, SLA from the first)."""
    review = Review.objects.filter(client=client, status__in=Review.OPEN_STATUSES).first()
    if review is None:
        review = Review.objects.create(client=client, reasons=reasons)
    elif review.reasons != reasons:
        review.reasons = reasons
        review.save(update_fields=["reasons"])
    return review


def _requests_answered(client: Client) -> bool:
    """Whether the client uploaded every kind of document staff (or expiry monitoring) asked for
    since they asked; answered requests are marked fulfilled. Until then the file waits for the
    client: the documents already on file were what prompted the request."""
    open_requests = list(DocumentRequest.objects.filter(client=client, fulfilled_at__isnull=True))
    answered = []
    for request in open_requests:
        uploaded = set(
            client.kyc_documents.filter(uploaded_at__gt=request.created_at, kind__in=request.kinds)
            .exclude(status=Document.Status.REPLACED)
            .values_list("kind", flat=True)
        )
        if not set(request.kinds) <= uploaded:
            return False
        answered.append(request.pk)
    DocumentRequest.objects.filter(pk__in=answered).update(fulfilled_at=timezone.now())
    return True


def kyc_evaluate(client_id: int, *, trigger: str) -> Client:
    """Re-score and, when the file is complete, decide it or queue it. Safe to call any number of
    times (events, tasks and pages all call it); the client's row lock serialises concurrent calls."""
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client_id)
        assessment = risk_assess(client, trigger=trigger)
        if client.kyc_status == KycStatus.REJECTED:
            return client
        states = requirement_states(client)
        if client.kyc_status == KycStatus.APPROVED:
            # Ongoing monitoring: a new hit or a high risk on an approved client goes to a person,
            # who may confirm (and act) or close it; the status stays until they decide.
            if client.screening_hits.filter(status=ScreeningHit.Status.OPEN).exists():
                review_open(client, review_reasons(client, level=assessment.level))
            return client
        if not submission_complete(client, states) or not _requests_answered(client):
            return client
        reasons = review_reasons(client, level=assessment.level)
        if reasons:
            review_open(client, reasons)
            kyc_status_set(client, KycStatus.PENDING, reason="; ".join(reasons))
        else:
            Review.objects.filter(client=client, status__in=Review.OPEN_STATUSES).update(
                status=Review.Status.APPROVED, decided_at=timezone.now(), staff_note="Approved by the automatic checks"
            )
            kyc_status_set(
                client,
                KycStatus.APPROVED,
                reason=f"Every automatic check passed; screening clear; risk {assessment.level}",
            )
    return client
