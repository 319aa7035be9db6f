"""/ops/crm/segments/ in the system Chromium: build a segment from two criteria with its live preview,
save it, export its members as CSV and tag every member in bulk."""

from __future__ import annotations

import csv

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from brokerage.models import AuditRecord
from crm.models import Client
from tests.browser.conftest import enter_totp, sign_in, staff_with_totp
from tests.crm.support_segments import book_make

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def test_build_preview_save_export_and_tag_a_segment(page, site, alpha, screenshot):
    with tenant_context(alpha):
        book_make()
    olga = staff_with_totp(alpha, "olga@alpha.test", roles=["owner"])

    page.goto(site.tenant("alpha", "/ops/crm/segments/"))
    sign_in(page, page.url, "olga@alpha.test")
    enter_totp(page, olga)
    expect(page.get_by_role("heading", name="Segments", exact=True)).to_be_visible()
    page.get_by_role("link", name="New segment").click()

    page.get_by_label("Name", exact=True).fill("New money, no trades")
    expect(page.locator("#segment-preview")).to_contain_text("Add a criterion to see who matches.")
    # A criterion without settings changes no field: adding it alone must refresh the preview.
    page.get_by_label("Add a criterion").select_option("never_traded")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#criterion-0")).to_contain_text("Never traded")
    expect(page.locator("#preview-count")).to_have_text("3")  # Ann, Ben and Eve never traded
    page.get_by_label("Add a criterion").select_option("deposited_within")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_role("textbox", name="Days").fill("0")
    expect(page.locator("#segment-preview")).to_contain_text("Days: must be at least 1.")
    page.get_by_role("textbox", name="Days").fill("7")
    expect(page.locator("#preview-count")).to_have_text("1")
    page.get_by_label("Add a criterion").select_option("country_in")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_label("Countries").select_option(["GB"])
    expect(page.locator("#preview-count")).to_have_text("0")
    # Removing a criterion, again without touching a field, refreshes the count too.
    page.get_by_role("button", name="Remove Country is …").click()
    expect(page.locator("#criterion-2")).to_have_count(0)
    expect(page.locator("#preview-count")).to_have_text("1")
    expect(page.locator("#segment-preview")).to_contain_text("Ann Test")
    screenshot(page, "crm-segments-builder")

    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_text("Segment “New money, no trades” saved.")).to_be_visible()
    expect(page.locator("#segment-count")).to_have_text("1")
    expect(page.locator(".criteria-lines")).to_contain_text("Deposited in the last 7 days")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.reader(open(download.value.path(), encoding="utf-8")))  # noqa: SIM115 - read at once
    assert rows[0][:3] == ["id", "name", "email"]
    assert [row[2] for row in rows[1:]] == ["ann@clients.test"]

    page.get_by_label("Bulk action").select_option("tag_add")
    page.get_by_label("Tag", exact=True).fill("Call today")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Add tag: 1 of 1 client tagged.")).to_be_visible()
    expect(page.locator("#segment-count")).to_have_text("1")
    screenshot(page, "crm-segments-detail-tagged")

    page.get_by_role("link", name="← Segments").click()
    expect(page.locator("#segment-rows")).to_contain_text("New money, no trades")
    expect(page.locator("#segment-rows .segment-count")).to_have_text("1")
    screenshot(page, "crm-segments-list")
    with tenant_context(alpha):
        assert Client.objects.get(email="ann@clients.test").tags == ["vip", "call today"]
        assert AuditRecord.objects.filter(action="crm.segment.exported", actor_email="olga@alpha.test").exists()
        assert AuditRecord.objects.filter(action="crm.clients.tagged").count() == 1
