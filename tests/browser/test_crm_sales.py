"""/ops/crm/sales/ in the system Chromium: back office sets up a desk and an assignment rule, tests the rule,
moves a leaving agent's clients to a colleague, then reads this month's KPIs and follows a figure."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from brokerage.models import AuditRecord
from crm.models import AssignmentRule, Client, Desk
from tests import factories
from tests.browser.conftest import enter_totp, sign_in, staff_with_totp

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def named(user, first: str, last: str):
    user.first_name, user.last_name = first, last
    user.save(update_fields=["first_name", "last_name"])
    return user


def test_back_office_organises_the_sales_floor_and_reads_kpis(page, site, alpha, screenshot):
    olga = staff_with_totp(alpha, "olga@alpha.test", roles=["back_office"])
    with tenant_context(alpha):
        named(olga.user, "Olga", "Office")
        ann = named(factories.staff_user("ann@alpha.test", roles=["sales"], mfa=False), "Ann", "Smith")
        ben = named(factories.staff_user("ben@alpha.test", roles=["sales"], mfa=False), "Ben", "Jones")
        now = timezone.now()
        for number in range(3):
            factories.ClientFactory(sales_agent=ann, status="lead", lead_stage="contacted", source="campaign",
                                    source_detail="Autumn", country="DE", first_name=f"Lead{number}")  # fmt: skip
        factories.ClientFactory(
            sales_agent=ann, status="funded", lead_stage="converted", source="campaign", source_detail="Autumn",
            first_deposit_at=now, first_deposit_amount=Decimal("15500"), first_deposit_currency="USD",
        )  # fmt: skip
        factories.ClientFactory(
            sales_agent=ben, status="funded", source="campaign",
            source_detail="Black Friday 2026 · Google Ads · DACH retargeting · long tail",
            first_deposit_at=now, first_deposit_amount=Decimal("300"), first_deposit_currency="EUR",
        )  # fmt: skip

    page.goto(site.tenant("alpha", "/ops/crm/sales/desks/"))
    sign_in(page, page.url, "olga@alpha.test")
    enter_totp(page, olga)
    expect(page.get_by_role("heading", name="Sales", exact=True)).to_be_visible()

    # A desk with Ann as manager and Ben on it.
    page.get_by_label("Name").fill("Berlin")
    page.get_by_label("Manager").select_option(label="Ann Smith")
    page.locator(".checkbox-list").get_by_label("Ben Jones").check()
    page.get_by_role("button", name="Create desk").click()
    expect(page.get_by_text("Desk Berlin created.")).to_be_visible()
    expect(page.locator("#desk-rows")).to_contain_text("Ann Smith")
    screenshot(page, "crm-sales-desks")

    # A rule for German speakers, then the tester says who would get one now.
    page.get_by_role("navigation", name="Sales").get_by_role("link", name="Assignment rules").click()
    page.get_by_role("link", name="New rule").click()
    page.get_by_label("Name").fill("German speakers")
    page.get_by_label("Priority").fill("10")
    page.get_by_label("Countries").select_option(["DE", "AT"])
    page.get_by_role("checkbox", name="German").check()
    page.get_by_role("checkbox", name="Ben Jones").check()
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_text("Rule German speakers saved.")).to_be_visible()
    expect(page.locator("#rule-rows")).to_contain_text("AT, DE")
    page.get_by_label("Country").select_option("AT")
    page.get_by_label("Language").select_option("de")
    page.get_by_role("button", name="Who would get it?").click()
    expect(page.locator("#rule-test-result")).to_contain_text("Ben Jones")
    expect(page.locator("#rule-test-result")).to_contain_text("German speakers")
    screenshot(page, "crm-sales-rules")

    # Ann leaves: her open leads go to Ben.
    page.get_by_role("navigation", name="Sales").get_by_role("link", name="Reassign clients").click()
    page.get_by_label("Clients of").select_option(label="Ann Smith")
    page.get_by_label("Status").select_option("lead")
    page.get_by_role("button", name="Show clients").click()
    expect(page.locator("#reassign-count")).to_have_text("3 clients of Ann Smith")
    page.get_by_label("Move to").select_option(label="Ben Jones")
    screenshot(page, "crm-sales-reassign")
    page.get_by_role("button", name="Move 3 clients").click()
    expect(page.get_by_text("Moved 3 clients from Ann Smith to Ben Jones.")).to_be_visible()
    expect(page.locator("#reassign-count")).to_have_text("0 clients of Ann Smith")

    # This month's KPIs.
    page.get_by_role("navigation", name="Sales").get_by_role("link", name="KPIs").click()
    expect(page.locator("#kpi-conversion")).to_have_text("40.0 %")  # 2 FTDs / 5 clients created this month
    agents = page.locator("#kpi-agents")
    expect(agents.get_by_role("row", name="Ben Jones")).to_contain_text("300.00 EUR")
    expect(page.locator("#kpi-totals")).to_contain_text("15,500.00 USD")
    expect(page.locator("#kpi-pipeline")).to_contain_text("3")
    # At 1280 px nothing is cut off: each card holds its value, wide tables scroll inside .table-wrap.
    for card in page.locator("#kpi-totals .card").all():
        assert card.evaluate("e => e.scrollWidth <= e.clientWidth"), card.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    campaigns = page.locator("#kpi-campaigns .table-wrap")
    assert campaigns.evaluate("e => e.getBoundingClientRect().right <= document.documentElement.clientWidth")
    expect(campaigns.get_by_role("columnheader", name="Conversion")).to_be_visible()
    screenshot(page, "crm-sales-kpis")

    with tenant_context(alpha):
        assert Desk.objects.get(name="Berlin").manager == ann
        assert AssignmentRule.objects.get(name="German speakers").countries == ["AT", "DE"]
        assert Client.objects.filter(sales_agent=ben, status="lead").count() == 3
        assert AuditRecord.objects.filter(action="crm.clients.reassigned", actor_email="olga@alpha.test").exists()
