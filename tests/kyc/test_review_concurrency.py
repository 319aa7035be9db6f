"""Review decisions racing with real threads, each on its own database connection."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from crm.models import Client
from kyc.models import Review
from kyc.review import review_approve, review_reject
from tests.concurrency import race_each
from tests.kyc.review_support import compliance, waiting_file

pytestmark = pytest.mark.django_db(transaction=True)
Status = Review.Status


def audited(review: Review, action: str) -> int:
    return AuditRecord.objects.filter(object_type="kyc.Review", object_id=str(review.pk), action=action).count()


def test_two_officers_giving_the_first_approval_at_once_do_not_become_first_and_second(alpha):
    with tenant_context(alpha):
        cora, cole = compliance("cora@alpha.test"), compliance("cole@alpha.test")
        review = waiting_file("anna@alpha.test", risk=Client.RiskLevel.HIGH)

    results = race_each(
        alpha,
        [lambda: review_approve(review, actor=cora), lambda: review_approve(review, actor=cole)],
    )

    passed = [r for r in results if isinstance(r, Review)]
    refused = [r for r in results if isinstance(r, ApplicationError)]
    assert len(passed) == 1 and len(refused) == 1, results
    assert refused[0].code == "changed"
    with tenant_context(alpha):
        review.refresh_from_db()
        assert review.status == Status.AWAITING_SECOND
        assert review.first_approver == passed[0].first_approver
        assert review.decided_by is None
        assert Client.objects.get(pk=review.client_id).kyc_status == Client.KycStatus.PENDING
        assert audited(review, "kyc.review.first_approval") == 1
        assert audited(review, "kyc.review.approved") == 0


def test_the_first_approver_double_clicking_does_not_approve_alone(alpha):
    with tenant_context(alpha):
        cora = compliance("cora@alpha.test")
        review = waiting_file("anna@alpha.test", risk=Client.RiskLevel.HIGH)

    results = race_each(alpha, [lambda: review_approve(review, actor=cora)] * 3)

    assert sum(isinstance(r, Review) for r in results) == 1, results
    assert all(isinstance(r, ApplicationError) for r in results if not isinstance(r, Review))
    with tenant_context(alpha):
        review.refresh_from_db()
        assert (review.status, review.first_approver, review.decided_by) == (Status.AWAITING_SECOND, cora, None)


def test_two_second_approvals_at_once_approve_once(alpha):
    with tenant_context(alpha):
        cora, cole, cleo = compliance("cora@alpha.test"), compliance("cole@alpha.test"), compliance("cleo@alpha.test")
        review = review_approve(waiting_file("anna@alpha.test", risk=Client.RiskLevel.HIGH), actor=cora)

    results = race_each(
        alpha,
        [lambda: review_approve(review, actor=cole), lambda: review_approve(review, actor=cleo)],
    )

    passed = [r for r in results if isinstance(r, Review)]
    refused = [r for r in results if isinstance(r, ApplicationError)]
    assert len(passed) == 1 and len(refused) == 1, results
    assert refused[0].code == "decided"
    with tenant_context(alpha):
        review.refresh_from_db()
        assert review.status == Status.APPROVED and review.decided_by == passed[0].decided_by
        assert audited(review, "kyc.review.approved") == 1
        assert AuditRecord.objects.filter(action="kyc.status.changed", object_id=str(review.client_id)).count() == 1


def test_two_rejections_at_once_apply_once(alpha):
    with tenant_context(alpha):
        cora, cole = compliance("cora@alpha.test"), compliance("cole@alpha.test")
        review = waiting_file("anna@alpha.test")

    results = race_each(
        alpha,
        [
            lambda: review_reject(review, actor=cora, reason="Forged passport"),
            lambda: review_reject(review, actor=cole, reason="Address does not match"),
        ],
    )

    passed = [r for r in results if isinstance(r, Review)]
    refused = [r for r in results if isinstance(r, ApplicationError)]
    assert len(passed) == 1 and len(refused) == 1, results
    assert refused[0].code == "decided"
    with tenant_context(alpha):
        review.refresh_from_db()
        assert review.status == Status.REJECTED
        assert review.client_message == passed[0].client_message
        assert audited(review, "kyc.review.rejected") == 1
        client = Client.objects.get(pk=review.client_id)
        assert client.kyc_status == Client.KycStatus.REJECTED
        assert client.emails.filter(subject="Your verification was declined").count() == 1


def test_an_approval_and_a_rejection_at_once_leave_one_decision(alpha):
    with tenant_context(alpha):
        cora, cole = compliance("cora@alpha.test"), compliance("cole@alpha.test")
        review = waiting_file("anna@alpha.test")

    results = race_each(
        alpha,
        [lambda: review_approve(review, actor=cora), lambda: review_reject(review, actor=cole, reason="Forged")],
    )

    passed = [r for r in results if isinstance(r, Review)]
    assert len(passed) == 1, results
    with tenant_context(alpha):
        review.refresh_from_db()
        client = Client.objects.get(pk=review.client_id)
        assert review.status == passed[0].status
        expected = Client.KycStatus.APPROVED if review.status == Status.APPROVED else Client.KycStatus.REJECTED
        assert client.kyc_status == expected
        assert AuditRecord.objects.filter(action="kyc.status.changed", object_id=str(client.pk)).count() == 1
