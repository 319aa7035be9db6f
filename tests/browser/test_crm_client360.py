"""/ops/crm/clients/ in the system Chromium: back office signs in, searches a client, opens the 360 page,
filters the timeline to payments, edits the phone number (a bad one first) and sees it on the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from crm.models import Client
from crm.timeline import timeline_record
from tests import factories
from tests.browser.conftest import enter_totp, sign_in, staff_with_totp

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def test_back_office_finds_a_client_filters_the_timeline_and_edits_the_phone(page, site, alpha, screenshot):
    now = timezone.now()
    with tenant_context(alpha):
        ada = factories.ClientFactory(
            first_name="Ada", last_name="Lovelace", email="ada@example.test", phone="+447911123456", country="GB",
            tags=["vip"], status=Client.Status.FUNDED, kyc_status=Client.KycStatus.APPROVED,
        )  # fmt: skip
        for index in range(30):
            factories.ClientFactory(first_name=f"Other{index}", last_name="Client")
        for minutes, kind, title in [
            (50, "profile", "Signed up on the client portal as ada@example.test"),
            (40, "payments", "Deposit of 500.00 USD by Card completed"),
            (30, "payments", "First deposit: 500.00 USD"),
            (20, "trading", "Opened live trading account 500123 (USD, 1:100)"),
            (10, "trading", "3 deals on 500123 (2 closed, P/L +36.50 USD)"),
        ]:
            timeline_record(
                client_id=ada.pk, kind=kind, topic="t", title=title, occurred_at=now - timedelta(minutes=minutes)
            )
    bea = staff_with_totp(alpha, "bea.backoffice@alpha.test", roles=["back_office"])

    page.goto(site.tenant("alpha", "/ops/crm/clients/"))
    sign_in(page, page.url, bea.user.email)
    enter_totp(page, bea)
    expect(page.get_by_role("heading", name="Clients")).to_be_visible()
    expect(page.locator("#client-rows tbody tr")).to_have_count(25)
    with page.expect_response(lambda r: "/ops/crm/clients/?" in r.url and "q=lovelace" in r.url):
        page.get_by_label("Name, email or phone").fill("lovelace")
    expect(page.locator("#client-rows tbody tr")).to_have_count(1)
    screenshot(page, "crm-client-list-search")

    page.locator("#client-rows").get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    expect(page.locator("#timeline-events .timeline-item")).to_have_count(5)
    expect(page.locator("#timeline-events .timeline-item").first).to_contain_text("3 deals on 500123")
    with page.expect_response(lambda r: "/timeline/" in r.url):
        page.locator("#client-timeline").get_by_label("Payments").check()
    expect(page.locator("#timeline-events .timeline-item")).to_have_count(2)
    expect(page.locator("#timeline-events")).not_to_contain_text("500123")
    screenshot(page, "crm-client360-timeline-payments")

    page.get_by_role("link", name="Edit profile").click()
    expect(page.get_by_role("heading", name="Edit profile")).to_be_visible()
    page.get_by_label("Phone").fill("12")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Not a valid phone number.")).to_be_visible()
    screenshot(page, "crm-client-edit-error")
    page.get_by_label("Phone").fill("07911 123499")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Profile saved.")).to_be_visible()
    expect(page.locator("#client-phone")).to_contain_text("+44 7911 123499")
    expect(page.locator("#timeline-events .timeline-item").first).to_contain_text("Profile changed: phone")
    screenshot(page, "crm-client360")
    with tenant_context(alpha):
        assert Client.objects.get(pk=ada.pk).phone == "+447911123499"
