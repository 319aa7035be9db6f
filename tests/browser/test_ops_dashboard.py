"""The ops dashboard in the system Chromium: an owner signs in, reads today's figures, opens the list
behind a card's number, then finds a client with the search box (typeahead) and opens the client."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from brokerage.models import FailedJob
from crm.models import Client
from kyc.models import Review
from payments.models import Withdrawal
from tests import factories
from tests.browser.conftest import enter_totp, sign_in, staff_with_totp
from tests.kernel import support_dashboard as data
from tests.kernel.support_dashboard import no_dashboard_cache  # noqa: F401 - fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_dashboard_cache"),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def test_owner_opens_a_card_list_and_finds_a_client(page, site, alpha, beta, screenshot):
    owner = staff_with_totp(alpha, "olive.owner@alpha.test", roles=["owner"])
    with tenant_context(alpha):
        sam = factories.staff_user("sam.sales@alpha.test", roles=["sales"])
        harriet = data.client("harriet.quill@example.test", first_name="Harriet", last_name="Quill",
                              phone="+447700900123", kyc_status=Client.KycStatus.PENDING,
                              kyc_status_changed_at=data.days_ago(1.2), sales_agent=sam,
                              retention_agent=owner.user)  # fmt: skip
        horace = data.client("horace@example.test", first_name="Horace", last_name="Quill")
        review = Review.objects.create(client=harriet)
        Review.objects.filter(pk=review.pk).update(opened_at=data.days_ago(1.2))
        data.deposit(harriet, "250.00")
        data.deposit(horace, "100.00")
        data.deposit(horace, "80.00", "EUR")
        data.deposit(harriet, "40.00", at=data.days_ago(1))
        data.deposit(horace, "120.00", at=data.days_ago(3))
        data.withdrawal(horace, "50.00", at=data.days_ago(0.3))
        data.withdrawal(harriet, "75.00", "EUR", status=Withdrawal.Status.PENDING_SECOND_APPROVAL)
        account = data.account(harriet, "5000123")
        data.deal(account, 1, "1.50")
        data.deal(account, 2, "0.80", at=data.days_ago(1))
        FailedJob.objects.create(task_name="payments.wallets.tasks.rates_fetch_ecb", failed_at=timezone.now(),
                                 exception="ConnectionError: ECB unreachable")  # fmt: skip

    page.goto(site.tenant("alpha", "/ops/"))
    sign_in(page, page.url, "olive.owner@alpha.test")
    enter_totp(page, owner)
    deposits_card = page.locator('[data-card="Deposits today"]')
    expect(deposits_card.locator(".value")).to_have_text("3")
    expect(deposits_card).to_contain_text("350.00 USD")
    expect(deposits_card).to_contain_text("80.00 EUR")
    expect(page.locator('[data-card="Pending KYC reviews"] .value')).to_have_text("1")
    expect(page.locator('[data-card="Failed jobs"] .value')).to_have_text("1")
    screenshot(page, "ops-dashboard")

    deposits_card.get_by_role("link", name="350.00 USD").click()
    expect(page).to_have_url(re.compile(r"/ops/payments/deposits/\?status=completed&currency=USD&date_from="))
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("table")).to_contain_text("Harriet Quill")
    expect(page.locator("table")).not_to_contain_text("80.00")
    screenshot(page, "ops-dashboard-card-deposits-list")

    box = page.get_by_label("Search clients, accounts and payments")
    with page.expect_response(lambda r: "/ops/search/?q=harr" in r.url):
        box.press_sequentially("harr", delay=40)
    menu = page.locator("#search-dropdown")
    expect(menu).to_contain_text("Harriet Quill")
    expect(menu).not_to_contain_text("Horace")
    screenshot(page, "ops-search-typeahead")
    menu.get_by_role("option", name="Harriet Quill").click()
    expect(page).to_have_url(site.tenant("alpha", f"/ops/crm/clients/{harriet.pk}/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Harriet Quill")

    box = page.get_by_label("Search clients, accounts and payments")
    box.fill("5000123")
    box.press("Enter")
    expect(page).to_have_url(site.tenant("alpha", "/ops/trading/accounts/5000123/"))
    screenshot(page, "ops-search-login-opens-account")

    page.get_by_role("link", name="Dashboard").click()
    page.locator('[data-card="Failed jobs"]').get_by_role("link", name="1").first.click()
    expect(page.get_by_role("heading", name="Failed jobs", level=1)).to_be_visible()
    expect(page.locator("#job-1")).to_contain_text("ECB unreachable")
    screenshot(page, "ops-failed-jobs")
    page.get_by_role("button", name="Mark resolved").click()
    expect(page.get_by_text("marked resolved")).to_be_visible()
    expect(page.get_by_text("No task has failed")).to_be_visible()
