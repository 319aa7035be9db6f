"""KYC settings in the system Chromium: the owner changes a level's deposit limit and publishes a new
questionnaire version; a refused edit and a refused questionnaire show their reasons."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from kyc.models import KycSettings, Questionnaire, VerificationLevel
from tests.browser.conftest import enter_totp, sign_in, staff_with_totp

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def signed_in_owner(page, site, alpha):
    owner = staff_with_totp(alpha, "olive@alpha.test", ["owner"])
    sign_in(page, site.tenant("alpha", "/accounts/login/?next=/ops/kyc/settings/"), "olive@alpha.test")
    enter_totp(page, owner)
    expect(page.get_by_role("heading", name="KYC settings")).to_be_visible()


def test_owner_edits_a_levels_limit_and_publishes_a_questionnaire_version(page, site, alpha, screenshot):
    signed_in_owner(page, site, alpha)
    page.get_by_label("Vendor webhook secret").fill("whsec-browser-secret-1234")
    page.get_by_label("Verification provider").select_option("sumsub")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("KYC settings saved.")).to_be_visible()
    expect(page.locator("#stored-webhook-secret")).to_have_text("••••1234")
    screenshot(page, "kyc-settings-policy")

    page.get_by_role("link", name="Verification levels").click()
    expect(page.locator("#level-1")).to_contain_text("5,000.00 USD")
    screenshot(page, "kyc-settings-levels-before")
    page.locator("#level-1").get_by_role("link", name="Edit").click()
    page.get_by_label("Deposit limit").fill("-5")
    page.get_by_role("button", name="Save level").click()
    expect(page.get_by_text("An amount of 0 or more, or empty for no limit.")).to_be_visible()
    screenshot(page, "kyc-settings-level-error")
    page.get_by_label("Deposit limit").fill("2500")
    page.get_by_label("Limit currency").select_option("EUR")
    page.get_by_role("button", name="Save level").click()
    expect(page.get_by_text("Level 1 (Basic) saved.")).to_be_visible()
    expect(page.locator("#level-1")).to_contain_text("2,500.00 EUR")
    screenshot(page, "kyc-settings-levels-after")

    page.get_by_role("link", name="Questionnaires").click()
    expect(page.locator("#jurisdiction-default")).to_contain_text("In use")
    page.locator("#jurisdiction-default").get_by_role("link", name="Publish a new version").click()
    expect(page.get_by_text("Starting from Appropriateness test for CFDs v1")).to_be_visible()
    page.locator("#q2_text").fill("With leverage of 1:30, how much does a 1% move change your margin?")
    page.locator("#q1_remove").check()
    page.get_by_label("Pass score").fill("99")
    page.get_by_role("button", name="Publish version").click()
    expect(page.get_by_text("At most the highest score a client can reach (14), or nobody can pass.")).to_be_visible()
    screenshot(page, "kyc-settings-questionnaire-error")
    page.get_by_label("Pass score").fill("8")
    page.get_by_role("button", name="Publish version").click()
    expect(page.get_by_text("Version 2 is published and in use.")).to_be_visible()
    expect(page.locator("#questions")).to_contain_text("how much does a 1% move change your margin?")
    screenshot(page, "kyc-settings-questionnaire-v2")

    with tenant_context(alpha):
        basic = VerificationLevel.objects.get(number=1)
        assert (basic.deposit_limit, basic.limit_currency) == (D("2500.00"), "EUR")
        first, second = Questionnaire.objects.filter(jurisdiction="").order_by("version")
        assert (first.is_active, second.is_active, second.pass_score) == (False, True, 8)
        assert [q["code"] for q in second.questions] == ["leverage", "stop_out", "loss", "education", "purpose"]
        assert "whsec-browser-secret-1234" not in KycSettings.current().vendor_webhook_secret


def test_the_levels_page_on_a_phone(page, browser, site, alpha, screenshot):
    signed_in_owner(page, site, alpha)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    try:
        mobile = phone.new_page()
        mobile.goto(site.tenant("alpha", "/ops/kyc/settings/levels/"))
        expect(mobile.locator("#level-2")).to_contain_text("Verified")
        screenshot(mobile, "kyc-settings-levels-phone")
    finally:
        phone.close()


def test_the_deposit_page_shows_the_limit_of_the_clients_level(page, site, alpha, screenshot):
    from crm.models import Client
    from payments.defaults import payment_defaults_ensure
    from tests import factories
    from tests.payments.test_kyc_limits import at_level_1, completed

    with tenant_context(alpha):
        payment_defaults_ensure()
        lena = at_level_1(Client.objects.get(user=factories.client_user("lena@alpha.test")))
        completed(lena, D("1200.00"))
        factories.client_user("dora@alpha.test")

    sign_in(page, site.tenant("alpha", "/accounts/login/?next=/portal/funds/deposit/"), "lena@alpha.test")
    expect(page.locator("#deposit-limit")).to_contain_text("you can deposit up to 5,000.00 USD in all")
    expect(page.locator("#deposit-limit")).to_contain_text("3,800.00 USD left")
    expect(page.locator("#deposit-preview")).to_contain_text("Limits: 10.00 USD to 3,800.00 USD")
    screenshot(page, "kyc-deposit-limit-level-1")
    # One cent over what is left: refused at the amount step, never on a confirmation page.
    page.get_by_label("Amount").fill("3800.01")
    page.get_by_role("button", name="Continue").click()
    refusal = page.locator("#deposit-limit-error")
    expect(refusal).to_contain_text("would take you over your deposit limit of 5,000.00 USD")
    expect(page.get_by_role("heading", name="Confirm your deposit")).to_have_count(0)
    screenshot(page, "kyc-deposit-limit-refused")
    refusal.get_by_role("link", name="Complete your verification").click()
    expect(page).to_have_url(site.tenant("alpha", "/portal/verification/"))

    page.context.clear_cookies()
    sign_in(page, site.tenant("alpha", "/accounts/login/?next=/portal/funds/deposit/"), "dora@alpha.test")
    expect(page.get_by_role("heading", name="Verify your identity to deposit")).to_be_visible()
    expect(page.locator("#deposit-form")).to_have_count(0)
    screenshot(page, "kyc-deposit-limit-level-0")
    page.get_by_role("link", name="Continue your verification").click()
    expect(page).to_have_url(site.tenant("alpha", "/portal/verification/"))
    page.goto(site.tenant("alpha", "/portal/funds/"))
    expect(page.locator("#funds-empty")).not_to_contain_text("Make a deposit to start")
    page.locator("#funds-empty").get_by_role("link", name="Verify your identity to make your first deposit").click()
    expect(page).to_have_url(site.tenant("alpha", "/portal/verification/"))
    page.go_back()
    screenshot(page, "kyc-funds-level-0")
