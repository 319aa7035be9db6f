"""The pages of the communication log: who may post what, and what each answer looks like."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.roles import perm
from crm import comms
from crm.models import EmailTemplate, Note, Notification, Task
from tests import factories
from tests.crm.support_comms import People, make_people
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alpha) -> People:
    return make_people(alpha)


def _client_page(client) -> str:
    return f"/ops/crm/clients/{client.pk}/"


def test_a_note_posted_from_the_360_page_returns_to_it(alpha, people):
    web = tenant_web_client(alpha, people.sam)
    response = web.post(f"{_client_page(people.carla)}notes/", {"body": "Wants a demo account"})

    assert response.status_code == 302 and response["Location"] == _client_page(people.carla)
    with tenant_context(alpha):
        assert Note.objects.get().body == "Wants a demo account"


def test_a_sales_agent_gets_404_on_another_agents_client_and_nothing_is_written(alpha, people):
    web = tenant_web_client(alpha, people.sam)
    due = (timezone.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    pedro = _client_page(people.pedro)
    assert web.post(f"{pedro}notes/", {"body": "x"}).status_code == 404
    assert web.post(f"{pedro}calls/", {"call_outcome": "answered", "call_direction": "outbound"}).status_code == 404
    assert web.post(f"{pedro}emails/", {"subject": "Hi", "body": "x"}).status_code == 404
    assert web.post(f"{pedro}tasks/", {"title": "x", "due_at": due, "assignee": people.sam.pk}).status_code == 404
    assert web.get(f"{pedro}emails/preview/?subject=a&body=b").status_code == 404
    with tenant_context(alpha):
        assert not Note.objects.exists() and not Task.objects.exists()


def test_staff_who_may_only_read_clients_cannot_post(alpha, people):
    with tenant_context(alpha):
        compliance = factories.staff_user("cora@alpha.test", roles=["compliance"])
    web = tenant_web_client(alpha, compliance)
    assert web.post(f"{_client_page(people.carla)}notes/", {"body": "x"}).status_code == 403


def test_htmx_errors_come_back_in_the_panel_and_success_redirects_the_page(alpha, people):
    web = tenant_web_client(alpha, people.sam)
    url = f"{_client_page(people.carla)}notes/"

    refused = web.post(url, {"body": "@Sue look"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200
    assert "Sue Kim cannot see this client, so they cannot be mentioned here." in refused.content.decode()
    assert 'id="client-comms"' in refused.content.decode()

    accepted = web.post(url, {"body": "@Olga? no: just a note"}, HTTP_HX_REQUEST="true")
    assert accepted.status_code == 200  # Olga cannot see Carla: still refused
    accepted = web.post(url, {"body": "just a note"}, HTTP_HX_REQUEST="true")
    assert accepted.status_code == 204 and accepted["HX-Redirect"] == _client_page(people.carla)


def test_without_htmx_an_error_is_shown_on_a_page_with_what_was_typed(alpha, people):
    web = tenant_web_client(alpha, people.sam)
    response = web.post(f"{_client_page(people.carla)}calls/", {"call_direction": "inbound", "body": "she hung up"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page and "she hung up" in page


def test_the_email_preview_shows_the_rendered_text_escaped_for_the_page(alpha, people):
    with tenant_context(alpha):
        people.carla.first_name = "<script>x</script>"
        people.carla.save()
        comms.email_template_save(
            actor=people.alice, name="Hello", language="en", subject="Hi {{ first_name }}", body="Dear {{ full_name }}"
        )
    web = tenant_web_client(alpha, people.sam)
    page = web.get(f"{_client_page(people.carla)}emails/preview/?template=Hello").content.decode()
    assert "Hi &lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    unknown = web.get(f"{_client_page(people.carla)}emails/preview/?subject=Hi&body={{{{ balance }}}}").content.decode()
    assert "Unknown placeholder {{ balance }}" in unknown


def test_a_task_from_the_360_page_and_my_tasks_sections(alpha, people):
    web = tenant_web_client(alpha, people.alice)
    due = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = web.post(
        f"{_client_page(people.carla)}tasks/", {"title": "Send the brochure", "due_at": due, "assignee": people.sam.pk}
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        Task.objects.create(
            title="Overdue call", due_at=timezone.now() - timedelta(hours=1), assignee=people.sam, created_by=people.sam
        )
        Task.objects.create(
            title="Ann's own", due_at=timezone.now() + timedelta(hours=1), assignee=people.ann, created_by=people.ann
        )

    sam_page = tenant_web_client(alpha, people.sam).get("/ops/crm/tasks/?assignee=all")
    content = sam_page.content.decode()
    assert sam_page.status_code == 200
    assert "Overdue call" in content and "Send the brochure" in content
    assert "Ann&#x27;s own" not in content  # a sales agent's filter is always himself
    overdue = content.split('id="tasks-overdue"')[1].split("</table>")[0]
    assert "Overdue call" in overdue and "Send the brochure" not in overdue

    everyone = web.get("/ops/crm/tasks/?assignee=all").content.decode()
    assert "Ann&#x27;s own" in everyone and "Overdue call" in everyone
    only_ann = web.get(f"/ops/crm/tasks/?assignee={people.ann.pk}").content.decode()
    assert "Ann&#x27;s own" in only_ann and "Overdue call" not in only_ann


def test_completing_from_my_tasks_and_nobody_else_can(alpha, people):
    with tenant_context(alpha):
        task = comms.task_create(
            actor=people.sam, title="Offer", due_at=timezone.now() + timedelta(hours=1), assignee=people.sam
        )
    assert tenant_web_client(alpha, people.sue).post(f"/ops/crm/tasks/{task.pk}/complete/").status_code == 404
    response = tenant_web_client(alpha, people.sam).post(
        f"/ops/crm/tasks/{task.pk}/complete/", {"next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/ops/crm/tasks/"
    with tenant_context(alpha):
        task.refresh_from_db()
        assert task.status == "done"


def test_email_templates_pages_need_crm_manage_and_refuse_unknown_placeholders(alpha, people):
    assert tenant_web_client(alpha, people.sam).get("/ops/crm/email-templates/").status_code == 403
    web = tenant_web_client(alpha, people.ann)
    assert web.get("/ops/crm/email-templates/").status_code == 200

    form = {"name": "Welcome", "language": "en", "subject": "Hi {{ first_name }}", "body": "Your {{ balance }}"}
    refused = web.post("/ops/crm/email-templates/new/", {**form, "is_active": "on"})
    assert refused.status_code == 400
    assert "Unknown placeholder {{ balance }}" in refused.content.decode()

    check = web.post("/ops/crm/email-templates/check/", {"subject": "Hi {{ first_name }}", "body": "Hello"})
    assert "Every placeholder is known." in check.content.decode() and "Hi Jane" in check.content.decode()

    saved = web.post("/ops/crm/email-templates/new/", {**form, "body": "Hello {{ full_name }}", "is_active": "on"})
    assert saved.status_code == 302
    with tenant_context(alpha):
        template = EmailTemplate.objects.get()
    assert (template.subject, template.is_active) == ("Hi {{ first_name }}", True)
    edited = web.post(f"/ops/crm/email-templates/{template.pk}/", {**form, "body": "Bye {{ first_name }}"})
    assert edited.status_code == 302
    template.refresh_from_db()
    assert (template.body, template.is_active) == ("Bye {{ first_name }}", False)


def test_notifications_open_marks_read_and_follows_the_link_read_all_clears(alpha, people):
    with tenant_context(alpha):
        first = comms.notify(people.ann, "Look at Carla", url=_client_page(people.carla))
        comms.notify(people.ann, "Second")
        comms.notify(people.sam, "Not Ann's")
    web = tenant_web_client(alpha, people.ann)
    page = web.get("/ops/crm/notifications/").content.decode()
    assert "Look at Carla" in page and "Not Ann" not in page and "2 unread" in page

    opened = web.post(f"/ops/crm/notifications/{first.pk}/", {"open": "1"})
    assert opened.status_code == 302 and opened["Location"] == _client_page(people.carla)
    web.post("/ops/crm/notifications/read-all/")
    with tenant_context(alpha):
        assert comms.unread_count(people.ann) == 0 and comms.unread_count(people.sam) == 1


def test_the_bell_costs_one_query_for_staff_and_renders_nothing_for_others(in_alpha, people):
    comms.notify(people.ann, "One")
    comms.notify(people.ann, "Two")
    request = RequestFactory().get("/ops/")
    request.user = people.ann
    request.user.has_perm(perm("ops_access"))  # the ops menu has loaded the permissions already
    with CaptureQueriesContext(connection) as queries:
        bell = render_to_string("crm/_bell.html", {"request": request})
    [query] = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SET search_path")]
    assert '"crm_notification"."user_id" =' in query and "LIMIT 100" in query
    assert 'href="/ops/crm/notifications/"' in bell and '<span class="bell-count">2</span>' in bell

    request.user = factories.client_user("carl@alpha.test")
    Notification.objects.create(user=request.user, message="should never show")
    assert render_to_string("crm/_bell.html", {"request": request}).strip() == ""


def test_my_tasks_hide_a_task_about_a_client_reassigned_away(alpha, people):
    with tenant_context(alpha):
        due = timezone.now() + timedelta(hours=2)
        Task.objects.create(title="Call Carla", due_at=due, assignee=people.sam, created_by=people.sam,
                            client=people.carla)  # fmt: skip
        Task.objects.create(title="Write report", due_at=due, assignee=people.sam, created_by=people.sam)
        people.carla.sales_agent = people.sue
        people.carla.save(update_fields=["sales_agent"])

    page = tenant_web_client(alpha, people.sam).get("/ops/crm/tasks/").content.decode()

    assert "Write report" in page
    assert "Call Carla" not in page and "Carla Diaz" not in page


def test_my_tasks_link_the_client_by_its_url_name(alpha, people):
    with tenant_context(alpha):
        Task.objects.create(title="Call Carla", due_at=timezone.now() + timedelta(hours=2), assignee=people.sam,
                            created_by=people.sam, client=people.carla)  # fmt: skip
    page = tenant_web_client(alpha, people.sam).get("/ops/crm/tasks/").content.decode()
    assert f'<a href="/ops/crm/clients/{people.carla.pk}/">Carla Diaz</a>' in page
