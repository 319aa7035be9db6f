"""Daily monitoring of identity documents' expiry dates (kyc.tasks_expiry runs it in every tenant).

Policy:
- Identity documents (passport, identity card, driving licence) in a good status that expire within
  KycSettings.expiry_notice_days get one notice: a DocumentRequest and one email saying which
  document expires when. Each document is claimed by a conditional UPDATE of expiry_notified_at,
  in primary-key order, so two workers never both notify (the second waits on the row, then finds
  it claimed); the sides of one card make one notice. No notice when the client holds another good
  identity document that outlives the notice window.
- Proofs of address are not monitored: they prove the address at onboarding (their age is checked
  then, kyc.checks), not an identity that lapses.
- A good document past its expiry date becomes EXPIRED. An approved client left without a valid
  identity document (the identity requirement no longer met) moves to documents_requested, which
  stops withdrawals (payments reads Client.kyc_status); their upload is checked and kyc_evaluate
  approves them again. Clients not yet approved just see the requirement missing again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from brokerage.audit import audit_log
from crm.comms import email_send_system
from crm.models import Client
from kyc.models import Document, DocumentRequest, KycSettings
from kyc.requirements import MET, requirement_states
from kyc.workflow import kyc_status_set

IDENTITY = [str(kind) for kind in Document.IDENTITY_KINDS]


@dataclass(frozen=True)
class ExpiryReport:
    notified_clients: int
    expired_documents: int
    clients_asked_again: int


def _label(document: Document) -> str:
    side = "" if document.side == Document.Side.SINGLE else f" ({document.get_side_display().lower()})"
    return f"{document.get_kind_display().lower()}{side}"


def _day(value: date) -> str:
    return date_format(value, "j F Y")


def expiry_notices_send(*, today: date | None = None) -> int:
    """Notify each client whose identity document expires within the notice window; clients notified."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=KycSettings.current().expiry_notice_days)
    expiring = Document.objects.filter(
        kind__in=IDENTITY,
        status__in=Document.GOOD,
        expires_on__gte=today,
        expires_on__lte=horizon,
        expiry_notified_at__isnull=True,
    ).order_by("client_id", "pk")
    notified = 0
    for client_id, documents in groupby(expiring, key=lambda document: document.client_id):
        if _notify(client_id, list(documents), horizon):
            notified += 1
    return notified


def _notify(client_id: int, documents: list[Document], horizon: date) -> bool:
    outliving = Document.objects.filter(
        client_id=client_id, kind__in=IDENTITY, status__in=Document.GOOD, expires_on__gt=horizon
    )
    if outliving.exists():
        return False
    with transaction.atomic():
        now = timezone.now()
        claimed = [
            document
            for document in documents
            if Document.objects.filter(pk=document.pk, expiry_notified_at__isnull=True).update(expiry_notified_at=now)
        ]
        if not claimed:
            return False
        client = Client.objects.get(pk=client_id)
        lines = [f"Your {_label(d)} expires on {_day(d.expires_on)}." for d in claimed]
        message = "\n".join(
            [
                *lines,
                "Please upload a new one before then, so that your account stays verified and withdrawals stay open.",
            ]
        )
        kinds = sorted({document.kind for document in claimed})
        DocumentRequest.objects.create(client=client, kinds=kinds, message=message)
        email_send_system(client=client, subject="Your identity document expires soon", body=message)
        for document in claimed:
            audit_log(
                actor=None,
                action="kyc.document.expiry_notified",
                obj=document,
                after={"client_id": client_id, "expires_on": document.expires_on.isoformat()},
            )
    return True


def documents_expire(*, today: date | None = None) -> tuple[int, int]:
    """Mark good documents past their expiry date EXPIRED; (documents expired, clients asked for a new
    identity document)."""
    today = today or timezone.localdate()
    past = Document.objects.filter(status__in=Document.GOOD, expires_on__lt=today).order_by("client_id", "pk")
    expired, asked = 0, 0
    for client_id, documents in groupby(past, key=lambda document: document.client_id):
        with transaction.atomic():
            done = [
                document
                for document in documents
                if Document.objects.filter(pk=document.pk, status__in=Document.GOOD).update(
                    status=Document.Status.EXPIRED, status_reason=f"Expired on {_day(document.expires_on)}"
                )
            ]
            for document in done:
                audit_log(
                    actor=None,
                    action="kyc.document.expired",
                    obj=document,
                    before={"status": document.status},
                    after={"status": Document.Status.EXPIRED, "expires_on": document.expires_on.isoformat()},
                )
            expired += len(done)
            identity = [document for document in done if document.kind in IDENTITY]
            if identity and _ask_again(client_id, identity):
                asked += 1
    return expired, asked


def _ask_again(client_id: int, expired: list[Document]) -> bool:
    """An approved client with no valid identity document left must upload one (status change)."""
    client = Client.objects.select_for_update().get(pk=client_id)
    if client.kyc_status != Client.KycStatus.APPROVED or requirement_states(client)["identity"].state == MET:
        return False
    lines = [f"Your {_label(d)} expired on {_day(d.expires_on)}." for d in expired]
    message = "\n".join(
        [*lines, "Please upload a valid identity document: withdrawals are paused until it is checked."]
    )
    open_requests = DocumentRequest.objects.filter(
        client=client, fulfilled_at__isnull=True, kinds__has_any_keys=IDENTITY
    )
    if not open_requests.exists():
        DocumentRequest.objects.create(client=client, kinds=sorted({d.kind for d in expired}), message=message)
    kyc_status_set(
        client,
        Client.KycStatus.DOCUMENTS_REQUESTED,
        reason="No valid identity document: " + " ".join(lines),
        client_message=message,
    )
    return True


def expiry_scan(*, today: date | None = None) -> ExpiryReport:
    """The daily run: expire what is past, then send the notices for what expires soon."""
    expired, asked = documents_expire(today=today)
    notified = expiry_notices_send(today=today)
    return ExpiryReport(notified_clients=notified, expired_documents=expired, clients_asked_again=asked)
