"""The file's state machine (kyc.workflow): what the machine may decide, and what only a person may."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.models import Client
from kyc.models import Document, DocumentRequest, FinancialProfile, KycSettings, Review, ScreeningHit
from kyc.requirements import deposit_allowance
from kyc.review import review_approve
from kyc.workflow import identity_changed, kyc_evaluate
from tests import factories
from tests.kyc.screening_support import compliance_officer, file_complete

pytestmark = pytest.mark.django_db

KycStatus = Client.KycStatus


def complete_client(**fields) -> Client:
    return file_complete(factories.ClientFactory(country="DE", nationality="DE", **fields))


def hit(client: Client, *, status=ScreeningHit.Status.OPEN, is_pep=False, decided_at=None) -> ScreeningHit:
    return ScreeningHit.objects.create(
        client=client, source="ofac_sdn", entry_id="1", entry_hash="h" * 64, entry={"name": "Someone Listed"},
        is_pep=is_pep, score=90, explanation={}, trigger="manual", status=status, decided_at=decided_at,
    )  # fmt: skip


def automatic_approval(on: bool = True) -> None:
    KycSettings.objects.update_or_create(pk=1, defaults={"auto_approve": on})


def test_by_default_a_clean_complete_file_waits_for_a_person(in_alpha):
    client = complete_client()
    kyc_evaluate(client.pk, trigger="test")
    client.refresh_from_db()
    assert client.kyc_status == KycStatus.PENDING
    assert Review.objects.get(client=client).reasons == [
        "Every file is reviewed by a person (automatic approval is off)"
    ]


def test_with_automatic_approval_on_a_clean_complete_file_is_approved_by_the_machine(in_alpha):
    automatic_approval()
    client = complete_client()
    kyc_evaluate(client.pk, trigger="test")
    client.refresh_from_db()
    assert client.kyc_status == KycStatus.APPROVED
    assert not Review.objects.filter(client=client).exists()


def test_a_file_waits_while_a_document_is_still_being_checked(in_alpha):
    automatic_approval()
    client = complete_client()
    client.kyc_documents.filter(kind=Document.Kind.PROOF_OF_ADDRESS).update(status=Document.Status.CHECKING)
    kyc_evaluate(client.pk, trigger="test")
    client.refresh_from_db()
    assert client.kyc_status == KycStatus.NOT_STARTED
    assert not Review.objects.filter(client=client).exists()


def test_a_high_risk_client_cannot_edit_their_way_past_the_second_approval(in_alpha):
    client = complete_client()
    FinancialProfile.objects.filter(client=client).update(source_of_funds="crypto", occupation="Crypto casino")
    Client.objects.filter(pk=client.pk).update(nationality="IR")
    kyc_evaluate(client.pk, trigger="test")
    review = Review.objects.get(client=client)
    review_approve(review, actor=compliance_officer())
    review.refresh_from_db()
    assert review.status == Review.Status.AWAITING_SECOND

    # The client makes the profile look harmless: the machine must not approve the waiting file.
    FinancialProfile.objects.filter(client=client).update(source_of_funds="salary", occupation="Engineer")
    Client.objects.filter(pk=client.pk).update(nationality="DE")
    kyc_evaluate(client.pk, trigger="profile changed")
    review.refresh_from_db()
    client.refresh_from_db()
    assert review.status == Review.Status.AWAITING_SECOND
    assert client.kyc_status == KycStatus.PENDING


def test_an_open_review_is_closed_only_by_a_person_even_when_its_reasons_are_gone(in_alpha):
    automatic_approval()
    client = complete_client()
    the_hit = hit(client)
    kyc_evaluate(client.pk, trigger="test")
    review = Review.objects.get(client=client)
    assert review.reasons == ["1 open watchlist hit to decide", "High risk: needs two compliance officers"]
    ScreeningHit.objects.filter(pk=the_hit.pk).update(status=ScreeningHit.Status.FALSE_POSITIVE)
    kyc_evaluate(client.pk, trigger="hit decided")
    review.refresh_from_db()
    assert review.status == Review.Status.OPEN
    # Kept: what brought it to a person, who now decides (the risk fell back to low).
    assert review.reasons == ["1 open watchlist hit to decide", "High risk: needs two compliance officers"]


def test_documents_asked_for_by_staff_go_back_to_a_person_when_they_arrive(in_alpha):
    automatic_approval()
    client = complete_client()
    officer = compliance_officer()
    DocumentRequest.objects.create(client=client, kinds=["passport"], message="Blurred", requested_by=officer)
    Client.objects.filter(pk=client.pk).update(kyc_status=KycStatus.DOCUMENTS_REQUESTED)
    kyc_evaluate(client.pk, trigger="test")
    client.refresh_from_db()
    assert client.kyc_status == KycStatus.DOCUMENTS_REQUESTED  # nothing new uploaded yet

    # An identity card answers a request for a passport: identity documents stand in for each other.
    for side in (Document.Side.FRONT, Document.Side.BACK):
        Document.objects.create(
            client=client, kind=Document.Kind.ID_CARD, side=side, file="x", original_name="id.jpg",
            content_type="image/jpeg", size=2000, sha256="1" * 64, status=Document.Status.PASSED,
        )  # fmt: skip
    kyc_evaluate(client.pk, trigger="upload")
    client.refresh_from_db()
    assert client.kyc_status == KycStatus.PENDING
    assert Review.objects.get(client=client).reasons == ["The documents staff asked for arrived: passport"]
    assert DocumentRequest.objects.get(client=client).fulfilled_at is not None


def test_a_match_confirmed_after_approval_stops_withdrawals_until_a_person_decides(in_alpha):
    automatic_approval()
    client = complete_client()
    kyc_evaluate(client.pk, trigger="test")
    client.refresh_from_db()
    assert client.kyc_status == KycStatus.APPROVED
    hit(client, status=ScreeningHit.Status.CONFIRMED, decided_at=timezone.now() + timedelta(seconds=1))
    kyc_evaluate(client.pk, trigger="hit decided")
    client.refresh_from_db()
    assert client.kyc_status == KycStatus.PENDING
    assert "Confirmed sanctions match after approval: Someone Listed" in Review.objects.get(client=client).reasons


def test_an_identity_change_after_approval_opens_a_review(in_alpha):
    automatic_approval()
    client = complete_client()
    kyc_evaluate(client.pk, trigger="test")
    client.refresh_from_db()
    # An edit made before the approval, whose event arrives late, was part of what was approved.
    before = client.kyc_status_changed_at - timedelta(seconds=1)
    assert identity_changed(client.pk, {"last_name"}, changed_at=before) is None
    assert not Review.objects.filter(client=client).exists()
    after = client.kyc_status_changed_at + timedelta(seconds=1)
    review = identity_changed(client.pk, {"last_name", "date_of_birth"}, changed_at=after)
    assert review.reasons == [
        "Identity details changed after approval (date of birth, last name): compare them with the documents"
    ]
    other = factories.ClientFactory()
    assert identity_changed(other.pk, {"last_name"}, changed_at=after) is None  # not approved: onboarding checks it


@pytest.mark.parametrize(
    ("setup", "allowed"),
    [
        (lambda c: None, True),
        (lambda c: Client.objects.filter(pk=c.pk).update(kyc_status=KycStatus.REJECTED), False),
        (lambda c: hit(c), False),  # a possible sanctions match
        (lambda c: hit(c, is_pep=True), True),  # a possible PEP: deposits go on, a person decides
        (lambda c: hit(c, is_pep=True, status=ScreeningHit.Status.CONFIRMED), False),
        (lambda c: hit(c, status=ScreeningHit.Status.FALSE_POSITIVE), True),
    ],
)
def test_deposits_close_for_rejected_files_and_sanctions_matches(in_alpha, setup, allowed):
    client = complete_client()
    Client.objects.filter(pk=client.pk).update(kyc_status=KycStatus.APPROVED)
    setup(client)
    client.refresh_from_db()
    allowance = deposit_allowance(client)
    assert allowance.allowed is allowed
    if not allowed:
        assert allowance.limit == Decimal("0") and allowance.reason


def test_a_possible_sanctions_match_makes_the_client_high_risk_and_a_possible_pep_medium(in_alpha):
    from kyc.risk import risk_assess

    sanctioned, pep = complete_client(), complete_client()
    hit(sanctioned)
    hit(pep, is_pep=True)
    assert risk_assess(sanctioned, trigger="test").level == Client.RiskLevel.HIGH
    assessment = risk_assess(pep, trigger="test")
    assert assessment.level == Client.RiskLevel.MEDIUM
    assert {"factor": "screening", "points": 40, "text": "Open PEP hit (90%): Someone Listed"} in assessment.reasons


def test_a_confirmed_sanctions_match_cannot_be_approved_but_a_confirmed_pep_can_with_four_eyes(in_alpha):
    from kyc.review import approve_refusal

    automatic_approval()
    officer = compliance_officer()
    sanctioned, pep = complete_client(), complete_client()
    hit(sanctioned, status=ScreeningHit.Status.CONFIRMED)
    hit(pep, is_pep=True, status=ScreeningHit.Status.CONFIRMED)
    for client in (sanctioned, pep):
        kyc_evaluate(client.pk, trigger="test")
    refusal = approve_refusal(Review.objects.get(client=sanctioned), officer)
    assert "A confirmed sanctions match cannot be approved: Someone Listed (ofac_sdn)" in refusal
    assert approve_refusal(Review.objects.get(client=pep), officer) == ""  # the first of two approvals


def test_with_a_vendor_the_built_in_checks_alone_do_not_approve(in_alpha):
    from tests.kyc.support_vendors import vendor_use

    automatic_approval()
    vendor_use("sumsub", secret="s3cret")
    client = complete_client()
    kyc_evaluate(client.pk, trigger="test")
    client.refresh_from_db()
    assert client.kyc_status == KycStatus.PENDING
    assert Review.objects.get(client=client).reasons == [
        "Waiting for Sumsub's identity verification: the built-in checks alone do not approve"
    ]


def test_a_staff_edit_of_an_approved_clients_name_opens_a_review_through_the_event(
    in_alpha, django_capture_on_commit_callbacks
):
    from crm.profile import client_update

    automatic_approval()
    client = complete_client()
    kyc_evaluate(client.pk, trigger="test")
    Client.objects.filter(pk=client.pk).update(kyc_status_changed_at=timezone.now() - timedelta(minutes=5))
    client.refresh_from_db()
    staff = factories.staff_user("bo@alpha.test", roles=["back_office"], mfa=False)
    with django_capture_on_commit_callbacks(execute=True):
        client_update(actor=staff, client=client, changes={"last_name": "Someone-Else"})
    review = Review.objects.get(client=client)
    assert review.reasons == ["Identity details changed after approval (last name): compare them with the documents"]
    client.refresh_from_db()
    assert client.kyc_status == KycStatus.APPROVED  # a person decides; withdrawals go on meanwhile
