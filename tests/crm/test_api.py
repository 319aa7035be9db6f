"""/api/v1/ for the CRM by token: clients, timeline, notes, leads, tasks, segments.

Personas in alpha: Alice is the owner (sees and manages everything); Sam and Sue are sales agents,
each with their own clients; Cora is compliance (sees every client, changes none); Carl is a client.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from crm.models import Client, Note, Segment, Task, TimelineEvent
from crm.timeline import timeline_record
from tests import factories
from tests.tenants.web import api_client

pytestmark = pytest.mark.django_db

JSON = "application/json"


@dataclass
class People:
    alice: object
    sam: object
    sue: object
    cora: object
    carl: object
    sams_client: Client
    sues_client: Client
    sams_lead: Client


@pytest.fixture
def people(alpha, alice, carl) -> People:
    with tenant_context(alpha):
        sam = factories.staff_user("sam@alpha.test", roles=["sales"])
        sue = factories.staff_user("sue@alpha.test", roles=["sales"])
        cora = factories.staff_user("cora@alpha.test", roles=["compliance"])
        sams_client = factories.ClientFactory(
            first_name="Samuel", last_name="Client", email="samsclient@example.test", country="DE",
            source="campaign", tags=["vip"], status="funded", sales_agent=sam,
        )  # fmt: skip
        sues_client = factories.ClientFactory(
            first_name="Susan", last_name="Client", email="suesclient@example.test", country="FR",
            status="registered", sales_agent=sue,
        )  # fmt: skip
        sams_lead = factories.ClientFactory(
            first_name="Larry", last_name="Lead", email="larry@example.test", country="DE", status="lead",
            lead_stage="new", sales_agent=sam,
        )  # fmt: skip
    return People(alice, sam, sue, cora, carl, sams_client, sues_client, sams_lead)


def call(alpha, user):
    return api_client(alpha, user)


def post(web, url, data, *, key: str | None = "fresh"):
    headers = {}
    if key:
        headers["HTTP_IDEMPOTENCY_KEY"] = uuid.uuid4().hex if key == "fresh" else key
    return web.post(url, data, content_type=JSON, **headers)


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


# Who may call ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/clients/", "/api/v1/leads/", "/api/v1/tasks/", "/api/v1/segments/"])
def test_a_clients_token_is_refused_on_staff_endpoints(alpha, people, url):
    response = call(alpha, people.carl).get(url)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_clients_token_cannot_create_anything(alpha, people):
    web = call(alpha, people.carl)
    assert post(web, "/api/v1/leads/", {"first_name": "X", "email": "x@example.test"}).status_code == 403
    with tenant_context(alpha):
        assert not Client.objects.filter(email="x@example.test").exists()


# Clients --------------------------------------------------------------------------------------------


def test_a_sales_agent_lists_only_their_own_clients(alpha, people):
    sams = ids(call(alpha, people.sam).get("/api/v1/clients/"))
    alices = ids(call(alpha, people.alice).get("/api/v1/clients/"))
    assert sorted(sams) == sorted([people.sams_client.pk, people.sams_lead.pk])
    assert people.sues_client.pk in alices and people.sams_client.pk in alices


def test_another_agents_client_answers_404(alpha, people):
    web = call(alpha, people.sam)
    assert web.get(f"/api/v1/clients/{people.sams_client.pk}/").status_code == 200
    for url in [
        f"/api/v1/clients/{people.sues_client.pk}/",
        f"/api/v1/clients/{people.sues_client.pk}/timeline/",
        f"/api/v1/clients/{people.sues_client.pk}/notes/",
    ]:
        response = web.get(url)
        assert response.status_code == 404, url
        assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}
    assert web.patch(f"/api/v1/clients/{people.sues_client.pk}/", {"city": "X"}, content_type=JSON).status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "funded"}, ["sams_client"]),
        ({"country": "fr"}, ["sues_client"]),
        ({"source": "campaign"}, ["sams_client"]),
        ({"tag": "vip"}, ["sams_client"]),
        ({"lead_stage": "new", "status": "lead"}, ["sams_lead"]),
        ({"q": "susan"}, ["sues_client"]),
        ({"q": "larry@example"}, ["sams_lead"]),
    ],
)
def test_the_client_list_filters(alpha, people, query, expected):
    body = call(alpha, people.alice).get("/api/v1/clients/", query).json()
    assert [row["id"] for row in body["results"]] == [getattr(people, name).pk for name in expected]


def test_the_agent_filter(alpha, people):
    web = call(alpha, people.alice)
    assert ids(web.get("/api/v1/clients/", {"agent": people.sue.pk})) == [people.sues_client.pk]
    with tenant_context(alpha):
        orphan = factories.ClientFactory(email="orphan@example.test")
    assert orphan.pk in ids(web.get("/api/v1/clients/", {"agent": "none"}))
    assert people.sues_client.pk not in ids(web.get("/api/v1/clients/", {"agent": "none"}))


def test_a_bad_filter_is_a_400_in_the_error_shape(alpha, people):
    response = call(alpha, people.alice).get("/api/v1/clients/", {"status": "wizard", "agent": "bob"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"status", "agent"}


def test_staff_create_a_client_as_a_lead_with_its_profile_once_per_key(alpha, people):
    web = call(alpha, people.alice)
    data = {
        "first_name": "Nina",
        "last_name": "New",
        "email": "nina@example.test",
        "phone": "+49 151 23456789",
        "country": "DE",
        "date_of_birth": "1985-02-03",
        "city": "Berlin",
        "timezone": "Europe/Berlin",
    }
    first = post(web, "/api/v1/clients/", data, key="create-nina")
    assert first.status_code == 201, first.json()
    body = first.json()
    assert (body["status"], body["lead_stage"], body["phone"], body["date_of_birth"], body["city"]) == (
        "lead",
        "new",
        "+4915123456789",
        "1985-02-03",
        "Berlin",
    )
    again = post(web, "/api/v1/clients/", data, key="create-nina")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == body
    with tenant_context(alpha):
        assert Client.objects.filter(email="nina@example.test").count() == 1
        assert AuditRecord.objects.filter(action="crm.lead.created", object_id=str(body["id"])).count() == 1


def test_a_create_needs_an_idempotency_key(alpha, people):
    response = post(
        call(alpha, people.alice), "/api/v1/clients/", {"first_name": "N", "email": "n@example.test"}, key=None
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"


def test_a_duplicate_is_refused_with_the_field_and_nothing_is_saved(alpha, people):
    response = post(
        call(alpha, people.alice),
        "/api/v1/clients/",
        {"first_name": "Dup", "email": "SamsClient@example.test", "city": "Paris"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "duplicate" and "email" in error["fields"]
    with tenant_context(alpha):
        assert Client.objects.filter(email__iexact="samsclient@example.test").count() == 1


def test_a_bad_profile_field_rolls_back_the_whole_create(alpha, people):
    response = post(
        call(alpha, people.alice),
        "/api/v1/clients/",
        {"first_name": "Young", "email": "young@example.test", "date_of_birth": str(timezone.localdate())},
    )
    assert response.status_code == 400
    assert "date_of_birth" in response.json()["error"]["fields"]
    with tenant_context(alpha):
        assert not Client.objects.filter(email="young@example.test").exists()


def test_a_sales_agents_new_client_is_theirs(alpha, people):
    response = post(call(alpha, people.sam), "/api/v1/clients/", {"first_name": "Mine", "email": "mine@example.test"})
    assert response.status_code == 201
    assert response.json()["sales_agent"] == people.sam.pk


def test_patch_changes_profile_fields_audited(alpha, people):
    web = call(alpha, people.sam)
    response = web.patch(
        f"/api/v1/clients/{people.sams_client.pk}/", {"city": "Hamburg", "language": "de"}, content_type=JSON
    )
    assert response.status_code == 200
    assert (response.json()["city"], response.json()["language"]) == ("Hamburg", "de")
    with tenant_context(alpha):
        record = AuditRecord.objects.get(action="crm.client.updated", object_id=str(people.sams_client.pk))
        assert record.after == {"city": "Hamburg", "language": "de"} and record.actor_email == "sam@alpha.test"


def test_patch_with_a_bad_phone_answers_the_field(alpha, people):
    response = call(alpha, people.alice).patch(
        f"/api/v1/clients/{people.sams_client.pk}/", {"phone": "12", "city": "Bonn"}, content_type=JSON
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["phone"]
    with tenant_context(alpha):
        assert Client.objects.get(pk=people.sams_client.pk).city == ""


def test_compliance_reads_every_client_but_cannot_change_one(alpha, people):
    web = call(alpha, people.cora)
    assert web.get(f"/api/v1/clients/{people.sues_client.pk}/").status_code == 200
    response = web.patch(f"/api/v1/clients/{people.sues_client.pk}/", {"city": "Lyon"}, content_type=JSON)
    assert response.status_code == 403


# Timeline ---------------------------------------------------------------------------------------------


def test_the_timeline_pages_by_cursor_newest_first(alpha, people):
    now = timezone.now()
    with tenant_context(alpha):
        for minutes, title in [(30, "oldest"), (20, "middle"), (10, "newest")]:
            timeline_record(
                client_id=people.sams_client.pk,
                kind=TimelineEvent.Kind.NOTE,
                topic="test",
                title=title,
                occurred_at=now - timedelta(minutes=minutes),
            )
        timeline_record(client_id=people.sues_client.pk, kind="note", topic="test", title="not sam's")
    web = call(alpha, people.sam)
    first = web.get(f"/api/v1/clients/{people.sams_client.pk}/timeline/", {"size": 2}).json()
    assert [event["title"] for event in first["results"]] == ["newest", "middle"]
    assert first["next_cursor"] and first["next"].startswith("http://alpha.localhost/")
    second = web.get(first["next"]).json()
    assert [event["title"] for event in second["results"]] == ["oldest"]
    assert second["next"] is None and second["next_cursor"] is None

    only_profile = web.get(f"/api/v1/clients/{people.sams_client.pk}/timeline/", {"kind": "profile"}).json()
    assert only_profile["results"] == []


def test_a_forged_cursor_is_a_400(alpha, people):
    response = call(alpha, people.sam).get(
        f"/api/v1/clients/{people.sams_client.pk}/timeline/", {"cursor": "not-a-cursor"}
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["cursor"]


# Notes ------------------------------------------------------------------------------------------------


def test_an_agent_adds_and_lists_notes_of_their_client(alpha, people):
    web = call(alpha, people.sam)
    url = f"/api/v1/clients/{people.sams_client.pk}/notes/"
    created = post(web, url, {"body": "Wants a call back on Monday."}, key="note-1")
    assert created.status_code == 201
    replay = post(web, url, {"body": "Wants a call back on Monday."}, key="note-1")
    assert replay.json()["id"] == created.json()["id"]
    call_note = post(web, url, {"kind": "call", "call_outcome": "no_answer", "call_duration_seconds": 0})
    assert call_note.status_code == 201
    listed = web.get(url).json()
    assert [row["kind"] for row in listed["results"]] == ["call", "note"]
    assert listed["results"][1]["author_email"] == "sam@alpha.test"
    with tenant_context(alpha):
        assert Note.objects.filter(client=people.sams_client).count() == 2


def test_an_empty_note_and_a_note_on_someone_elses_client_are_refused(alpha, people):
    web = call(alpha, people.sam)
    empty = post(web, f"/api/v1/clients/{people.sams_client.pk}/notes/", {"body": "  "})
    assert empty.status_code == 400 and list(empty.json()["error"]["fields"]) == ["body"]
    assert post(web, f"/api/v1/clients/{people.sues_client.pk}/notes/", {"body": "hi"}).status_code == 404
    compliance = post(call(alpha, people.cora), f"/api/v1/clients/{people.sues_client.pk}/notes/", {"body": "hi"})
    assert compliance.status_code == 403
    with tenant_context(alpha):
        assert not Note.objects.exists()


# Leads ------------------------------------------------------------------------------------------------


def test_leads_list_only_leads_the_caller_may_see(alpha, people):
    with tenant_context(alpha):
        sues_lead = factories.ClientFactory(email="suelead@example.test", status="lead", sales_agent=people.sue)
    assert ids(call(alpha, people.sam).get("/api/v1/leads/")) == [people.sams_lead.pk]
    assert sorted(ids(call(alpha, people.alice).get("/api/v1/leads/"))) == sorted([people.sams_lead.pk, sues_lead.pk])
    assert call(alpha, people.sam).get(f"/api/v1/leads/{sues_lead.pk}/").status_code == 404


def test_a_lead_is_created_and_moved_along_the_pipeline(alpha, people):
    web = call(alpha, people.sam)
    created = post(web, "/api/v1/leads/", {"first_name": "Pia", "email": "pia@example.test", "country": "Germany"})
    assert created.status_code == 201
    lead = created.json()
    assert (lead["status"], lead["country"], lead["sales_agent"]) == ("lead", "DE", people.sam.pk)
    moved = web.post(f"/api/v1/leads/{lead['id']}/stage/", {"stage": "contacted"}, content_type=JSON)
    assert moved.status_code == 200 and moved.json()["lead_stage"] == "contacted"
    lost = web.post(f"/api/v1/leads/{lead['id']}/stage/", {"stage": "lost"}, content_type=JSON)
    assert lost.status_code == 400 and list(lost.json()["error"]["fields"]) == ["reason"]
    unknown = web.post(f"/api/v1/leads/{lead['id']}/stage/", {"stage": "won"}, content_type=JSON)
    assert unknown.status_code == 400 and list(unknown.json()["error"]["fields"]) == ["stage"]
    with tenant_context(alpha):
        assert Client.objects.get(pk=lead["id"]).lead_stage == "contacted"
        assert AuditRecord.objects.filter(action="crm.lead.stage_changed").count() == 1


def test_an_invalid_lead_answers_with_fields(alpha, people):
    response = post(call(alpha, people.sam), "/api/v1/leads/", {"first_name": "Nobody"})
    assert response.status_code == 400
    assert "email" in response.json()["error"]["fields"]


def test_another_agents_lead_cannot_be_moved(alpha, people):
    with tenant_context(alpha):
        sues_lead = factories.ClientFactory(email="suelead@example.test", status="lead", sales_agent=people.sue)
    response = call(alpha, people.sam).post(
        f"/api/v1/leads/{sues_lead.pk}/stage/", {"stage": "contacted"}, content_type=JSON
    )
    assert response.status_code == 404


# Tasks ------------------------------------------------------------------------------------------------


def test_tasks_mine_or_with_crm_manage_everyones(alpha, people):
    due = (timezone.now() + timedelta(days=1)).isoformat()
    sams_web, sues_web = call(alpha, people.sam), call(alpha, people.sue)
    created = post(sams_web, "/api/v1/tasks/", {"title": "Call back", "due_at": due, "client": people.sams_client.pk})
    assert created.status_code == 201, created.json()
    task = created.json()
    assert (task["assignee"], task["client_id"], task["status"]) == (people.sam.pk, people.sams_client.pk, "open")
    post(sues_web, "/api/v1/tasks/", {"title": "Sue's own", "due_at": due})

    assert [row["title"] for row in sams_web.get("/api/v1/tasks/").json()["results"]] == ["Call back"]
    assert [row["title"] for row in sues_web.get("/api/v1/tasks/").json()["results"]] == ["Sue's own"]
    alices = call(alpha, people.alice).get("/api/v1/tasks/", {"assignee": people.sue.pk}).json()
    assert [row["title"] for row in alices["results"]] == ["Sue's own"]

    assert sues_web.post(f"/api/v1/tasks/{task['id']}/complete/").status_code == 404
    done = sams_web.post(f"/api/v1/tasks/{task['id']}/complete/")
    assert done.status_code == 200 and done.json()["status"] == "done"
    again = sams_web.post(f"/api/v1/tasks/{task['id']}/complete/")
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid"


def test_a_task_about_someone_elses_client_or_for_nobody_is_refused(alpha, people):
    due = (timezone.now() + timedelta(days=1)).isoformat()
    web = call(alpha, people.sam)
    other = post(web, "/api/v1/tasks/", {"title": "Peek", "due_at": due, "client": people.sues_client.pk})
    assert other.status_code == 400 and list(other.json()["error"]["fields"]) == ["client"]
    nobody = post(web, "/api/v1/tasks/", {"title": "X", "due_at": due, "assignee": 999999})
    assert nobody.status_code == 400 and list(nobody.json()["error"]["fields"]) == ["assignee"]
    blind = post(web, "/api/v1/tasks/", {"title": "X", "due_at": due, "assignee": people.sue.pk,
                                         "client": people.sams_client.pk})  # fmt: skip
    assert blind.status_code == 400 and list(blind.json()["error"]["fields"]) == ["assignee"]
    with tenant_context(alpha):
        assert not Task.objects.exists()


@pytest.mark.parametrize("who", ["carl", "inactive", "nobody"])
def test_a_task_for_anyone_but_an_active_colleague_reveals_no_name(alpha, people, who):
    with tenant_context(alpha):
        inactive = factories.staff_user("gone@alpha.test", roles=["sales"])
        type(inactive).objects.filter(pk=inactive.pk).update(is_active=False, first_name="Gina", last_name="Gone")
    assignee = {"carl": people.carl.pk, "inactive": inactive.pk, "nobody": 999999}[who]
    due = (timezone.now() + timedelta(days=1)).isoformat()
    response = post(call(alpha, people.sam), "/api/v1/tasks/", {"title": "X", "due_at": due, "assignee": assignee})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"assignee": ["No such colleague."]}
    for name in (people.carl.get_full_name(), "Gina", "carl@", "gone@"):
        assert name not in response.content.decode()


def test_task_create_names_no_one_who_is_not_active_staff(alpha, people):
    from brokerage.errors import ApplicationError
    from crm.comms import task_create

    with tenant_context(alpha), pytest.raises(ApplicationError) as caught:
        task_create(actor=people.sam, title="X", due_at=timezone.now() + timedelta(days=1), assignee=people.carl)
    assert caught.value.fields == {"assignee": ["No such colleague."]}


def test_a_task_about_a_client_moved_away_is_no_longer_listed(alpha, people):
    due = (timezone.now() + timedelta(days=1)).isoformat()
    web = call(alpha, people.sam)
    post(web, "/api/v1/tasks/", {"title": "Call back", "due_at": due, "client": people.sams_client.pk})
    with tenant_context(alpha):
        Client.objects.filter(pk=people.sams_client.pk).update(sales_agent=people.sue)
    assert web.get("/api/v1/tasks/").json()["results"] == []


# Segments ----------------------------------------------------------------------------------------------


def test_segments_are_saved_updated_and_their_members_follow_visibility(alpha, people):
    web = call(alpha, people.sam)
    created = post(
        web,
        "/api/v1/segments/",
        {"name": "Germany", "criteria": [{"key": "country_in", "params": {"countries": ["DE", "FR"]}}]},
    )
    assert created.status_code == 201, created.json()
    segment = created.json()
    assert segment["criteria"] == [{"key": "country_in", "params": {"countries": ["DE", "FR"]}}]
    sams_members = ids(web.get(f"/api/v1/segments/{segment['id']}/clients/"))
    assert sorted(sams_members) == sorted([people.sams_client.pk, people.sams_lead.pk])
    alices_members = ids(call(alpha, people.alice).get(f"/api/v1/segments/{segment['id']}/clients/"))
    assert people.sues_client.pk in alices_members

    renamed = web.patch(f"/api/v1/segments/{segment['id']}/", {"name": "Germany and France"}, content_type=JSON)
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Germany and France" and renamed.json()["criteria"] == segment["criteria"]
    assert [row["name"] for row in call(alpha, people.sue).get("/api/v1/segments/").json()["results"]] == [
        "Germany and France"
    ]


def test_a_segment_with_bad_criteria_is_refused(alpha, people):
    response = post(call(alpha, people.sam), "/api/v1/segments/", {"name": "Bad", "criteria": [{"key": "magic"}]})
    assert response.status_code == 400
    assert "criteria" in response.json()["error"]["fields"]
    with tenant_context(alpha):
        assert not Segment.objects.exists()


@pytest.mark.parametrize(
    "criterion",
    [
        {"key": "status_in", "params": {"statuses": 5}},
        {"key": "status_in", "params": {"statuses": [{"a": 1}]}},
        {"key": "status_in", "params": {"statuses": {"funded": True}}},
        {"key": "sales_agent_is", "params": {"agent": ["1"]}},
        {"key": "sales_agent_is", "params": {"agent": {"id": 1}}},
        {"key": "created_within", "params": {"days": [30]}},
        {"key": "created_within", "params": {"days": {"n": 30}}},
        {"key": "tag_has", "params": {"tag": ["vip"]}},
    ],
)
def test_criteria_of_the_wrong_shape_are_a_400_not_a_500(alpha, people, criterion):
    response = post(call(alpha, people.alice), "/api/v1/segments/", {"name": "Odd", "criteria": [criterion]})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and "criteria_0" in error["fields"]
    with tenant_context(alpha):
        assert not Segment.objects.exists()


def test_a_choice_takes_a_number_for_an_id(alpha, people):
    criterion = {"key": "sales_agent_is", "params": {"agent": people.sam.pk}}
    response = post(call(alpha, people.alice), "/api/v1/segments/", {"name": "Sam's", "criteria": [criterion]})
    assert response.status_code == 201, response.content
    assert response.json()["criteria"][0]["params"] == {"agent": str(people.sam.pk)}


@pytest.mark.parametrize(
    "criterion",
    [
        {"key": "balance_above", "params": {"amount": "1000", "currency": "USD"}},
        {"key": "volume_above", "params": {"lots": "10", "days": 30}},
        {"key": "has_live_account", "params": {}},
    ],
)
def test_a_sales_agent_may_not_segment_on_money_or_trading(alpha, people, criterion):
    refused = post(call(alpha, people.sam), "/api/v1/segments/", {"name": "Rich", "criteria": [criterion]})
    assert refused.status_code == 400
    assert "uses criteria you may not use" in refused.json()["error"]["message"]
    with tenant_context(alpha):
        segment = Segment.objects.create(name="Rich", criteria=[criterion], created_by=people.alice)
    members = call(alpha, people.sam).get(f"/api/v1/segments/{segment.pk}/clients/")
    assert members.status_code == 400
    assert "uses criteria you may not use" in members.json()["error"]["message"]
    assert "results" not in members.json()
    assert call(alpha, people.alice).get(f"/api/v1/segments/{segment.pk}/clients/").status_code == 200


def test_only_its_author_or_a_crm_manager_changes_a_segment(alpha, people):
    with tenant_context(alpha):
        segment = Segment.objects.create(
            name="Alice's", criteria=[{"key": "tag_has", "params": {"tag": "vip"}}], created_by=people.alice
        )
    body = {"name": "Mine now", "criteria": segment.criteria}
    assert call(alpha, people.sam).put(f"/api/v1/segments/{segment.pk}/", body, content_type=JSON).status_code == 403
    assert call(alpha, people.cora).get("/api/v1/segments/").status_code == 200
    assert post(call(alpha, people.cora), "/api/v1/segments/", body).status_code == 403
    assert call(alpha, people.alice).put(f"/api/v1/segments/{segment.pk}/", body, content_type=JSON).status_code == 200


# Pagination ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/clients/", "/api/v1/leads/", "segment"])
def test_lists_page_by_cursor_newest_first_without_counting(alpha, people, url, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from crm import api

    with tenant_context(alpha):
        now = timezone.now()
        for number in range(4):
            lead = factories.ClientFactory(first_name=f"Page{number}", status="lead", sales_agent=people.sam)
            Client.objects.filter(pk=lead.pk).update(created_at=now + timedelta(minutes=10 - number))
        newest = list(
            Client.objects.filter(first_name__startswith="Page")
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)
        )
        if url == "segment":
            segment = Segment.objects.create(
                name="Pages", criteria=[{"key": "status_in", "params": {"statuses": ["lead"]}}], created_by=people.alice
            )
            url = f"/api/v1/segments/{segment.pk}/clients/"
    web = call(alpha, people.alice)
    api.NewestFirst.page_size = 2
    try:
        with CaptureQueriesContext(connection) as queries:
            first = web.get(url, {"q": "page"} if "segment" not in url else {})
        second = web.get(first.json()["next"])
    finally:
        api.NewestFirst.page_size = 50
    assert first.status_code == 200, first.content
    body = first.json()
    assert set(body) == {"next", "previous", "results"}
    assert body["previous"] is None and "cursor=" in body["next"]
    assert [row["id"] for row in body["results"]] == newest[:2]
    assert [row["id"] for row in second.json()["results"]][:2] == newest[2:4]
    assert not [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
