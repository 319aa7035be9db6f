"""KYC documents: upload (checked, stored encrypted), the automatic checks run by a task after
commit, and staff's accept / reject.

Document.status moves here (and to expired in kyc.expiry):
    checking -> passed | needs_review | failed          (the checks)
    passed | needs_review | failed | rejected -> accepted   (staff)
    passed | needs_review | failed | accepted -> rejected   (staff)
    any -> replaced                                      (a newer upload of the same kind and side)

A good document (passed or accepted) stays in force until a newer one of its kind and side becomes
good: a bad re-upload never takes a client's level away. Earlier uploads that are not good are
replaced as soon as a newer one arrives.
Every change is audited and ends in kyc.workflow.kyc_evaluate, which decides the client's file.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.events import event_publish
from brokerage.roles import perm
from crm.links import person_label
from crm.models import Client
from crm.timeline import timeline_record
from crm.visibility import client_visible_or_404
from kyc import storage
from kyc.checks import FAIL, CheckResult, document_checks, status_resolve
from kyc.models import Document, DocumentCheck
from kyc.requirements import SIDES_NEEDED
from kyc.uploads import display_name, upload_check
from kyc.workflow import kyc_evaluate

logger = logging.getLogger(__name__)

Status = Document.Status
ACCEPT_FROM = (Status.PASSED, Status.NEEDS_REVIEW, Status.FAILED, Status.REJECTED)
REJECT_FROM = (Status.PASSED, Status.NEEDS_REVIEW, Status.FAILED, Status.ACCEPTED)
MAX_TEXT = 5000
REPLACED_REASON = "Replaced by a newer upload."


def document_file_url(document: Document) -> str:
    return reverse("kyc_document_file", args=[document.pk])


def _staff_allowed(actor, client: Client) -> None:
    """Staff acting on a client's documents need kyc_review and must see the client (404 otherwise)."""
    if actor is None or not actor.has_perm(perm("kyc_review")):
        raise PermissionDenied("Reviewing KYC documents needs the kyc_review capability.")
    client_visible_or_404(actor, client.pk)


def _upload_allowed(actor, client: Client) -> None:
    """The client themselves, the system (a vendor, actor None), or staff who may review the client."""
    if actor is None or (client.user_id is not None and actor.pk == client.user_id):
        return
    _staff_allowed(actor, client)


def _side_valid(kind: str, side: str) -> None:
    if kind not in Document.Kind.values:
        raise ApplicationError("Pick the kind of document.", fields={"kind": ["Unknown kind of document."]})
    sides = SIDES_NEEDED[kind]
    if side not in sides:
        labels = " or ".join(Document.Side(s).label.lower() for s in sides)
        raise ApplicationError(
            f"A {Document.Kind(kind).label.lower()} is uploaded as: {labels}.", fields={"side": ["Pick the side."]}
        )


