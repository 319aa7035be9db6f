"""End-to-end journeys in the system Chromium: what a client, staff, a partner and the operator see."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core import mail
from django_tenants.utils import get_public_schema_name, tenant_context
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import enter_totp, sign_in, staff_with_totp

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # pytest-playwright 0.10 defines a session fixture as a method, which pytest 9 deprecates.
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

OPS_SECTIONS = ["Clients", "KYC", "Payments", "Trading", "Partners", "Risk", "Reports", "Staff", "Audit trail"]


def test_client_signs_up_verifies_email_and_reaches_the_portal(page, site, alpha, screenshot):
    # A fresh address each run: allauth rate-limits confirmation mails per address (1 per 3 min)
    # in the cache, and the test cache lives in Redis beyond this run.
    email = f"dana.{uuid.uuid4().hex[:8]}@example.test"
    page.goto(site.tenant("alpha", "/portal/"))
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/portal/$"))
    expect(page.get_by_role("heading", name="Sign In")).to_be_visible()
    expect(page.locator(".brand")).to_have_text("Alpha")

    page.get_by_role("link", name="Open an account").click()
    expect(page.get_by_role("heading", name="Sign Up")).to_be_visible()
    page.get_by_label("First name").fill("Dana")
    page.get_by_label("Last name").fill("Whitfield")
    page.get_by_label("Country of residence").select_option("GB")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill("Quiet-meadow-2031")
    page.get_by_label("Password (again):").fill("Quiet-meadow-2031")
    screenshot(page, "portal-sign-up")
    page.get_by_role("button", name="Sign Up").click()

    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    expect(page.get_by_text("We have sent an email to you for verification")).to_be_visible()
    screenshot(page, "portal-verify-email")

    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    message = mail.outbox[0]
    assert message.to == [email]
    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", message.body)
    assert link, message.body
    assert link.group(0).startswith(site.tenant("alpha", "/accounts/confirm-email/"))

    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="Confirm Email Address")).to_be_visible()
    expect(page.get_by_text(email)).to_be_visible()
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Sign In")).to_be_visible()
    sign_in(page, page.url, email, "Quiet-meadow-2031")

    expect(page).to_have_url(site.tenant("alpha", "/portal/"))
    expect(page.get_by_role("heading", name="Welcome, Dana")).to_be_visible()
    expect(page.locator(".portal-bar .brand")).to_have_text("Alpha")
    expect(page).to_have_title(re.compile(r"Alpha$"))
    expect(page.get_by_text("Country: GB")).to_be_visible()
    screenshot(page, "portal-home")


def test_staff_signs_in_with_totp_and_filters_clients(page, browser, site, alpha, screenshot):
    alice = staff_with_totp(alpha, "alice@alpha.test", roles=["owner"])
    with tenant_context(alpha):
        factories.ClientFactory(first_name="Zoe", last_name="Quartermaine", email="zoe@example.test", country="DE")
        factories.ClientFactory(first_name="Yusuf", last_name="Okafor", email="yusuf@example.test", country="NG")
        factories.ClientFactory(first_name="Xenia", last_name="Petrova", email="xenia@example.test", country="CY")

    page.goto(site.tenant("alpha", "/ops/"))
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/ops/$"))
    sign_in(page, page.url, "alice@alpha.test")
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    screenshot(page, "ops-totp")
    enter_totp(page, alice)

    expect(page).to_have_url(site.tenant("alpha", "/ops/"))
    expect(page.get_by_role("heading", name=re.compile(r"^Hello, "))).to_be_visible()
    sidebar = page.get_by_role("navigation", name="Operations")
    for section in OPS_SECTIONS:
        expect(sidebar.get_by_role("link", name=section, exact=True)).to_be_visible()
    expect(page.locator(".sidebar .brand")).to_have_text("Alpha")
    expect(page.locator(".sidebar .foot")).to_contain_text("alice@alpha.test")
    screenshot(page, "ops-dashboard")

    sidebar.get_by_role("link", name="Clients", exact=True).click()
    expect(page.get_by_role("heading", name="Clients")).to_be_visible()
    rows = page.locator("#client-rows tbody tr")
    expect(rows).to_have_count(3)
    for email in ("zoe@example.test", "yusuf@example.test", "xenia@example.test"):
        expect(page.locator("#client-rows")).to_contain_text(email)
    expect(sidebar.get_by_role("link", name="Clients", exact=True)).to_have_class(re.compile(r"\bactive\b"))
    screenshot(page, "ops-clients")

    with page.expect_response(lambda r: "/ops/crm/" in r.url and r.request.headers.get("hx-request") == "true"):
        page.get_by_label("Name, email or phone").fill("quarter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Zoe Quartermaine")
    expect(page).to_have_url(re.compile(r"[?&]q=quarter"))  # hx-push-url keeps the filter in the address
    screenshot(page, "ops-clients-filtered")

    page.get_by_label("Name, email or phone").fill("nobody-by-this-name")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_text("No clients match.")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    try:
        mobile = phone.new_page()
        mobile.goto(site.tenant("alpha", "/ops/"))
        menu = mobile.get_by_role("button", name="Menu")
        expect(menu).to_be_visible()
        expect(mobile.locator(".sidebar")).to_be_hidden()
        screenshot(mobile, "ops-dashboard-phone")
        menu.click()
        expect(mobile.locator(".sidebar")).to_be_visible()
        expect(mobile.get_by_role("navigation", name="Operations").get_by_role("link", name="Clients")).to_be_visible()
        screenshot(mobile, "ops-dashboard-phone-menu-open")
        menu.click()
        expect(mobile.locator(".sidebar")).to_be_hidden()
    finally:
        phone.close()


def test_partner_signs_in_to_the_partner_overview(page, site, alpha, screenshot):
    with tenant_context(alpha):
        factories.partner_user("pia@partners.test")

    page.goto(site.tenant("alpha", "/partners/"))
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/partners/$"))
    sign_in(page, page.url, "pia@partners.test")

    expect(page).to_have_url(site.tenant("alpha", "/partners/"))
    expect(page.get_by_role("heading", name="Partner portal")).to_be_visible()
    expect(page.get_by_text("You are signed in as an introducing broker of Alpha.")).to_be_visible()
    expect(page.get_by_role("navigation", name="Portal").get_by_role("link", name="Overview")).to_be_visible()
    expect(page.locator(".portal-bar .who")).to_contain_text("pia@partners.test")
    screenshot(page, "partner-overview")


def test_operator_suspends_and_reactivates_a_tenant(page, site, screenshot):
    from tenants.models import Domain, Tenant

    public = Tenant.objects.get(schema_name=get_public_schema_name())
    Domain.objects.create(domain="localhost", tenant=public, is_primary=False)
    operator = staff_with_totp(public, "ops@platform.test", roles=["owner"])
    assert operator.user.is_staff  # platform operators are the public schema's staff

    page.goto(site.console("/"))
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.locator(".brand")).to_have_text("Brokerage platform")
    screenshot(page, "console-sign-in")
    sign_in(page, page.url, "ops@platform.test")
    enter_totp(page, operator)

    expect(page.get_by_role("heading", name="Sub-brokers")).to_be_visible()
    table = page.locator("table")
    expect(table.get_by_role("link", name="Alpha", exact=True)).to_be_visible()
    expect(table.get_by_role("link", name="Beta", exact=True)).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tr", has_text="Alpha")).to_contain_text("alpha.localhost")
    expect(table.locator("tr", has_text="Alpha")).to_contain_text("active")
    screenshot(page, "console-tenants")

    table.get_by_role("link", name="Alpha", exact=True).click()
    expect(page.get_by_role("heading", name="Alpha")).to_contain_text("active")
    page.get_by_label("Reason").fill("Unpaid platform invoice")
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Suspend").click()
    expect(page.get_by_text("Alpha is suspended.")).to_be_visible()
    assert dialogs == ["Suspend Alpha? Its staff, clients and API are locked out until you reactivate it."]
    expect(page.get_by_role("heading", name="Alpha")).to_contain_text("suspended")
    expect(page.get_by_text("Suspended: Unpaid platform invoice")).to_be_visible()
    screenshot(page, "console-tenant-suspended")

    portal = page.context.new_page()
    response = portal.goto(site.tenant("alpha", "/portal/"))
    assert response.status == 403
    expect(portal.get_by_role("heading", name="Service suspended")).to_be_visible()
    expect(portal.get_by_text("Alpha's back office is suspended by the platform operator")).to_be_visible()
    expect(portal.get_by_role("link", name="help@alpha.test")).to_be_visible()
    expect(portal.locator(".brand")).to_have_text("Alpha")
    screenshot(portal, "tenant-suspended")

    page.get_by_role("button", name="Reactivate").click()
    expect(page.get_by_text("Alpha is active again.")).to_be_visible()
    expect(page.get_by_role("heading", name="Alpha")).to_contain_text("active")

    portal.goto(site.tenant("alpha", "/portal/"))
    expect(portal.get_by_role("heading", name="Sign In")).to_be_visible()
    expect(portal.get_by_role("heading", name="Service suspended")).to_have_count(0)


def test_a_session_on_alpha_does_not_sign_you_in_on_beta(page, site, alpha, screenshot):
    alice = staff_with_totp(alpha, "alice@alpha.test", roles=["owner"])
    page.goto(site.tenant("alpha", "/ops/"))
    sign_in(page, page.url, "alice@alpha.test")
    enter_totp(page, alice)
    expect(page).to_have_url(site.tenant("alpha", "/ops/"))
    expect(page.locator(".sidebar .brand")).to_have_text("Alpha")

    page.goto(site.tenant("beta", "/ops/"))
    expect(page).to_have_url(site.tenant("beta", "/accounts/login/?next=/ops/"))
    expect(page.get_by_role("heading", name="Sign In")).to_be_visible()
    expect(page.locator(".brand")).to_have_text("Beta")
    expect(page).to_have_title(re.compile(r"Beta$"))
    expect(page.get_by_text("alice@alpha.test")).to_have_count(0)
    expect(page.get_by_text("Alpha")).to_have_count(0)
    screenshot(page, "beta-sign-in")

    # Alice's own credentials mean nothing on beta: her account lives in alpha's schema.
    sign_in(page, page.url, "alice@alpha.test")
    expect(page.get_by_text("The email address and/or password you specified are not correct.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"beta\.localhost:\d+/accounts/login/"))

    # And alpha still knows her.
    page.goto(site.tenant("alpha", "/ops/"))
    expect(page.get_by_role("heading", name=re.compile(r"^Hello, "))).to_be_visible()
