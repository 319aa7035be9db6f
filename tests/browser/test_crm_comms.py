"""The communication log in the system Chromium: Ann (back office) writes an email template with the live
placeholder check; Sam (sales) logs a call and a note mentioning Ann on his client's 360 page, sends the
templated email after a preview, gives Ann a task; Ann sees the bell count, reads her notifications and
completes the task on her task list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from crm.models import Email, Note, Task
from tests import factories
from tests.browser.conftest import enter_totp, sign_in, staff_with_totp

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def _named(login, first_name: str, last_name: str):
    login.user.first_name, login.user.last_name = first_name, last_name
    login.user.save(update_fields=["first_name", "last_name"])
    return login


def test_staff_log_a_call_a_note_an_email_and_a_task_and_the_mentioned_colleague_sees_the_bell(
    page, browser, site, alpha, screenshot
):
    ann = staff_with_totp(alpha, "ann@alpha.test", roles=["back_office"])
    sam = staff_with_totp(alpha, "sam@alpha.test", roles=["sales"])
    with tenant_context(alpha):
        _named(ann, "Ann", "Lee")
        _named(sam, "Sam", "Ray")
        carla = factories.ClientFactory(
            first_name="Carla", last_name="Diaz", email="carla@example.com", language="es", sales_agent=sam.user
        )

    # Ann writes the template; the check beside the form catches an unknown placeholder as she types.
    page.goto(site.tenant("alpha", "/ops/crm/email-templates/"))
    sign_in(page, page.url, "ann@alpha.test")
    enter_totp(page, ann)
    page.get_by_role("link", name="New template").click()
    page.get_by_label("Name").fill("Welcome")
    page.get_by_label("Language").select_option("es")
    page.get_by_label("Subject").fill("Bienvenida, {{ first_name }}")
    page.get_by_label("Body").fill("Hola {{ first_name }},\nsu saldo: {{ balance }}")
    expect(page.locator("#template-problems")).to_contain_text("Unknown placeholder {{ balance }}")
    screenshot(page, "crm-comms-template-check")
    page.get_by_label("Body").fill("Hola {{ full_name }},\nbienvenida a {{ broker_name }}: {{ portal_url }}")
    expect(page.locator("#template-ok")).to_be_visible()
    expect(page.locator("#template-check")).to_contain_text("Hola Jane Doe")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_text("Template “Welcome (es)” saved.")).to_be_visible()
    expect(page.locator("#template-rows")).to_contain_text("Spanish")
    screenshot(page, "crm-comms-templates")

    # Sam works his client from the 360 page.
    sam_context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        sams = sam_context.new_page()
        sams.set_default_timeout(5_000)
        sams.goto(site.tenant("alpha", f"/ops/crm/clients/{carla.pk}/"))
        sign_in(sams, sams.url, "sam@alpha.test")
        enter_totp(sams, sam)
        comms = sams.locator("#client-comms")
        expect(comms).to_be_visible()

        comms.get_by_text("Log a call").click()
        comms.get_by_label("Direction").select_option("outbound")
        comms.get_by_label("Outcome").select_option("answered")
        comms.get_by_label("Duration (minutes)").fill("4")
        comms.get_by_label("Call notes").fill("Interested in gold; wants the Spanish welcome pack")
        comms.get_by_role("button", name="Log call").click()
        expect(sams.get_by_text("Call logged.")).to_be_visible()

        sams.locator("#client-comms").get_by_label("Note", exact=True).fill(
            "@Ann could you check her KYC documents today?"
        )
        sams.locator("#client-comms").get_by_role("button", name="Add note").click()
        expect(sams.get_by_text("Note added.")).to_be_visible()

        comms = sams.locator("#client-comms")
        comms.get_by_text("Send an email").click()
        comms.get_by_label("Template").select_option("Welcome")
        expect(sams.locator("#email-preview")).to_contain_text("Bienvenida, Carla")
        expect(sams.locator("#email-preview")).to_contain_text("Hola Carla Diaz")
        screenshot(sams, "crm-comms-email-preview")
        comms.get_by_role("button", name="Send email").click()
        expect(sams.get_by_text("Email “Bienvenida, Carla” queued to carla@example.com.")).to_be_visible()
        expect(sams.locator("#client-emails")).to_contain_text("sent")

        comms = sams.locator("#client-comms")
        comms.get_by_text("Create a task").click()
        comms.get_by_label("Task", exact=True).fill("Check Carla's KYC documents")
        due = timezone.localtime(timezone.now() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
        comms.get_by_label("Due (UTC)").fill(due)
        comms.get_by_label("Assignee").select_option(label="Ann Lee")
        comms.get_by_role("button", name="Create task").click()
        expect(sams.get_by_text("Task given to Ann Lee.")).to_be_visible()
        expect(sams.locator("#client-open-tasks")).to_contain_text("Check Carla's KYC documents")
        screenshot(sams, "crm-comms-client-360")
    finally:
        sam_context.close()

    with tenant_context(alpha):
        assert Note.objects.filter(client=carla).count() == 2
        assert Email.objects.get(client=carla).status == "sent"
        assert Task.objects.get().assignee == ann.user
    [sent] = mail.outbox
    assert sent.to == ["carla@example.com"] and sent.subject == "Bienvenida, Carla"

    # Ann: two unread (the mention and the task), then her notifications and her tasks.
    page.goto(site.tenant("alpha", "/ops/crm/email-templates/"))
    expect(page.locator("#bell .bell-count")).to_have_text("2")
    screenshot(page, "crm-comms-bell")
    page.locator("#bell").click()
    rows = page.locator("#notification-rows")
    expect(rows).to_contain_text(
        "Sam Ray mentioned you in a note on Carla Diaz: @Ann could you check her KYC documents today?"
    )
    expect(rows).to_contain_text("Sam Ray gave you a task about Carla Diaz: Check Carla's KYC documents")
    screenshot(page, "crm-comms-notifications")
    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_text("2 notifications marked read.")).to_be_visible()
    expect(page.locator("#bell .bell-count")).to_have_count(0)

    page.goto(site.tenant("alpha", "/ops/crm/tasks/"))
    expect(page.locator("#tasks-today, #tasks-upcoming").filter(has_text="Check Carla's KYC documents")).to_have_count(
        1
    )
    screenshot(page, "crm-comms-tasks")
    page.get_by_role("button", name="Complete Check Carla's KYC documents").click()
    expect(page.get_by_text("Done: Check Carla's KYC documents")).to_be_visible()
    expect(page.locator("#tasks-done")).to_contain_text("Check Carla's KYC documents")
    with tenant_context(alpha):
        assert Task.objects.get().status == "done"

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    try:
        mobile = phone.new_page()
        mobile.goto(site.tenant("alpha", f"/ops/crm/clients/{carla.pk}/"))
        panel = mobile.locator("#client-comms")
        panel.get_by_text("Create a task").click()
        expect(panel.get_by_role("button", name="Create task")).to_be_visible()
        box = panel.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1  # the panel fits the phone's width
        panel.scroll_into_view_if_needed()
        screenshot(mobile, "crm-comms-client-360-phone")
        mobile.goto(site.tenant("alpha", "/ops/crm/tasks/"))
        expect(mobile.locator("#tasks-done")).to_contain_text("Check Carla's KYC documents")
        screenshot(mobile, "crm-comms-tasks-phone")
    finally:
        phone.close()
