"""Decisions on a KYC review: approve (with four eyes for high risk), reject, request documents.

Each service locks the review row, refuses a review that is already decided, writes its audit
record in the same transaction and ends in `kyc.workflow.kyc_status_set` (which tells the client).
Staff pages and the vendor webhook (actor None) use the same functions.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from brokerage.audit import audit_log, snapshot
from brokerage.errors import ApplicationError
from brokerage.roles import perm
from crm.links import person_label
from crm.models import Client
from crm.visibility import visibility_filter
from kyc.models import Document, DocumentRequest, Review, ScreeningHit
from kyc.requirements import MISSING, missing, requirement_states, submission_complete
from kyc.workflow import kyc_status_set

Status = Review.Status
AUDITED_FIELDS = ["status", "first_approver", "first_approved_at", "decided_by", "decided_at", "client_message"]
MESSAGE_MAX = 2000


# Reads ------------------------------------------------------------------------------------------------


def _open_hits(client_ref: str = "client") -> Subquery:
    return Subquery(
        ScreeningHit.objects.filter(client=OuterRef(client_ref), status=ScreeningHit.Status.OPEN)
        .order_by()
        .values("client")
        .annotate(count=Count("id"))
        .values("count"),
        output_field=IntegerField(),
    )


def review_scope(user, queryset: QuerySet[Review] | None = None) -> QuerySet[Review]:
    """Reviews of the clients `user` may see (crm.visibility); no subquery for those who see all."""
    queryset = Review.objects.all() if queryset is None else queryset
    limit = visibility_filter(user)
    return queryset if limit is None else queryset.filter(client__in=Client.objects.filter(limit))


def reviews_visible_to(user, queryset: QuerySet[Review] | None = None) -> QuerySet[Review]:
    """`review_scope` with the client, the approvers and the client's open hit count."""
    return (
        review_scope(user, queryset)
        .select_related("client", "first_approver", "decided_by")
        .annotate(open_hits=Coalesce(_open_hits(), Value(0)))
    )


def review_queue(user, *, risk: str = "", awaiting_second: bool = False, overdue_before=None, with_hits=False):
    """Open reviews `user` may see, oldest first (the SLA clock runs from `opened_at`)."""
    queue = reviews_visible_to(user, Review.objects.filter(status__in=Review.OPEN_STATUSES))
    if risk:
        queue = queue.filter(client__risk_level=risk)
    if awaiting_second:
        queue = queue.filter(status=Status.AWAITING_SECOND)
    if overdue_before is not None:
        queue = queue.filter(opened_at__lt=overdue_before)
    if with_hits:
        queue = queue.filter(
            Exists(ScreeningHit.objects.filter(client=OuterRef("client"), status=ScreeningHit.Status.OPEN))
        )
    return queue.order_by("opened_at", "id")


def submission_gaps(client: Client) -> list[str]:
    """What the client has not submitted yet (requirement labels); empty once the submission is
    complete, and for an approved client (a monitoring review keeps them approved)."""
    if client.kyc_status == Client.KycStatus.APPROVED:
        return []
    states = requirement_states(client)
    if submission_complete(client, states):
        return []
    return [r.label for r in missing(client, states) if r.state == MISSING and r.code != "approval"]


def approval_blockers(review: Review) -> list[str]:
    """What must happen before anyone (a person or a vendor) may approve: the client's submission
    complete, open watchlist hits decided, no confirmed sanctions match, documents checked and
    decided, each named."""
    blockers = []
    gaps = submission_gaps(review.client)
    if gaps:
        blockers.append(f"The client has not completed: {', '.join(gaps)}.")
    hits = list(review.client.screening_hits.filter(status=ScreeningHit.Status.OPEN).order_by("-score", "id"))
    if hits:
        names = ", ".join(f"{hit.entry.get('name') or hit.entry_id} ({hit.source}, score {hit.score})" for hit in hits)
        blockers.append(f"Decide the open watchlist hit{'s' if len(hits) > 1 else ''} first: {names}.")
    sanctioned = list(
        review.client.screening_hits.filter(status=ScreeningHit.Status.CONFIRMED, is_pep=False).order_by("id")
    )
    if sanctioned:
        names = ", ".join(f"{hit.entry.get('name') or hit.entry_id} ({hit.source})" for hit in sanctioned)
        # A PEP may be accepted with enhanced due diligence (four eyes); a sanctioned person may not.
        blockers.append(f"A confirmed sanctions match cannot be approved: {names}. Reject the application.")
    documents = review.client.kyc_documents.filter(
        status__in=(Document.Status.CHECKING, Document.Status.NEEDS_REVIEW)
    ).order_by("uploaded_at", "id")
    checking = [d for d in documents if d.status == Document.Status.CHECKING]
    undecided = [d for d in documents if d.status == Document.Status.NEEDS_REVIEW]
    if checking:
        blockers.append("Still being checked: " + ", ".join(_document_label(d) for d in checking) + ".")
    if undecided:
        blockers.append("Accept or reject first: " + ", ".join(_document_label(d) for d in undecided) + ".")
    return blockers


