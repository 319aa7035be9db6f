"""A new client verifies their account in Chromium: from the verification card on the overview
through the profile (with a field error first), a failed appropriateness test and its warning, a
passport upload with the typed MRZ, to the status page that says what is still missing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from mrz.generator.td3 import TD3CodeGenerator
from playwright.sync_api import expect

from crm.models import Client
from kyc.models import Document, FinancialProfile, QuestionnaireAnswer
from tests import factories
from tests.browser.conftest import sign_in
from tests.kyc.test_onboarding import jpeg

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

FAILING = {
    "experience": "Never",
    "leverage": "1%",
    "stop_out": "Nothing until I close my positions",
    "loss": "Yes",
    "education": "No",
    "purpose": "Steady income",
}


def test_client_completes_profile_fails_the_test_uploads_a_passport_and_sees_what_is_missing(
    page, site, alpha, screenshot, tmp_path
):
    with tenant_context(alpha):
        user = factories.client_user("petra@alpha.test")
        Client.objects.filter(user=user).update(first_name="Petra", last_name="Novak", country="GB")
    passport = tmp_path / "passport.jpg"
    passport.write_bytes(jpeg(640, 420).getvalue())
    expiry = (timezone.localdate() + timedelta(days=4 * 365)).strftime("%y%m%d")
    mrz = str(TD3CodeGenerator("P", "GBR", "Novak", "Petra", "123456789", "CZE", "900115", "F", expiry, ""))

    sign_in(page, site.tenant("alpha", "/portal/"), "petra@alpha.test")
    card = page.locator("#kyc-home-card")
    expect(card).to_contain_text("Verify your account")
    expect(card).to_contain_text("Personal and financial profile")
    screenshot(page, "kyc-portal-home-card")
    card.get_by_role("link", name="Start verification").click()

    # Profile: an under-age date of birth first, then the right one.
    expect(page.get_by_role("heading", name="Step 2 of 5: your profile")).to_be_visible()
    expect(page.get_by_label("First name(s)")).to_have_value("Petra")
    page.get_by_label("Date of birth").fill((timezone.localdate() - timedelta(days=365 * 16)).isoformat())
    page.get_by_label("Nationality").select_option("CZ")
    page.get_by_label("Country of residence").select_option("GB")
    page.get_by_label("Street and number").fill("12 Harbour Street")
    page.get_by_label("Town or city").fill("Leeds")
    page.get_by_label("Postal code").fill("LS1 4AB")
    page.get_by_label("Country of tax residence").select_option("GB")
    page.get_by_label("Tax identification number").fill("QQ123456C")
    page.get_by_label("Employment status").select_option("employed")
    page.get_by_label("Occupation").fill("Nurse")
    page.get_by_label("Industry").select_option("Healthcare")
    page.get_by_label("Employer").fill("NHS Leeds")
    page.get_by_label("Yearly income (USD)").select_option("25k_100k")
    page.get_by_label("Net worth (USD)").select_option("25k_100k")
    page.get_by_label("Where does the money you will deposit come from?").select_option("other")
    page.get_by_label("How much do you expect to deposit in a year? (USD)").select_option("under_25k")
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_text("Some fields need fixing")).to_be_visible()
    expect(page.locator("#id_date_of_birth-field")).to_contain_text("You must be at least 18 to open an account.")
    expect(page.locator("#id_source_of_funds_detail-field")).to_contain_text("Describe where the money comes from.")
    expect(page.get_by_label("Street and number")).to_have_value("12 Harbour Street")
    screenshot(page, "kyc-portal-profile-errors")
    page.get_by_label("Date of birth").fill("1990-01-15")
    page.get_by_label("Tell us more about the source").fill("Savings from my salary and a bonus")
    page.get_by_role("button", name="Save and continue").click()

    # Questionnaire: failed, so the warning must be acknowledged.
    expect(page.get_by_text("Your profile is saved. Next: a few questions.")).to_be_visible()
    for code, choice in FAILING.items():
        page.locator(f"#question-{code}").get_by_label(choice, exact=True).check()
    screenshot(page, "kyc-portal-questionnaire")
    page.get_by_role("button", name="Submit answers").click()

    warning = page.locator("#risk-warning")
    expect(warning).to_contain_text("CFDs may not be appropriate for you")
    # Without the tick the browser does not send the form: the warning stays.
    page.get_by_role("button", name="Acknowledge and continue").click()
    expect(warning).to_be_visible()
    screenshot(page, "kyc-portal-risk-warning")
    page.get_by_label("I have read this warning").check()
    page.get_by_role("button", name="Acknowledge and continue").click()

    # Documents: a passport photo with the two MRZ lines.
    expect(page.get_by_role("heading", name="Step 4 of 5: your documents")).to_be_visible()
    passport_card = page.locator("#upload-passport")
    passport_card.locator("summary").click()
    passport_card.get_by_label("Photo page").set_input_files(str(passport))
    passport_card.get_by_label("Machine-readable lines").fill(mrz)
    screenshot(page, "kyc-portal-passport-form")
    page.get_by_role("button", name="Upload passport").click()
    expect(page.get_by_text("Passport uploaded (1 file).", exact=True)).to_be_visible()
    row = page.locator("#kyc-documents tbody tr").first
    expect(row).to_contain_text("passport.jpg")
    expect(row).to_contain_text("Passed the automatic checks")
    expect(page.locator("#requirement-identity")).to_have_attribute("data-state", "met")
    screenshot(page, "kyc-portal-documents")

    # Status: level 1 reached, proof of address still missing.
    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Verification").click()
    expect(page.get_by_role("heading", name="Verification", exact=True)).to_be_visible()
    expect(page.locator("#kyc-level")).to_contain_text("Level 1: Basic")
    expect(page.locator("#kyc-level")).to_contain_text("Up to 5,000.00 USD in all")
    missing = page.locator("#kyc-missing")
    expect(missing.get_by_role("link", name="Upload a proof of address")).to_be_visible()
    # The call to action does not repeat the file's details below it.
    expect(missing).not_to_contain_text("utility bill")
    expect(page.locator("#requirement-address")).to_contain_text("Action needed")
    expect(page.locator("#requirement-address")).to_contain_text("utility bill")
    expect(page.locator("#requirement-profile")).to_have_attribute("data-state", "met")
    expect(page.locator("#requirement-questionnaire")).to_contain_text("you acknowledged the risk warning")
    expect(page.locator(".stepper li.current")).to_contain_text("Documents")
    screenshot(page, "kyc-portal-status")
    page.set_viewport_size({"width": 390, "height": 844})
    # On a phone the levels and the uploads are cards: nothing sticks out on the right, no scrolling
    # sideways, and a passed document's badge is not repeated in words under it.
    for cell in (
        page.locator(".levels-table td[data-label=Withdrawals]").all()
        + page.locator("#kyc-documents td.doc-file").all()
    ):
        box = cell.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.locator("#kyc-documents tbody tr").first).not_to_contain_text("Every automatic check passed")
    screenshot(page, "kyc-portal-status-phone")

    with tenant_context(alpha):
        client = Client.objects.get(user=user)
        assert (client.date_of_birth, client.nationality) == (date(1990, 1, 15), "CZ")
        assert FinancialProfile.objects.get(client=client).source_of_funds == "other"
        answer = QuestionnaireAnswer.objects.get(client=client)
        assert not answer.passed
        assert answer.warning_acknowledged_at is not None
        assert Document.objects.get(client=client).status == Document.Status.PASSED


def test_a_failed_upload_reads_action_needed_with_its_reasons_on_a_phone(page, site, alpha, screenshot):
    with tenant_context(alpha):
        user = factories.client_user("ivan@alpha.test")
        client = Client.objects.get(user=user)
        for side, reason in (
            ("front", "The photo is too blurry to read."),
            ("back", "The machine-readable lines do not match the document."),
        ):
            Document.objects.create(
                client=client, kind="id_card", side=side, file="x",
                original_name=f"identity-card-{side}-side-photographed-at-home-2026.jpg",
                content_type="image/jpeg", size=2000, sha256=side[0] * 64, status="failed", status_reason=reason,
            )  # fmt: skip

    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, site.tenant("alpha", "/accounts/login/?next=/portal/verification/"), "ivan@alpha.test")
    identity = page.locator("#requirement-identity")
    expect(identity).to_contain_text("Action needed")
    expect(identity).to_contain_text(
        "We could not accept your uploads. Identity card (front): The photo is too blurry to read. Identity card "
        "(back): The machine-readable lines do not match the document. Upload a passport"
    )
    expect(page.locator("#kyc-missing").get_by_role("link", name="Upload an identity document")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "kyc-portal-status-failed-phone")
