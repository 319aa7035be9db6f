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
    expect(page.locator("#id_date_of_birth-field")).to_contain_text("Under 18 years old.")
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
    expect(missing).to_contain_text("Proof of address")
    expect(missing).to_contain_text("Do it now")
    expect(page.locator("#requirement-profile")).to_have_attribute("data-state", "met")
    expect(page.locator("#requirement-questionnaire")).to_contain_text("you acknowledged the risk warning")
    expect(page.locator(".stepper li.current")).to_contain_text("Documents")
    screenshot(page, "kyc-portal-status")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "kyc-portal-status-phone")

    with tenant_context(alpha):
        client = Client.objects.get(user=user)
        assert (client.date_of_birth, client.nationality) == (date(1990, 1, 15), "CZ")
        assert FinancialProfile.objects.get(client=client).source_of_funds == "other"
        answer = QuestionnaireAnswer.objects.get(client=client)
        assert not answer.passed
        assert answer.warning_acknowledged_at is not None
        assert Document.objects.get(client=client).status == Document.Status.PASSED