def _document_label(document: Document) -> str:
    side = "" if document.side == Document.Side.SINGLE else f" ({document.get_side_display().lower()})"
    return f"{document.get_kind_display()}{side} uploaded {document.uploaded_at:%Y-%m-%d %H:%M}"


def is_high_risk(review: Review) -> bool:
    return review.client.risk_level == Client.RiskLevel.HIGH


def approve_refusal(review: Review, user) -> str:
    """Why `user` may not approve this review now ("" when they may): the page shows it, the service
    enforces the same rules."""
    if review.status not in Review.OPEN_STATUSES:
        return f"This review is already decided ({review.get_status_display().lower()})."
    compliance = user is not None and user.has_perm(perm("kyc_compliance"))
    if review.status == Status.AWAITING_SECOND or is_high_risk(review):
        if user is None:
            return "A vendor's verdict cannot approve a high-risk client: two compliance officers must."
        if not compliance:
            return (
                "High-risk clients need two compliance officers: approving needs the KYC compliance "
                "permission, which you do not have. You may still reject or request documents."
            )
        if review.status == Status.AWAITING_SECOND and review.first_approver_id == user.pk:
            return "You gave the first approval: a second, different compliance officer must approve."
    blockers = approval_blockers(review)
    return " ".join(blockers)


# Writes ------------------------------------------------------------------------------------------------


def _require_reviewer(actor) -> None:
    if actor is not None and not (actor.is_authenticated and actor.has_perm(perm("kyc_review"))):
        raise PermissionDenied


def _locked(review: Review) -> Review:
    """The review row, locked for this transaction, with its client. The client row is locked first,
    in the order kyc_evaluate takes them (client, then its review), so the two never deadlock."""
    Client.objects.select_for_update().filter(pk=review.client_id).first()
    return Review.objects.select_for_update(of=("self",)).select_related("client").get(pk=review.pk)


def _refuse_decided(review: Review) -> None:
    if review.status not in Review.OPEN_STATUSES:
        who = f" by {person_label(review.decided_by)}" if review.decided_at else ""
        raise ApplicationError(
            f"This review was already decided{who}: {review.get_status_display().lower()}.", code="decided"
        )


def _actor_name(actor) -> str:
    return person_label(actor) if actor is not None else "the KYC vendor"


def review_approve(review: Review, *, actor, seen_status: str | None = None) -> Review:
    """Approve the file, or give the first of two approvals when the client is high risk.

    Four eyes: a high-risk client (or a review already awaiting its second approval) needs two
    different users with kyc_compliance; the first approval moves the review to awaiting_second.

    `seen_status` is the status the approver saw (the page posts it; it defaults to the status of the
    `review` object passed in). If it changed meanwhile the approval is refused: two officers who
    both clicked "Give first approval" at once must not become first and second approver without the
    second one having seen the first approval.

    `actor=None` is a vendor's verdict (kyc.webhooks). It approves an ordinary file, but never a
    high-risk one nor one awaiting a second approval: the vendor checks identity, not the tenant's
    risk appetite, so four eyes still needs two people. It is also refused while the client's
    submission is incomplete, hits are open or documents wait, like a person's approval.
    """
    _require_reviewer(actor)
    expected = seen_status or review.status
    with transaction.atomic():
        review = _locked(review)
        _refuse_decided(review)
        if review.status != expected:
            raise ApplicationError(
                f"{person_label(review.first_approver)} gave the first approval while you were looking: "
                "reload the review and approve again as the second officer if you agree.",
                code="changed",
            )
        refusal = approve_refusal(review, actor)
        if refusal:
            raise ApplicationError(refusal, code="not_approvable")
        before = snapshot(review, AUDITED_FIELDS)
        now = timezone.now()
        if review.status == Status.OPEN and is_high_risk(review):
            review.status = Status.AWAITING_SECOND
            review.first_approver = actor
            review.first_approved_at = now
            review.save(update_fields=["status", "first_approver", "first_approved_at"])
            audit_log(
                actor=actor,
                action="kyc.review.first_approval",
                obj=review,
                before=before,
                after=snapshot(review, AUDITED_FIELDS),
            )
            return review
        review.status = Status.APPROVED
        review.decided_by = actor
        review.decided_at = now
        review.save(update_fields=["status", "decided_by", "decided_at"])
        audit_log(
            actor=actor, action="kyc.review.approved", obj=review, before=before, after=snapshot(review, AUDITED_FIELDS)
        )
        second = f"; first approval by {person_label(review.first_approver)}" if review.first_approver_id else ""
        kyc_status_set(
            review.client, Client.KycStatus.APPROVED, actor=actor, reason=f"Approved by {_actor_name(actor)}{second}"
        )
    return review


