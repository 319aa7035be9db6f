"""Finance reconciles a bank statement in the system Chromium: one wire confirms itself, one waits for her."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from payments.defaults import payment_defaults_ensure
from payments.models import Deposit, StatementEntry
from tests.browser.conftest import enter_totp, sign_in, staff_with_totp
from tests.payments.reconciliation_support import FIXTURES, REF_A, REF_C, client, wallet_balance, wire_deposit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def test_finance_imports_a_camt053_and_resolves_the_unknown_credit(page, browser, site, alpha, screenshot):
    fiona = staff_with_totp(alpha, "fiona@alpha.test", roles=["finance"])
    with tenant_context(alpha):
        payment_defaults_ensure()
        carl, dana = client("Carl"), client("Dana")
        wire_deposit(carl, "500.00", reference=REF_A)
        dana_deposit = wire_deposit(dana, "150.00", reference=REF_C)

    page.goto(site.tenant("alpha", "/ops/payments/reconciliation/"))
    sign_in(page, page.url, "fiona@alpha.test")
    enter_totp(page, fiona)
    expect(page.get_by_role("heading", name="Reconciliation", exact=True)).to_be_visible()
    expect(page.get_by_text("Nothing needs attention.")).to_be_visible()
    screenshot(page, "payments-reconciliation-empty")

    # The statement of 5 March: Carl's wire with his reference, and 150.00 from Dana with none.
    page.get_by_label("Format").select_option("camt053")
    page.get_by_label("File").set_input_files(str(FIXTURES / "camt053_journey.xml"))
    page.get_by_role("button", name="Import and match").click()

    expect(page.get_by_role("heading", name=re.compile(r"^Statement #\d+"))).to_be_visible()
    expect(page.get_by_text("Imported 2 entries: 1 deposit confirmed, 0 matched, 1 needs attention.")).to_be_visible()
    expect(page.get_by_text("Balances agree")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Confirmed a deposit")
    expect(rows.nth(0)).to_contain_text(REF_A)
    expect(rows.nth(1)).to_contain_text("Needs attention")
    expect(rows.nth(1)).to_contain_text("No deposit reference found in the remittance text.")
    screenshot(page, "payments-reconciliation-imported")

    page.get_by_role("link", name="← Reconciliation").click()
    queue = page.locator("table.recon-queue tbody tr")
    expect(queue).to_have_count(1)
    expect(queue.first).to_contain_text("top up my account please")
    screenshot(page, "payments-reconciliation-queue")

    queue.first.get_by_role("link", name="Resolve").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Line 2"))).to_be_visible()
    page.get_by_label("Confirm a deposit with this money").check()
    page.get_by_label("Deposit", exact=True).select_option(str(dana_deposit.pk))
    page.get_by_label("Note").fill("Dana phoned: her top-up of 150 EUR, sent without the reference.")
    screenshot(page, "payments-reconciliation-resolve")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Line 2: Dana phoned")).to_be_visible()
    expect(page.get_by_text("Nothing needs attention.")).to_be_visible()
    screenshot(page, "payments-reconciliation-resolved")

    with tenant_context(alpha):
        assert wallet_balance(carl, "EUR") == D("500.00")
        assert wallet_balance(dana, "EUR") == D("150.00")
        assert Deposit.objects.filter(status=Deposit.Status.COMPLETED).count() == 2
        assert not StatementEntry.objects.filter(status=StatementEntry.Status.EXCEPTION).exists()

    page.get_by_role("link", name="Daily report").click()
    expect(page.get_by_role("heading", name="Daily reconciliation")).to_be_visible()
    page.get_by_label("Date").fill("2026-03-05")
    page.get_by_role("button", name="Show").click()
    report = page.locator("section.recon-report")
    expect(report).to_contain_text("Bank wire · 2026-03-05")
    expect(report).to_contain_text("Reconciled")
    cells = report.locator("tbody tr").first.locator("td")
    expect(cells).to_have_text(["EUR", "650.00", "650.00", "650.00", "0.00", "0.00"])
    screenshot(page, "payments-reconciliation-report")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    try:
        mobile = phone.new_page()
        mobile.goto(site.tenant("alpha", "/ops/payments/reconciliation/"))
        expect(mobile.get_by_role("heading", name="Reconciliation", exact=True)).to_be_visible()
        screenshot(mobile, "payments-reconciliation-phone")
    finally:
        phone.close()
