"""kyc.review services: approve with four eyes, reject, request documents; what each refuses.

Personas in alpha: Cora and Cole (compliance officers), Sue (support: reviews, no kyc_compliance).
Anna's file waits in the queue.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django_tenants.utils import tenant_context

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from crm.models import Client
from kyc.models import Document, DocumentRequest, Review, ScreeningHit
from kyc.review import review_approve, review_reject, review_request_documents
from tests import factories
from tests.kyc.review_support import compliance, support, waiting_file
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db
Status = Review.Status


@pytest.fixture
def people(in_alpha):
    return {
        "cora": compliance("cora@alpha.test"),
        "cole": compliance("cole@alpha.test"),
        "sue": support("sue@alpha.test"),
    }


def actions(review: Review) -> list[str]:
    return list(
        AuditRecord.objects.filter(object_type="kyc.Review", object_id=str(review.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def status_of(review: Review) -> tuple[str, str]:
    review.refresh_from_db()
    return review.status, Client.objects.get(pk=review.client_id).kyc_status


# Approve ----------------------------------------------------------------------------------------------


def test_support_approves_a_low_risk_file_and_the_client_is_verified(people):
    review = waiting_file("anna@alpha.test")

    review_approve(review, actor=people["sue"])

    assert status_of(review) == (Status.APPROVED, Client.KycStatus.APPROVED)
    assert review.decided_by == people["sue"] and review.decided_at is not None
    assert review.first_approver is None
    assert actions(review) == ["kyc.review.approved"]
    client = Client.objects.get(pk=review.client_id)
    assert client.status == Client.Status.VERIFIED
    assert client.emails.filter(subject="Your account is verified").exists()


def test_a_high_risk_file_needs_two_different_compliance_officers(people):
    review = waiting_file("anna@alpha.test", risk=Client.RiskLevel.HIGH)

    review_approve(review, actor=people["cora"])
    assert status_of(review) == (Status.AWAITING_SECOND, Client.KycStatus.PENDING)
    assert review.first_approver == people["cora"] and review.first_approved_at is not None
    assert review.decided_at is None

    with pytest.raises(ApplicationError, match="You gave the first approval") as refused:
        review_approve(review, actor=people["cora"])
    assert refused.value.code == "not_approvable"
    assert status_of(review) == (Status.AWAITING_SECOND, Client.KycStatus.PENDING)

    review_approve(review, actor=people["cole"])
    assert status_of(review) == (Status.APPROVED, Client.KycStatus.APPROVED)
    assert (review.first_approver, review.decided_by) == (people["cora"], people["cole"])
    assert actions(review) == ["kyc.review.first_approval", "kyc.review.approved"]


def test_support_cannot_approve_a_high_risk_client_at_all(people):
    review = waiting_file("anna@alpha.test", risk=Client.RiskLevel.HIGH)

    with pytest.raises(ApplicationError, match="High-risk clients need two compliance officers"):
        review_approve(review, actor=people["sue"])

    assert status_of(review) == (Status.OPEN, Client.KycStatus.PENDING)
    assert review.first_approver is None
    assert actions(review) == []


def test_support_cannot_give_the_second_approval(people):
    review = waiting_file("anna@alpha.test", risk=Client.RiskLevel.HIGH)
    review = review_approve(review, actor=people["cora"])

    with pytest.raises(ApplicationError, match="KYC compliance permission"):
        review_approve(review, actor=people["sue"])

    assert status_of(review) == (Status.AWAITING_SECOND, Client.KycStatus.PENDING)


def test_approval_is_refused_while_a_watchlist_hit_is_open_and_names_it(people):
    review = waiting_file("anna@alpha.test", hit=True)

    with pytest.raises(ApplicationError) as refused:
        review_approve(review, actor=people["cora"])

    assert "Decide the open watchlist hit first: Anna SCHMIDT (demo, score 81)." in refused.value.message
    assert status_of(review) == (Status.OPEN, Client.KycStatus.PENDING)


def test_a_decided_hit_no_longer_blocks_approval(people):
    review = waiting_file("anna@alpha.test", hit=True, hit_status=ScreeningHit.Status.FALSE_POSITIVE)

    review_approve(review, actor=people["cora"])

    assert status_of(review) == (Status.APPROVED, Client.KycStatus.APPROVED)


@pytest.mark.parametrize(
    ("document_status", "says"),
    [
        (Document.Status.CHECKING, "Still being checked: Passport uploaded"),
        (Document.Status.NEEDS_REVIEW, "Accept or reject first: Passport uploaded"),
    ],
)
def test_approval_is_refused_while_a_document_waits_and_says_which(people, document_status, says):
    review = waiting_file("anna@alpha.test", document_status=document_status)

    with pytest.raises(ApplicationError, match=says):
        review_approve(review, actor=people["cora"])

    assert status_of(review) == (Status.OPEN, Client.KycStatus.PENDING)


def test_an_approval_on_a_stale_page_is_refused(people):
    review = waiting_file("anna@alpha.test", risk=Client.RiskLevel.HIGH)
    seen_by_cole = Review.objects.get(pk=review.pk)
    review_approve(review, actor=people["cora"])

    with pytest.raises(ApplicationError, match="gave the first approval while you were looking") as refused:
        review_approve(seen_by_cole, actor=people["cole"])

    assert refused.value.code == "changed"
    assert status_of(review) == (Status.AWAITING_SECOND, Client.KycStatus.PENDING)


def test_a_vendor_verdict_approves_an_ordinary_file_but_never_a_high_risk_one(people):
    ordinary = waiting_file("anna@alpha.test")
    risky = waiting_file("boris@alpha.test", risk=Client.RiskLevel.HIGH)

    review_approve(ordinary, actor=None)
    with pytest.raises(ApplicationError, match="vendor's verdict cannot approve a high-risk client"):
        review_approve(risky, actor=None)

    assert status_of(ordinary) == (Status.APPROVED, Client.KycStatus.APPROVED)
    assert ordinary.decided_by is None
    assert status_of(risky) == (Status.OPEN, Client.KycStatus.PENDING)


def test_staff_without_kyc_review_cannot_decide(people):
    review = waiting_file("anna@alpha.test")
    finance = factories.staff_user("fay@alpha.test", roles=["finance"])

    with pytest.raises(PermissionDenied):
        review_approve(review, actor=finance)
    with pytest.raises(PermissionDenied):
        review_reject(review, actor=finance, reason="No")

    assert status_of(review) == (Status.OPEN, Client.KycStatus.PENDING)


# Reject -----------------------------------------------------------------------------------------------


def test_the_reject_reason_is_shown_to_the_client_on_the_status_page(alpha, people):
    with tenant_context(alpha):
        review = waiting_file("anna@alpha.test")
        review_reject(review, actor=people["sue"], reason="  The passport photo does not match\n your selfie. ")
        assert status_of(review) == (Status.REJECTED, Client.KycStatus.REJECTED)
        assert review.client_message == "The passport photo does not match\nyour selfie."
        assert actions(review) == ["kyc.review.rejected"]
        anna = Client.objects.select_related("user").get(pk=review.client_id)
        email = anna.emails.get(subject="Your verification was declined")
        assert "The passport photo does not match" in email.body

    page = tenant_web_client(alpha, anna.user).get("/portal/verification/")

    assert page.status_code == 200
    assert page.context["rejection"] == "The passport photo does not match\nyour selfie."
    assert "The passport photo does not match" in page.content.decode()


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_a_rejection_needs_a_reason(people, reason):
    review = waiting_file("anna@alpha.test")

    with pytest.raises(ApplicationError) as refused:
        review_reject(review, actor=people["sue"], reason=reason)

    assert refused.value.fields == {"reason": ["Required."]}
    assert status_of(review) == (Status.OPEN, Client.KycStatus.PENDING)
    assert actions(review) == []


def test_support_may_reject_a_high_risk_file_awaiting_its_second_approval(people):
    review = waiting_file("anna@alpha.test", risk=Client.RiskLevel.HIGH)
    review = review_approve(review, actor=people["cora"])

    review_reject(review, actor=people["sue"], reason="Source of funds not credible")

    assert status_of(review) == (Status.REJECTED, Client.KycStatus.REJECTED)


# Request documents --------------------------------------------------------------------------------------


def test_requesting_documents_creates_the_request_and_tells_the_client(people):
    review = waiting_file("anna@alpha.test")

    request = review_request_documents(
        review,
        actor=people["sue"],
        kinds=[Document.Kind.PROOF_OF_ADDRESS, Document.Kind.SELFIE, Document.Kind.SELFIE],
        message="Your bill is older than three months.",
    )

    assert status_of(review) == (Status.DOCUMENTS_REQUESTED, Client.KycStatus.DOCUMENTS_REQUESTED)
    assert DocumentRequest.objects.get() == request
    assert (request.client_id, request.review, request.requested_by) == (review.client_id, review, people["sue"])
    assert request.kinds == ["proof_of_address", "selfie"]
    assert request.message == "Your bill is older than three months."
    assert review.client_message == "Your bill is older than three months."
    assert actions(review) == ["kyc.review.documents_requested"]
    email = Client.objects.get(pk=review.client_id).emails.get(subject="We need more documents")
    assert "We need: proof of address, selfie." in email.body
    assert "Your bill is older than three months." in email.body


@pytest.mark.parametrize(
    ("kinds", "message", "fields"),
    [
        ([], "Please", {"kinds"}),
        (["utility_bill"], "Please", {"kinds"}),
        (["selfie"], "  ", {"message"}),
        ([], "", {"kinds", "message"}),
        (["selfie"], "x" * 2001, {"message"}),
    ],
)
def test_a_document_request_needs_known_kinds_and_a_message(people, kinds, message, fields):
    review = waiting_file("anna@alpha.test")

    with pytest.raises(ApplicationError) as refused:
        review_request_documents(review, actor=people["sue"], kinds=kinds, message=message)

    assert set(refused.value.fields) == fields
    assert not DocumentRequest.objects.exists()
    assert status_of(review) == (Status.OPEN, Client.KycStatus.PENDING)


# Decided reviews ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "decide",
    [
        lambda review, who: review_approve(review, actor=who),
        lambda review, who: review_reject(review, actor=who, reason="Changed my mind"),
        lambda review, who: review_request_documents(review, actor=who, kinds=["selfie"], message="One more"),
    ],
    ids=["approve", "reject", "request"],
)
def test_a_decided_review_cannot_be_decided_again(people, decide):
    review = waiting_file("anna@alpha.test")
    review_reject(review, actor=people["cora"], reason="Forged document")

    with pytest.raises(ApplicationError, match="already decided by") as refused:
        decide(review, people["cole"])

    assert refused.value.code == "decided"
    assert status_of(review) == (Status.REJECTED, Client.KycStatus.REJECTED)
    assert review.decided_by == people["cora"] and review.client_message == "Forged document"
    assert actions(review) == ["kyc.review.rejected"]
    assert not DocumentRequest.objects.exists()


# An incomplete submission ------------------------------------------------------------------------------


def _incomplete(review: Review) -> Review:
    """The questionnaire and the proof of address gone: the file is not complete any more."""
    review.client.questionnaire_answers.all().delete()
    review.client.kyc_documents.filter(kind=Document.Kind.PROOF_OF_ADDRESS).delete()
    return review


@pytest.mark.parametrize("who", ["cora", None])
def test_nobody_approves_a_file_the_client_has_not_completed_and_the_refusal_names_what_is_missing(people, who):
    review = _incomplete(waiting_file("anna@alpha.test"))

    with pytest.raises(ApplicationError) as refused:
        review_approve(review, actor=people[who] if who else None)

    assert refused.value.code == "not_approvable"
    assert "The client has not completed: Appropriateness questionnaire, Proof of address." in refused.value.message
    assert status_of(review) == (Status.OPEN, Client.KycStatus.PENDING)
    assert actions(review) == []


def test_a_monitoring_review_of_an_approved_client_closes_even_if_a_newer_level_asks_more(people):
    """Ongoing monitoring: the client was approved on the file of the day; closing the review (a hit
    decided) keeps them approved."""
    review = _incomplete(waiting_file("anna@alpha.test", hit=True, hit_status=ScreeningHit.Status.FALSE_POSITIVE))
    Client.objects.filter(pk=review.client_id).update(kyc_status=Client.KycStatus.APPROVED)
    review.client.refresh_from_db()

    review_approve(review, actor=people["cora"])

    assert status_of(review) == (Status.APPROVED, Client.KycStatus.APPROVED)
