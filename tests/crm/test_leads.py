"""Leads entered by hand and moved along the pipeline; the pipeline page and who sees what on it."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from crm.leads import lead_create, lead_stage_set
from crm.models import Client, TimelineEvent
from tests import factories
from tests.crm.support_leads import lead_people
from tests.crm.support_sales import rule_with
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(in_alpha):
    return lead_people()


def lead_of(agent=None, **fields) -> Client:
    fields.setdefault("status", Client.Status.LEAD)
    return factories.ClientFactory(sales_agent=agent, **fields)


def test_back_office_creates_a_lead_normalised_audited_on_the_timeline_and_assigned_by_rule(people):
    rule_with("Spain", [people.sam], countries=["ES"])

    lead = lead_create(
        actor=people.olga,
        data={
            "first_name": " Ana ",
            "last_name": "López",
            "email": "ana@example.test",
            "phone": "612 345 678",
            "country": "es",
            "language": "es",
            "source": "campaign",
            "source_detail": "spring-24",
            "tags": "vip, gold,vip",
        },
    )

    lead.refresh_from_db()
    assert (lead.first_name, lead.last_name, lead.email, lead.phone, lead.country) == (
        "Ana",
        "López",
        "ana@example.test",
        "+34612345678",
        "ES",
    )
    assert (lead.status, lead.lead_stage, lead.source, lead.source_detail, lead.tags) == (
        "lead",
        "new",
        "campaign",
        "spring-24",
        ["vip", "gold"],
    )
    assert lead.sales_agent == people.sam
    assert "Lead created by Olga Office" in TimelineEvent.objects.filter(client=lead).values_list("title", flat=True)
    record = AuditRecord.objects.get(action="crm.lead.created")
    assert (record.actor_email, record.object_id, record.after["phone"]) == (
        "olga@alpha.test",
        str(lead.pk),
        "+34612345678",
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "x@example.test"}, "first_name"),
        ({"first_name": "Ana"}, "email"),
        ({"first_name": "Ana", "email": "not-an-email"}, "email"),
        ({"first_name": "Ana", "phone": "12", "country": "DE"}, "phone"),
        ({"first_name": "Ana", "email": "a@example.test", "country": "Atlantis"}, "country"),
        ({"first_name": "Ana", "email": "a@example.test", "source": "tv"}, "source"),
    ],
)
def test_a_lead_needs_a_name_and_a_valid_email_or_phone(people, data, field):
    with pytest.raises(ApplicationError) as raised:
        lead_create(actor=people.olga, data=data)

    assert field in raised.value.fields
    assert not Client.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "ANA@example.test"}, "email"),
        ({"phone": "+34 612 345 678"}, "phone"),
        ({"phone": "612345678", "country": "ES"}, "phone"),
    ],
)
def test_someone_already_on_file_is_refused_naming_the_client(people, data, field):
    ana = factories.ClientFactory(first_name="Ana", last_name="López", email="ana@example.test", phone="+34612345678")

    with pytest.raises(ApplicationError) as raised:
        lead_create(actor=people.olga, data={"first_name": "Ana", **data})

    assert raised.value.code == "duplicate"
    assert f"client #{ana.pk}" in raised.value.message
    assert raised.value.fields == {field: [f"The same {field} as client #{ana.pk} (Ana López)."]}
    assert Client.objects.count() == 1


def test_staff_who_cannot_change_clients_cannot_create_leads(people):
    with pytest.raises(PermissionDenied):
        lead_create(actor=people.cora, data={"first_name": "Ana", "email": "ana@example.test"})

    assert not Client.objects.exists()
    assert not AuditRecord.objects.filter(action="crm.lead.created").exists()


def test_a_sales_agents_own_lead_is_theirs_and_hidden_from_other_agents(alpha, people):
    rule_with("Everyone to Sue", [people.sue])

    lead = lead_create(actor=people.sam, data={"first_name": "Ana", "email": "ana@example.test"})

    assert lead.sales_agent == people.sam
    sam_page = tenant_web_client(alpha, people.sam)
    assert "ana@example.test" in sam_page.get("/ops/crm/leads/").content.decode()
    sue_page = tenant_web_client(alpha, people.sue)
    assert "ana@example.test" not in sue_page.get("/ops/crm/leads/").content.decode()


def test_moving_a_lead_along_the_pipeline_is_on_its_timeline_and_lost_needs_a_reason(people):
    lead = lead_of(people.sam)

    lead_stage_set(actor=people.sam, client=lead, stage="contacted")
    with pytest.raises(ApplicationError) as raised:
        lead_stage_set(actor=people.sam, client=lead, stage="lost")
    assert "reason" in raised.value.fields
    lead_stage_set(actor=people.sam, client=lead, stage="lost", reason="Chose another broker")

    lead.refresh_from_db()
    assert lead.lead_stage == "lost"
    events = list(TimelineEvent.objects.filter(client=lead).order_by("id").values_list("title", "detail"))
    assert events == [
        ("Lead stage: New → Contacted", ""),
        ("Lead stage: Contacted → Lost", "Chose another broker"),
    ]
    assert AuditRecord.objects.filter(action="crm.lead.stage_changed", object_id=str(lead.pk)).count() == 2


def test_converted_is_final_and_a_registered_client_is_no_longer_a_lead(people):
    lead = lead_of(people.sam)
    lead_stage_set(actor=people.olga, client=lead, stage="converted")
    with pytest.raises(ApplicationError):
        lead_stage_set(actor=people.olga, client=lead, stage="contacted")

    client = factories.ClientFactory(status=Client.Status.REGISTERED)
    with pytest.raises(ApplicationError):
        lead_stage_set(actor=people.olga, client=client, stage="contacted")
    with pytest.raises(ApplicationError):
        lead_stage_set(actor=people.olga, client=lead_of(), stage="won")


def test_an_agent_cannot_move_another_agents_lead(people):
    lead = lead_of(people.sam)

    with pytest.raises(PermissionDenied):
        lead_stage_set(actor=people.sue, client=lead, stage="contacted")

    lead.refresh_from_db()
    assert lead.lead_stage == "new"
    assert not TimelineEvent.objects.filter(client=lead).exists()


def test_the_pipeline_counts_and_lists_only_what_the_agent_sees(alpha, people):
    lead_of(people.sam, email="a1@example.test", lead_stage="new")
    lead_of(people.sam, email="a2@example.test", lead_stage="qualified")
    lead_of(people.sue, email="b1@example.test", lead_stage="qualified")
    lead_of(None, email="c1@example.test", lead_stage="lost")
    factories.ClientFactory(email="registered@example.test", status=Client.Status.REGISTERED)

    sam = tenant_web_client(alpha, people.sam).get("/ops/crm/leads/")
    assert sam.status_code == 200
    assert [count for _value, _label, count in sam.context["stages"]] == [1, 0, 1, 0, 0, 0]
    assert {lead.email for lead in sam.context["page"]} == {"a1@example.test", "a2@example.test"}

    olga = tenant_web_client(alpha, people.olga)
    everything = olga.get("/ops/crm/leads/")
    assert everything.context["total"] == 4
    assert {lead.email for lead in olga.get("/ops/crm/leads/?stage=qualified").context["page"]} == {
        "a2@example.test",
        "b1@example.test",
    }
    assert [lead.email for lead in olga.get("/ops/crm/leads/?agent=none").context["page"]] == ["c1@example.test"]
    assert [lead.email for lead in olga.get(f"/ops/crm/leads/?agent={people.sue.pk}").context["page"]] == [
        "b1@example.test"
    ]
    assert [lead.email for lead in olga.get("/ops/crm/leads/?q=A2@EX").context["page"]] == ["a2@example.test"]


def test_a_stage_changed_inline_comes_back_as_the_updated_row(alpha, people):
    lead = lead_of(people.sam, email="a1@example.test")
    web = tenant_web_client(alpha, people.sam)

    response = web.post(f"/ops/crm/leads/{lead.pk}/stage/", {"stage": "qualified"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'id="lead-{lead.pk}"' in response.content.decode()
    assert "Qualified</span>" in response.content.decode()

    refused = web.post(f"/ops/crm/leads/{lead.pk}/stage/", {"stage": "lost"}, HTTP_HX_REQUEST="true")
    assert "A reason is needed for lost." in refused.content.decode()
    lead.refresh_from_db()
    assert lead.lead_stage == "qualified"

    other = tenant_web_client(alpha, people.sue).post(f"/ops/crm/leads/{lead.pk}/stage/", {"stage": "new"})
    assert other.status_code == 404


def test_the_new_lead_form_creates_the_lead_or_shows_what_to_fix(alpha, people):
    existing = factories.ClientFactory(email="ana@example.test")
    web = tenant_web_client(alpha, people.olga)

    duplicate = web.post(
        "/ops/crm/leads/new/", {"first_name": "Ana", "email": "ana@example.test", "language": "en", "source": "manual"}
    )
    assert duplicate.status_code == 400
    assert (
        f'The same email as <a href="/ops/crm/clients/{existing.pk}/">client #{existing.pk}'
        in duplicate.content.decode()
    )

    created = web.post(
        "/ops/crm/leads/new/",
        {"first_name": "Ben", "last_name": "Bauer", "phone": "+49 151 23456789", "language": "de", "source": "manual"},
    )
    ben = Client.objects.get(phone="+4915123456789")
    assert created.status_code == 302
    assert created["Location"] == f"/ops/crm/clients/{ben.pk}/"
    assert (ben.status, ben.language) == ("lead", "de")


@pytest.mark.parametrize(
    ("role", "status"), [("compliance", 403), ("finance", 403), ("sales", 200), ("back_office", 200)]
)
def test_who_may_open_the_new_lead_form(alpha, role, status):
    from django_tenants.utils import tenant_context

    with tenant_context(alpha):
        user = factories.staff_user(f"{role}@alpha.test", roles=[role])
    assert tenant_web_client(alpha, user).get("/ops/crm/leads/new/").status_code == status


def test_the_pipeline_page_runs_as_many_queries_for_forty_leads_as_for_five(alpha, people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    web = tenant_web_client(alpha, people.olga)
    for n in range(5):
        lead_of(people.sam if n % 2 else people.sue, phone=f"+4915123456{n:03d}")
    with CaptureQueriesContext(connection) as few:
        assert web.get("/ops/crm/leads/").status_code == 200
    for n in range(35):
        lead_of(people.sam if n % 2 else None, lead_stage="contacted")
    with CaptureQueriesContext(connection) as many:
        assert web.get("/ops/crm/leads/").status_code == 200

    assert len(many) == len(few)


# Review fixes: what a duplicate tells an agent, tags, the redirect after a stage change, the agent filter


def test_a_sales_agent_is_not_told_who_holds_a_duplicate_they_cannot_see(people):
    factories.ClientFactory(first_name="Ana", last_name="López", email="ana@example.test", sales_agent=people.sue)

    with pytest.raises(ApplicationError) as raised:
        lead_create(actor=people.sam, data={"first_name": "Ana", "email": "ANA@example.test"})

    said = " ".join([raised.value.message, *raised.value.fields["email"]])
    assert raised.value.code == "duplicate"
    assert raised.value.fields == {"email": ["This person is already on file (held by another agent)."]}
    assert "López" not in said and "#" not in said
    assert Client.objects.count() == 1


def test_a_sales_agent_is_told_which_of_their_own_clients_is_the_duplicate(people):
    ana = factories.ClientFactory(first_name="Ana", last_name="López", email="ana@example.test", sales_agent=people.sam)

    with pytest.raises(ApplicationError) as raised:
        lead_create(actor=people.sam, data={"first_name": "Ana", "email": "ana@example.test"})

    assert raised.value.fields == {"email": [f"The same email as client #{ana.pk} (Ana López)."]}


def test_the_leads_api_does_not_name_another_agents_client(alpha, people):
    import uuid

    from tests.tenants.web import api_client

    hidden = factories.ClientFactory(
        first_name="Hidden", last_name="Person", phone="+4915123456789", sales_agent=people.sue
    )

    response = api_client(alpha, people.sam).post(
        "/api/v1/leads/",
        {"first_name": "Hans", "phone": "+49 151 23456789"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "held by another agent" in body
    assert "Hidden" not in body and f"#{hidden.pk}" not in body


def test_lead_tags_are_lower_cased_trimmed_and_deduplicated_and_a_long_one_is_refused(people):
    lead = lead_create(
        actor=people.olga, data={"first_name": "Ana", "email": "a@example.test", "tags": " VIP, Gold ,vip"}
    )
    assert lead.tags == ["vip", "gold"]

    with pytest.raises(ApplicationError) as raised:
        lead_create(actor=people.olga, data={"first_name": "Ben", "email": "b@example.test", "tags": "x" * 41})
    assert "tags" in raised.value.fields


@pytest.mark.parametrize(
    ("next_url", "landing"),
    [
        ("https://evil.example/phish", "/ops/crm/leads/"),
        ("//evil.example/", "/ops/crm/leads/"),
        ("/ops/crm/leads/?stage=qualified", "/ops/crm/leads/?stage=qualified"),
        ("", "/ops/crm/leads/"),
    ],
)
def test_after_a_stage_change_only_a_next_on_this_site_is_followed(alpha, people, next_url, landing):
    lead = lead_of(people.sam, email="a1@example.test")

    response = tenant_web_client(alpha, people.sam).post(
        f"/ops/crm/leads/{lead.pk}/stage/", {"stage": "contacted", "next": next_url}
    )

    assert response.status_code == 302
    assert response["Location"] == landing


def test_the_agent_filter_offers_sellers_only_and_keeps_the_agent_filtered_by(alpha, people):
    from crm.models import Desk

    web = tenant_web_client(alpha, people.olga)
    agents = set(web.get("/ops/crm/leads/").context["agents"])
    assert {people.sam, people.sue} <= agents
    assert people.olga not in agents and people.cora not in agents  # back office, compliance: they do not sell

    Desk.objects.create(name="Retention").members.add(people.cora)  # put on a desk: she holds clients now
    assert people.cora in set(web.get("/ops/crm/leads/").context["agents"])

    kept = web.get(
        f"/ops/crm/leads/?agent={people.olga.pk}"
    )  # filtering by someone who holds leads but no longer sells
    assert people.olga in set(kept.context["agents"])
    assert f'<option value="{people.olga.pk}" selected>' in kept.content.decode()


def test_converting_a_lead_makes_it_a_registered_client_and_the_timeline_says_so(people):
    lead = lead_of(people.sam)

    returned = lead_stage_set(actor=people.sam, client=lead, stage="converted")

    lead.refresh_from_db()
    assert (lead.status, lead.lead_stage) == ("registered", "converted")
    assert (returned.status, returned.lead_stage) == ("registered", "converted")
    title = TimelineEvent.objects.get(client=lead, topic="crm.lead.stage_changed").title
    assert title == "Lead stage: New → Converted; status: Lead → Registered"
    audit = AuditRecord.objects.get(action="crm.lead.stage_changed", object_id=str(lead.pk))
    assert (audit.before["status"], audit.after["status"]) == ("lead", "registered")


def test_an_inline_stage_move_confirms_it_in_the_row(alpha, people):
    lead = lead_of(people.sam)
    web = tenant_web_client(alpha, people.sam)

    moved = web.post(f"/ops/crm/leads/{lead.pk}/stage/", {"stage": "contacted"}, HTTP_HX_REQUEST="true")
    assert '<p class="lead-row-flash" role="status">Moved to Contacted.</p>' in moved.content.decode()

    converted = web.post(f"/ops/crm/leads/{lead.pk}/stage/", {"stage": "converted"}, HTTP_HX_REQUEST="true")
    assert "Moved to Converted: now a registered client." in converted.content.decode()

    refused = web.post(f"/ops/crm/leads/{lead.pk}/stage/", {"stage": "new"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400 and "lead-row-flash" not in refused.content.decode()


def test_the_duplicate_on_the_new_lead_page_links_to_the_client_only_for_who_may_see_it(alpha, people):
    ciaran = factories.ClientFactory(first_name="Ciaran", last_name="Walsh", email="ciaran@example.test")
    data = {"first_name": "C", "email": "ciaran@example.test", "language": "en", "source": "manual"}

    page = tenant_web_client(alpha, people.olga).post("/ops/crm/leads/new/", data).content.decode()
    link = f'<a href="/ops/crm/clients/{ciaran.pk}/">client #{ciaran.pk} (Ciaran Walsh)</a>'
    assert f"The same email as {link}." in page

    hidden = tenant_web_client(alpha, people.sam).post("/ops/crm/leads/new/", data).content.decode()
    assert "This person is already on file (held by another agent)." in hidden
    assert f"/ops/crm/clients/{ciaran.pk}/" not in hidden and "Walsh" not in hidden