def _text(value: str) -> str:
    return "\n".join(" ".join(line.split()) for line in (value or "").strip().splitlines()).strip()


def review_reject(review: Review, *, actor, reason: str) -> Review:
    """Decline the file; `reason` is shown to the client (status page and email)."""
    _require_reviewer(actor)
    reason = _text(reason)
    if not reason:
        raise ApplicationError("Say why: the client reads the reason.", fields={"reason": ["Required."]})
    if len(reason) > MESSAGE_MAX:
        raise ApplicationError(
            f"Keep the reason under {MESSAGE_MAX} characters.", fields={"reason": ["Too long."]}, code="too_long"
        )
    with transaction.atomic():
        review = _locked(review)
        _refuse_decided(review)
        before = snapshot(review, AUDITED_FIELDS)
        review.status = Status.REJECTED
        review.decided_by = actor
        review.decided_at = timezone.now()
        review.client_message = reason
        review.save(update_fields=["status", "decided_by", "decided_at", "client_message"])
        audit_log(
            actor=actor, action="kyc.review.rejected", obj=review, before=before, after=snapshot(review, AUDITED_FIELDS)
        )
        kyc_status_set(
            review.client,
            Client.KycStatus.REJECTED,
            actor=actor,
            reason=f"Rejected by {_actor_name(actor)}: {reason}",
            client_message=reason,
        )
    return review


def review_request_documents(review: Review, *, actor, kinds: list[str], message: str) -> DocumentRequest:
    """Ask the client for documents (what and why); the review closes as documents_requested and the
    client's status says so until they upload and the file is evaluated again."""
    _require_reviewer(actor)
    kinds = list(dict.fromkeys(kinds or []))
    message = _text(message)
    fields = {}
    unknown = [kind for kind in kinds if kind not in Document.Kind.values]
    if not kinds or unknown:
        fields["kinds"] = ["Choose the documents the client should upload."]
    if not message:
        fields["message"] = ["Required: the client reads it."]
    elif len(message) > MESSAGE_MAX:
        fields["message"] = [f"Keep it under {MESSAGE_MAX} characters."]
    if fields:
        raise ApplicationError("Say which documents and why.", fields=fields)
    with transaction.atomic():
        review = _locked(review)
        _refuse_decided(review)
        before = snapshot(review, AUDITED_FIELDS)
        request = DocumentRequest.objects.create(
            client=review.client, review=review, kinds=kinds, message=message, requested_by=actor
        )
        review.status = Status.DOCUMENTS_REQUESTED
        review.decided_by = actor
        review.decided_at = timezone.now()
        review.client_message = message
        review.save(update_fields=["status", "decided_by", "decided_at", "client_message"])
        labels = ", ".join(Document.Kind(kind).label.lower() for kind in kinds)
        audit_log(
            actor=actor,
            action="kyc.review.documents_requested",
            obj=review,
            before=before,
            after={**snapshot(review, AUDITED_FIELDS), "kinds": kinds},
        )
        kyc_status_set(
            review.client,
            Client.KycStatus.DOCUMENTS_REQUESTED,
            actor=actor,
            reason=f"Documents requested by {_actor_name(actor)}: {labels}",
            client_message=f"We need: {labels}.\n{message}",
        )
    return request
