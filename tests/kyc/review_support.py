"""Shared by the review queue tests: KYC files waiting in the queue, and the staff who work them.

Call inside a tenant's context. Files are built directly (documents already checked, a hit already
found) so each test states exactly what the officer sees.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import Permission
from django.utils import timezone

from crm.models import Client
from kyc.models import (
    Document,
    DocumentCheck,
    FinancialProfile,
    Questionnaire,
    QuestionnaireAnswer,
    Review,
    ScreeningHit,
)
from tests import factories

PASSPORT_EVIDENCE = {
    "mrz_format": "TD3",
    "check_digits": {"number": True, "birth_date": True, "expiry": True, "composite": True},
    "name": {"document": "ANNA MARIA SCHMIDT", "profile": "Anna Schmidt", "score": 91},
}
HIT_EXPLANATION = {  # as watchlists.matching explains a match
    "client_name": "Anna Schmidt",
    "list_name": "Anna SCHMIDT",
    "list_name_type": "primary",
    "name_score": 96,
    "token_pairs": [
        {"client": "anna", "list": "anna", "score": 100, "how": "exact"},
        {"client": "schmidt", "list": "schmidt", "score": 100, "how": "exact"},
    ],
    "dob_effect": -15,
    "dob_note": "Listed born 1961; the client in 1990",
    "nationality_effect": 0,
    "nationality_note": "The list gives no nationality",
    "final": 81,
}


def compliance(email: str):
    return factories.staff_user(email, roles=["compliance"])


def support(email: str):
    return factories.staff_user(email, roles=["support"])


def sales_agent_who_reviews(email: str):
    """A sales agent granted kyc_review on their own: sees only the clients assigned to them."""
    user = factories.staff_user(email, roles=["sales"])
    user.user_permissions.add(Permission.objects.get(codename="kyc_review", content_type__app_label="brokerage"))
    return type(user).objects.get(pk=user.pk)  # a fresh object: Django caches permissions


def waiting_file(
    email: str,
    *,
    risk: str = Client.RiskLevel.LOW,
    hours: float = 1,
    document_status: str = Document.Status.PASSED,
    hit: bool = False,
    hit_status: str = ScreeningHit.Status.OPEN,
    reasons: list[str] | None = None,
    sales_agent=None,
    first_name: str = "Anna",
    last_name: str = "Schmidt",
) -> Review:
    """A client whose complete file waits in the queue for `hours`: a completed profile, a passed
    questionnaire, a checked passport (in `document_status`), a proof of address that passed its
    checks and, when `hit`, a watchlist hit."""
    user = factories.client_user(email)
    client = Client.objects.get(user=user)
    client.first_name, client.last_name = first_name, last_name
    client.risk_level, client.kyc_status = risk, Client.KycStatus.PENDING
    client.nationality, client.sales_agent = "DE", sales_agent
    client.save()
    FinancialProfile.objects.create(
        client=client,
        tax_residence="DE",
        employment=FinancialProfile.Employment.EMPLOYED,
        occupation="Engineer",
        annual_income=FinancialProfile.Band.FROM_25K,
        source_of_funds=FinancialProfile.Funds.SALARY,
        completed_at=timezone.now(),
    )
    passport = Document.objects.create(
        client=client,
        kind=Document.Kind.PASSPORT,
        file=f"kyc/{client.pk}/passport.enc",
        original_name="passport.jpg",
        content_type="image/jpeg",
        size=120_000,
        sha256="a" * 64,
        document_number="C01X00T47",
        issuing_country="DEU",
        status=document_status,
        status_reason="Every check passed" if document_status == Document.Status.PASSED else "Name differs",
    )
    DocumentCheck.objects.create(
        document=passport,
        name="mrz",
        outcome=DocumentCheck.Outcome.PASS if document_status == Document.Status.PASSED else "warn",
        summary="Machine-readable zone valid",
        evidence=PASSPORT_EVIDENCE,
    )
    questionnaire = Questionnaire.objects.filter(is_active=True).order_by("-version").first()
    QuestionnaireAnswer.objects.create(
        client=client, questionnaire=questionnaire, answers={}, score=questionnaire.pass_score, passed=True
    )
    Document.objects.create(
        client=client,
        kind=Document.Kind.PROOF_OF_ADDRESS,
        file=f"kyc/{client.pk}/bill.enc",
        original_name="bill.pdf",
        content_type="application/pdf",
        size=80_000,
        sha256="c" * 64,
        status=Document.Status.PASSED,
        status_reason="Every check passed",
    )
    if hit:
        ScreeningHit.objects.create(
            client=client,
            source="demo",
            entry_id="DEMO-17",
            entry_hash="b" * 64,
            entry={"name": "Anna SCHMIDT", "aliases": ["Anja Schmitt"], "dates_of_birth": ["1961"]},
            score=81,
            explanation=HIT_EXPLANATION,
            trigger=ScreeningHit.Trigger.ONBOARDING,
            status=hit_status,
        )
    review = Review.objects.create(client=client, reasons=reasons or ["Every file is reviewed by a person"])
    Review.objects.filter(pk=review.pk).update(opened_at=timezone.now() - timedelta(hours=hours))
    review.refresh_from_db()
    return review