def document_upload(
    *,
    client: Client,
    kind: str,
    side: str,
    upload: UploadedFile,
    actor,
    mrz_text: str = "",
    issued_on: date | None = None,
    address_text: str = "",
    expires_on: date | None = None,
) -> Document:
    """Check and store an upload, replacing earlier uploads of the same kind and side that are not
    good (a good one stays until this one becomes good); the checks run in a task once this commits.
    `expires_on` and `issued_on` are what the client read off a document without an MRZ (a driving
    licence; `issued_on` is also a proof of address's date)."""
    _upload_allowed(actor, client)
    _side_valid(kind, side)
    checked = upload_check(upload)
    if kind == Document.Kind.SELFIE and not checked.content_type.startswith("image/"):
        shown = display_name(upload.name)
        raise ApplicationError(f"{shown}: A selfie must be a photo (JPEG, PNG or WebP), not a PDF.")
    text = (address_text if kind == Document.Kind.PROOF_OF_ADDRESS else mrz_text).strip()
    if len(text) > MAX_TEXT:
        raise ApplicationError(
            f"The text is too long (at most {MAX_TEXT} characters).", fields={"text": ["Shorten it."]}
        )
    # Written before the transaction: a rollback leaves an orphan encrypted file, never a row without its file.
    stored_name = storage.file_save(checked.data)
    with transaction.atomic():
        Client.objects.select_for_update().get(pk=client.pk)  # one upload per client at a time
        previous = Document.objects.filter(client=client, kind=kind, side=side).exclude(
            status__in=(Status.REPLACED, *Document.GOOD)
        )
        replaced = sorted(previous.values_list("pk", flat=True))
        previous.update(status=Status.REPLACED, status_reason=REPLACED_REASON)
        document = Document.objects.create(
            client=client,
            kind=kind,
            side=side,
            file=stored_name,
            original_name=display_name(upload.name)[:200],
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            mrz_text=text,
            issued_on=issued_on,
            expires_on=expires_on,
            uploaded_by=actor,
        )
        facts = {"kind": kind, "side": side, "size": checked.size, "content_type": checked.content_type}
        audit_log(
            actor=actor,
            action="kyc.document.uploaded",
            obj=document,
            after={**facts, "sha256": checked.sha256, "replaced": replaced},
        )
        title = f"KYC: {document.get_kind_display().lower()} ({document.get_side_display().lower()}) uploaded"
        timeline_record(
            client_id=client.pk,
            kind="kyc",
            topic="kyc.document_uploaded",
            title=title,
            detail="Replaces an earlier upload." if replaced else "",
            url=document_file_url(document),
            actor=actor,
            source=f"kyc-document:{document.pk}",
        )
        event_publish("kyc.document_uploaded", {"client_id": client.pk, "document_id": document.pk, **facts})
        schema = connection.schema_name
        transaction.on_commit(lambda: _check_enqueue(schema, document.pk))
    return document


def _check_enqueue(schema: str, document_id: int) -> None:
    """Hand the check to the broker; when it is down, `documents_checking_sweep` runs it later."""
    from kyc.tasks_documents import document_check

    with schema_context(schema):
        try:
            document_check.delay(document_id)
        except Exception:  # kombu raises several kinds; the document stays CHECKING for the sweep
            logger.exception("could not enqueue document_check(%s)", document_id)


def _older_replace(document: Document) -> list[int]:
    """`document` became good: earlier uploads of its kind and side (the good one it was waiting to
    take over from) are replaced now. The caller holds the client's lock."""
    older = Document.objects.filter(
        client_id=document.client_id, kind=document.kind, side=document.side, pk__lt=document.pk
    ).exclude(status=Status.REPLACED)
    replaced = sorted(older.values_list("pk", flat=True))
    older.update(status=Status.REPLACED, status_reason=REPLACED_REASON)
    return replaced


def document_checks_apply(document_id: int, *, today: date | None = None) -> Document | None:
    """Run the automatic checks of a document still being checked and store their results; None when
    it is not (checked already, replaced, gone): running twice changes nothing."""
    client_id = Document.objects.filter(pk=document_id).values_list("client_id", flat=True).first()
    if client_id is None:
        return None
    today = today or timezone.localdate()
    with transaction.atomic():
        # Client first, like uploads and staff decisions: the same lock order everywhere.
        Client.objects.select_for_update().get(pk=client_id)
        document = (
            Document.objects.select_for_update(of=("self",))
            .select_related("client")
            .filter(pk=document_id, status=Status.CHECKING)
            .first()
        )
        if document is None:
            return None
        try:
            data = storage.file_read(document.file)
        except (OSError, ImproperlyConfigured):  # lost or undecryptable: the client must send it again
            logger.exception("stored file of document %s cannot be read", document.pk)
            results, updates = [CheckResult("file", FAIL, "We could not read the stored file. Upload it again.")], {}
        else:
            results, updates = document_checks(document, data, today=today)
        status, reason = status_resolve(results)
        DocumentCheck.objects.filter(document=document).delete()
        DocumentCheck.objects.bulk_create(
            DocumentCheck(
                document=document, name=r.name, outcome=r.outcome, summary=r.summary[:300], evidence=r.evidence
            )
            for r in results
        )
        for name, value in updates.items():
            setattr(document, name, value)
        document.status, document.status_reason, document.checked_at = status, reason, timezone.now()
        document.save(update_fields=[*updates, "status", "status_reason", "checked_at"])
        replaced = _older_replace(document) if status in Document.GOOD else []
        audit_log(
            actor=None,
            action="kyc.document.checked",
            obj=document,
            before={"status": Status.CHECKING},
            after={"status": status, "checks": {r.name: r.outcome for r in results}, "replaced": replaced},
        )
        timeline_record(
            client_id=document.client_id,
            kind="kyc",
            topic="kyc.document_checked",
            title=f"KYC: {document.get_kind_display().lower()} {document.get_status_display().lower()}",
            detail=reason,
            url=document_file_url(document),
            source=f"kyc-document-checked:{document.pk}",
        )
        event_publish(
            "kyc.document_checked", {"client_id": document.client_id, "document_id": document.pk, "status": status}
        )
    return document


