"""/ops/crm/leads/ in the system Chromium: the back office imports a small CSV (upload, mapping with preview,
progress, report of the rows not imported), then works the pipeline: filters by stage and moves a lead inline."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from crm.models import Client
from tests.browser.conftest import enter_totp, sign_in, staff_with_totp
from tests.crm.support_leads import FIXTURES

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def test_back_office_imports_leads_reads_the_report_and_moves_a_lead(page, browser, site, alpha, screenshot):
    olga = staff_with_totp(alpha, "olga@alpha.test", roles=["back_office"])

    page.goto(site.tenant("alpha", "/ops/crm/leads/"))
    sign_in(page, page.url, "olga@alpha.test")
    enter_totp(page, olga)
    expect(page.get_by_role("heading", name="Leads", exact=True)).to_be_visible()

    page.get_by_role("link", name="Import leads").click()
    page.get_by_label("File").set_input_files(str(FIXTURES / "leads_semicolon.csv"))
    page.get_by_role("button", name="Upload and preview").click()
    expect(
        page.get_by_text("Read 6 rows of leads_semicolon.csv: encoding UTF-8, separated by semicolons.")
    ).to_be_visible()
    expect(page.get_by_label("Email", exact=True)).to_have_value("E-mail")
    expect(page.locator(".import-preview tbody tr")).to_have_count(6)
    page.get_by_label("Tags for every lead").fill("expo-2024")
    screenshot(page, "crm-leads-import-mapping")

    page.get_by_role("button", name="Start the import").click()
    expect(page.locator("#import-status")).to_have_text("Done")
    expect(page.locator("#count-imported")).to_have_text("2")
    expect(page.locator("#count-duplicates")).to_have_text("1")
    expect(page.locator("#count-rejected")).to_have_text("3")
    screenshot(page, "crm-leads-import-progress")

    page.locator("#import-progress").get_by_role("link", name="Report").click()
    rows = page.locator("#problem-rows tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("“not-an-email” is not a valid email address.")
    expect(rows.nth(1)).to_contain_text("The same email as line 2 of this file.")
    screenshot(page, "crm-leads-import-report")

    page.goto(site.tenant("alpha", "/ops/crm/leads/"))
    expect(page.locator("#stage-new .value")).to_have_text("2")
    with tenant_context(alpha):
        ben = Client.objects.get(email="ben@example.test")
    row = page.locator(f"#lead-{ben.pk}")
    row.get_by_label("Stage of Ben Bauer").select_option("qualified")
    row.get_by_role("button", name="Move").click()
    expect(page.locator(f"#lead-{ben.pk} .badge").first).to_have_text("Qualified")
    page.locator("#stage-qualified").click()
    expect(page.locator(".lead-table tbody tr")).to_have_count(1)
    expect(page.locator("#stage-qualified .value")).to_have_text("1")
    screenshot(page, "crm-leads-pipeline")
    with tenant_context(alpha):
        ben.refresh_from_db()
        assert ben.lead_stage == "qualified"

    page.get_by_role("link", name="All stages").click()
    page.get_by_role("link", name="New lead").click()
    page.get_by_label("First name").fill("Cléo")
    page.get_by_label("Last name").fill("Dupont")
    page.get_by_label("Phone").fill("06 12 34 56 78")
    page.get_by_label("Country").select_option("FR")
    page.get_by_label("Email").fill("ANA@example.test")
    page.get_by_role("button", name="Create lead").click()
    expect(page.locator(".errorlist")).to_contain_text("The same email as client #")
    screenshot(page, "crm-leads-new-duplicate")
    page.get_by_label("Email").fill("cleo@example.test")
    page.get_by_role("button", name="Create lead").click()
    expect(page.get_by_text("Lead Cléo Dupont created.")).to_be_visible()
    with tenant_context(alpha):
        cleo = Client.objects.get(email="cleo@example.test")
        assert (cleo.phone, cleo.status, cleo.source) == ("+33612345678", "lead", "manual")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    try:
        mobile = phone.new_page()
        mobile.goto(site.tenant("alpha", "/ops/crm/leads/"))
        screenshot(mobile, "crm-leads-pipeline-phone")
    finally:
        phone.close()
