"""Identity documents' expiry: one notice before, EXPIRED after, and what that does to an approved
client (policy in kyc.expiry)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from crm.models import Client, Email
from kyc.expiry import expiry_notices_send, expiry_scan
from kyc.models import Document, DocumentRequest, KycSettings
from kyc.tasks_expiry import kyc_expiry_scan
from tests import factories
from tests.concurrency import race

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 24)
Kind, Side, Status = Document.Kind, Document.Side, Document.Status


def document(client, kind=Kind.PASSPORT, *, expires_on, side=Side.SINGLE, status=Status.ACCEPTED) -> Document:
    return Document.objects.create(
        client=client,
        kind=kind,
        side=side,
        file=f"kyc/{client.pk}/{kind}-{side}.bin",
        original_name=f"{kind}.jpg",
        content_type="image/jpeg",
        size=1000,
        sha256="0" * 64,
        status=status,
        expires_on=expires_on,
    )


@pytest.fixture
def fay(in_alpha):
    """An approved alpha client whose passport is her only identity document."""
    return factories.ClientFactory(
        first_name="Fay", email="fay@example.test", kyc_status=Client.KycStatus.APPROVED, status=Client.Status.VERIFIED
    )


# --- notices ---------------------------------------------------------------------------------------


def test_a_document_expiring_within_the_notice_window_gets_one_notice_and_one_email(fay):
    passport = document(fay, expires_on=TODAY + timedelta(days=10))
    report = expiry_scan(today=TODAY)
    assert report.notified_clients == 1
    request = DocumentRequest.objects.get(client=fay)
    assert request.kinds == ["passport"]
    assert "Your passport expires on 4 December 2026." in request.message
    assert "upload a new one" in request.message
    email = Email.objects.get(client=fay)
    assert email.subject == "Your identity document expires soon"
    assert "4 December 2026" in email.body
    passport.refresh_from_db()
    assert passport.expiry_notified_at is not None
    assert AuditRecord.objects.filter(action="kyc.document.expiry_notified", object_id=str(passport.pk)).count() == 1
    # the next days' runs send nothing more
    assert expiry_scan(today=TODAY + timedelta(days=1)).notified_clients == 0
    assert DocumentRequest.objects.filter(client=fay).count() == 1
    assert Email.objects.filter(client=fay).count() == 1


def test_both_sides_of_a_card_make_one_notice(fay):
    for side in (Side.FRONT, Side.BACK):
        document(fay, Kind.ID_CARD, side=side, expires_on=TODAY + timedelta(days=3))
    assert expiry_notices_send(today=TODAY) == 1
    request = DocumentRequest.objects.get(client=fay)
    assert "identity card (front)" in request.message and "identity card (back)" in request.message
    assert Email.objects.filter(client=fay).count() == 1


def test_the_notice_window_is_the_tenants_setting(fay):
    document(fay, expires_on=TODAY + timedelta(days=45))
    assert expiry_notices_send(today=TODAY) == 0
    KycSettings.objects.filter(pk=KycSettings.current().pk).update(expiry_notice_days=60)
    assert expiry_notices_send(today=TODAY) == 1


def test_no_notice_while_another_identity_document_outlives_the_window(fay):
    document(fay, expires_on=TODAY + timedelta(days=5))
    document(fay, Kind.DRIVING_LICENCE, side=Side.FRONT, expires_on=TODAY + timedelta(days=900))
    assert expiry_notices_send(today=TODAY) == 0
    assert not Email.objects.exists()


@pytest.mark.parametrize("status", [Status.REJECTED, Status.REPLACED, Status.FAILED, Status.CHECKING])
def test_documents_not_in_a_good_status_are_not_monitored(fay, status):
    document(fay, expires_on=TODAY + timedelta(days=5), status=status)
    assert expiry_scan(today=TODAY).notified_clients == 0


def test_proofs_of_address_are_not_monitored(fay):
    bill = document(fay, Kind.PROOF_OF_ADDRESS, expires_on=TODAY - timedelta(days=5))
    report = expiry_scan(today=TODAY)
    assert report.expired_documents == 1  # past its date it is expired like any document
    bill.refresh_from_db()
    assert bill.status == Status.EXPIRED
    fay.refresh_from_db()
    assert fay.kyc_status == Client.KycStatus.APPROVED  # but it does not take the verification away
    assert not DocumentRequest.objects.exists()


# --- expiry and the status policy ------------------------------------------------------------------


def test_an_approved_clients_only_identity_document_expiring_asks_for_a_new_one(fay):
    passport = document(fay, expires_on=TODAY - timedelta(days=1))
    report = expiry_scan(today=TODAY)
    assert (report.expired_documents, report.clients_asked_again) == (1, 1)
    passport.refresh_from_db()
    assert (passport.status, passport.status_reason) == (Status.EXPIRED, "Expired on 23 November 2026")
    fay.refresh_from_db()
    assert fay.kyc_status == Client.KycStatus.DOCUMENTS_REQUESTED  # withdrawals stop: payments reads it
    request = DocumentRequest.objects.get(client=fay)
    assert request.kinds == ["passport"] and "expired on 23 November 2026" in request.message
    assert "withdrawals are paused" in Email.objects.filter(client=fay).latest("id").body
    audit = AuditRecord.objects.get(action="kyc.status.changed")
    assert audit.actor_id is None and audit.after["kyc_status"] == "documents_requested"
    assert AuditRecord.objects.filter(action="kyc.document.expired", object_id=str(passport.pk)).exists()


def test_the_notice_request_still_open_is_the_one_the_client_answers(fay):
    document(fay, expires_on=TODAY + timedelta(days=2))
    expiry_scan(today=TODAY)
    expiry_scan(today=TODAY + timedelta(days=3))
    fay.refresh_from_db()
    assert fay.kyc_status == Client.KycStatus.DOCUMENTS_REQUESTED
    assert DocumentRequest.objects.filter(client=fay).count() == 1


def test_an_approved_client_with_another_valid_identity_document_stays_approved(fay):
    old = document(fay, expires_on=TODAY - timedelta(days=1))
    document(fay, Kind.ID_CARD, side=Side.FRONT, expires_on=TODAY + timedelta(days=2000))
    document(fay, Kind.ID_CARD, side=Side.BACK, expires_on=TODAY + timedelta(days=2000))
    report = expiry_scan(today=TODAY)
    assert (report.expired_documents, report.clients_asked_again) == (1, 0)
    old.refresh_from_db()
    assert old.status == Status.EXPIRED
    fay.refresh_from_db()
    assert fay.kyc_status == Client.KycStatus.APPROVED


@pytest.mark.parametrize("kyc_status", [Client.KycStatus.PENDING, Client.KycStatus.REJECTED])
def test_clients_not_approved_keep_their_status(in_alpha, kyc_status):
    client = factories.ClientFactory(kyc_status=kyc_status)
    document(client, expires_on=TODAY - timedelta(days=1))
    assert expiry_scan(today=TODAY).clients_asked_again == 0
    client.refresh_from_db()
    assert client.kyc_status == kyc_status


def test_a_document_expiring_today_is_still_valid_today(fay):
    passport = document(fay, expires_on=TODAY)
    assert expiry_scan(today=TODAY).expired_documents == 0
    passport.refresh_from_db()
    assert passport.status == Status.ACCEPTED


def test_the_task_scans_only_its_own_tenant(fay, beta):
    document(fay, expires_on=TODAY + timedelta(days=1))
    with tenant_context(beta):
        gus = factories.ClientFactory(kyc_status=Client.KycStatus.APPROVED)
        beta_passport = document(gus, expires_on=date(2000, 1, 1))
    result = kyc_expiry_scan()
    assert result == {"notified_clients": 1, "expired_documents": 0, "clients_asked_again": 0}
    with tenant_context(beta):
        beta_passport.refresh_from_db()
        assert beta_passport.status == Status.ACCEPTED


# --- two workers at once ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_scanning_at_once_notify_once(alpha):
    with tenant_context(alpha):
        client = factories.ClientFactory(email="hal@example.test", kyc_status=Client.KycStatus.APPROVED)
        for side in (Side.FRONT, Side.BACK):
            document(client, Kind.ID_CARD, side=side, expires_on=TODAY + timedelta(days=7))
    results = race(alpha, lambda index: expiry_notices_send(today=TODAY), count=4)
    assert sorted(results) == [0, 0, 0, 1]
    with tenant_context(alpha):
        assert DocumentRequest.objects.filter(client=client).count() == 1
        assert Email.objects.filter(client=client).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_expiring_at_once_change_the_status_once(alpha):
    with tenant_context(alpha):
        client = factories.ClientFactory(email="ida@example.test", kyc_status=Client.KycStatus.APPROVED)
        document(client, expires_on=TODAY - timedelta(days=1))
    results = race(alpha, lambda index: expiry_scan(today=TODAY), count=4)
    assert sum(result.expired_documents for result in results) == 1
    assert sum(result.clients_asked_again for result in results) == 1
    with tenant_context(alpha):
        assert AuditRecord.objects.filter(action="kyc.status.changed").count() == 1
        assert DocumentRequest.objects.filter(client=client).count() == 1
