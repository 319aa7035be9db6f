"""What staff read about documents on the ops pages: check labels instead of the checks' stored names,
and the requirements in staff wording (the review page and the client 360 panel).

Personas in alpha: Cora (compliance) works the review queue; Alice, the owner, opens the client 360."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from kyc.checks.result import CHECK_LABELS, check_label
from kyc.models import Document, DocumentCheck
from kyc.requirements import OPTIONAL, requirement_states
from kyc.templatetags.kyc_staff import check_label_filter
from tests.kyc.review_support import compliance, waiting_file
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db

CLIENT_WORDING = ("Your passport", "Our team reviews your file", "Upload a ", "Tell us about")


@pytest.fixture
def review(alpha):
    """Anna's file waits for a person: her passport needs a review, her proof of address has checks
    with several names, and she uploaded no selfie (no default level asks for one)."""
    with tenant_context(alpha):
        review = waiting_file("anna@alpha.test", document_status=Document.Status.NEEDS_REVIEW)
        bill = review.client.kyc_documents.get(kind=Document.Kind.PROOF_OF_ADDRESS)
        for name, outcome, summary in (
            ("issue_date", "pass", "Issued on 02 Nov 2026, recent enough."),
            ("name_and_address", "warn", "The document's city only partly match the profile: staff to confirm."),
            ("date_of_birth", "pass", "The date of birth matches the profile."),
        ):
            DocumentCheck.objects.create(document=bill, name=name, outcome=outcome, summary=summary)
        return review


def test_every_check_has_a_label_and_an_unknown_one_is_made_readable():
    assert {name: check_label(name) for name in ("issue_date", "name_and_address", "date_of_birth", "mrz", "file")} == {
        "issue_date": "Issue date",
        "name_and_address": "Name and address",
        "date_of_birth": "Date of birth",
        "mrz": "MRZ",
        "file": "File",
    }
    assert all("_" not in label and label[0].isupper() for label in CHECK_LABELS.values())
    assert check_label_filter("liveness_score") == "Liveness score"


def test_the_review_page_labels_the_checks(alpha, review):
    with tenant_context(alpha):
        cora = compliance("cora@alpha.test")
    html = tenant_web_client(alpha, cora).get(f"/ops/kyc/reviews/{review.pk}/").content.decode()

    checks = html[html.index('id="documents"') : html.index('id="hits"')]
    for label in ("Issue date", "Name and address", "Date of birth", "MRZ"):
        assert f"<strong>{label}</strong>" in checks
    for name in ("issue_date", "name_and_address", "date_of_birth", "<strong>mrz</strong>"):
        assert name not in checks
    # The detail for staff is kept in the check.
    assert "only partly match the profile: staff to confirm." in checks


def test_the_review_page_words_the_requirements_for_staff_and_the_selfie_is_optional(alpha, review):
    with tenant_context(alpha):
        cora = compliance("cora@alpha.test")
    html = tenant_web_client(alpha, cora).get(f"/ops/kyc/reviews/{review.pk}/").content.decode()

    requirements = html[html.index('id="requirements"') : html.index('id="risk"')]
    assert "Passport: waiting for a review by staff" in requirements
    assert "Waiting for a decision by compliance." in requirements
    assert '<span class="badge ">optional</span><span><strong>Selfie</strong>' in requirements
    assert "missing" not in requirements
    assert not any(words in requirements for words in CLIENT_WORDING)


def test_staff_wording_changes_no_state_the_levels_read(alpha, review):
    with tenant_context(alpha):
        for_client = requirement_states(review.client)
        for_staff = requirement_states(review.client, audience="staff")
    assert for_client["selfie"].state == "missing" and for_staff["selfie"].state == OPTIONAL
    assert for_client["selfie"].url and not for_staff["selfie"].url
    assert {code: r.state for code, r in for_client.items() if code != "selfie"} == {
        code: r.state for code, r in for_staff.items() if code != "selfie"
    }


def test_a_selfie_a_level_asks_for_is_missing_not_optional(alpha, review):
    from kyc.models import VerificationLevel

    with tenant_context(alpha):
        top = VerificationLevel.objects.order_by("-number").first()
        top.requirements = [*top.requirements, "selfie"]
        top.save(update_fields=["requirements"])
        selfie = requirement_states(review.client, audience="staff")["selfie"]
    assert (selfie.state, selfie.detail) == ("missing", "No selfie on file.")


def test_the_client_360_panel_labels_checks_and_words_requirements_for_staff(alpha, alice, review):
    html = tenant_web_client(alpha, alice).get(f"/ops/crm/clients/{review.client_id}/").content.decode()
    panel = html[html.index('id="panel-kyc"') :]
    panel = panel[: panel.index("</section>")]

    assert "Needs a look: Name and address" in panel and "name_and_address" not in panel
    assert "Needs a look: MRZ" in panel
    assert "Passport: waiting for a review by staff" in panel
    assert '<span class="badge ">optional</span> Selfie' in panel
    assert not any(words in panel for words in CLIENT_WORDING)