def document_check_now(document_id: int) -> bool:
    """Check a document and re-evaluate its client's file; False when there was nothing to check."""
    document = document_checks_apply(document_id)
    if document is None:
        return False
    kyc_evaluate(document.client_id, trigger="document checked")
    return True


def documents_checking_sweep(*, older_than: timedelta = timedelta(minutes=5), limit: int = 200) -> int:
    """Check documents left CHECKING a while after their upload (a broker outage, a lost task)."""
    stale = Document.objects.filter(status=Status.CHECKING, uploaded_at__lt=timezone.now() - older_than)
    ids = list(stale.order_by("pk").values_list("pk", flat=True)[:limit])
    return sum(document_check_now(document_id) for document_id in ids)


def _document_decide(document: Document, *, actor, status: str, allowed, reason: str = "") -> Document:
    _staff_allowed(actor, document.client)
    verb = "accepted" if status == Status.ACCEPTED else "rejected"
    with transaction.atomic():
        Client.objects.select_for_update().get(pk=document.client_id)
        before = Document.objects.filter(pk=document.pk).values_list("status", flat=True).first()
        status_reason = f"Accepted by {person_label(actor)}." if status == Status.ACCEPTED else f"Rejected: {reason}"
        changed = Document.objects.filter(pk=document.pk, status__in=allowed).update(
            status=status,
            status_reason=status_reason[:300],
            rejection_reason=reason,
            reviewed_by=actor,
            reviewed_at=timezone.now(),
        )
        if not changed:
            label = Status(before).label.lower() if before else "gone"
            raise ApplicationError(f"This document can no longer be {verb}: it is {label}.")
        document.refresh_from_db()
        replaced = _older_replace(document) if status in Document.GOOD else []
        audit_log(
            actor=actor,
            action=f"kyc.document.{verb}",
            obj=document,
            before={"status": before},
            after={"status": status, "reason": reason, "replaced": replaced},
        )
        timeline_record(
            client_id=document.client_id,
            kind="kyc",
            topic=f"kyc.document_{verb}",
            title=f"KYC: {document.get_kind_display().lower()} {verb}",
            detail=reason,
            url=document_file_url(document),
            actor=actor,
            source=f"kyc-document-{verb}:{document.pk}:{document.reviewed_at.isoformat()}",
        )
        event_publish(
            f"kyc.document_{verb}", {"client_id": document.client_id, "document_id": document.pk, "reason": reason}
        )
        kyc_evaluate(document.client_id, trigger=f"document {verb}")
    return document


def document_accept(document: Document, actor) -> Document:
    return _document_decide(document, actor=actor, status=Status.ACCEPTED, allowed=ACCEPT_FROM)


def document_reject(document: Document, actor, reason: str) -> Document:
    """Reject with a reason the client reads (and must act on: upload a new one)."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why, for the client.", fields={"reason": ["Tell the client what is wrong."]})
    if len(reason) > 300:
        raise ApplicationError("The reason is too long.", fields={"reason": ["At most 300 characters."]})
    return _document_decide(document, actor=actor, status=Status.REJECTED, allowed=REJECT_FROM, reason=reason)
