"""Manual and bulk reassignment: who may move which clients to whom, and what it leaves behind."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from crm.assignment import agents_all, assignable_agents, clients_reassign
from crm.models import Client, Notification, TimelineEvent
from tests import factories
from tests.crm.support_sales import new_client, sales_floor

pytestmark = pytest.mark.django_db


@pytest.fixture
def floor(in_alpha):
    return sales_floor()


def agents_of(ids):
    return dict(Client.objects.filter(pk__in=ids).values_list("pk", "sales_agent__email"))


def test_back_office_moves_an_agents_clients_in_one_go(floor):
    clients = [new_client(sales_agent=floor.ann) for _ in range(3)]
    other = new_client(sales_agent=floor.cat)
    ids = [c.pk for c in clients]

    moved = clients_reassign(actor=floor.olga, client_ids=ids, sales_agent=floor.ben)

    assert moved == 3
    assert set(agents_of(ids).values()) == {"ben@alpha.test"}
    assert Client.objects.get(pk=other.pk).sales_agent == floor.cat
    lines = TimelineEvent.objects.filter(topic="crm.client.reassigned")
    assert sorted(lines.values_list("client_id", flat=True)) == ids
    assert lines.first().title == "Sales agent: Ben Jones (was Ann Smith) by Olga Office"
    assert lines.first().actor_label == "olga@alpha.test"
    record = AuditRecord.objects.get(action="crm.clients.reassigned")
    assert record.actor_email == "olga@alpha.test"
    assert record.after == {"client_ids": ids, "sales_agent": floor.ben.pk}
    assert record.before == {str(i): {"sales_agent": floor.ann.pk} for i in ids}
    note = Notification.objects.get(user=floor.ben)
    assert note.message == "Olga Office assigned you 3 clients."
    assert note.url == f"/ops/crm/clients/?agent={floor.ben.pk}"


def test_clients_already_with_the_agent_are_not_counted_again(floor):
    mine = new_client(sales_agent=floor.ben)
    theirs = new_client(sales_agent=floor.ann)

    moved = clients_reassign(actor=floor.alice, client_ids=[mine.pk, theirs.pk], sales_agent=floor.ben)

    assert moved == 1
    assert TimelineEvent.objects.filter(topic="crm.client.reassigned").get().client_id == theirs.pk
    assert Notification.objects.get(user=floor.ben).message == "Alice Owner assigned you 1 client."


def test_retention_agent_changes_alone_and_clear_removes(floor):
    client = new_client(sales_agent=floor.ann)

    clients_reassign(actor=floor.alice, client_ids=[client.pk], retention_agent=floor.cat)
    client.refresh_from_db()
    assert (client.sales_agent, client.retention_agent) == (floor.ann, floor.cat)

    assert clients_reassign(actor=floor.alice, client_ids=[client.pk], clear=True) == 1
    client.refresh_from_db()
    assert (client.sales_agent, client.retention_agent) == (None, None)
    assert TimelineEvent.objects.filter(client=client).order_by("id").last().title == (
        "Sales agent removed (was Ann Smith); Retention agent removed (was Cat Brown) by Alice Owner"
    )


def test_desk_manager_moves_desk_clients_between_desk_agents(floor):
    client = new_client(sales_agent=floor.ben)

    assert clients_reassign(actor=floor.mia, client_ids=[client.pk], sales_agent=floor.cat) == 1

    assert Client.objects.get(pk=client.pk).sales_agent == floor.cat


def test_desk_manager_cannot_hand_clients_to_an_agent_off_the_desk(floor):
    client = new_client(sales_agent=floor.ben)

    with pytest.raises(ApplicationError) as error:
        clients_reassign(actor=floor.mia, client_ids=[client.pk], sales_agent=floor.ann)

    assert "not on a desk you manage" in error.value.fields["sales_agent"][0]
    assert Client.objects.get(pk=client.pk).sales_agent == floor.ben
    assert not AuditRecord.objects.filter(action="crm.clients.reassigned").exists()


def test_desk_manager_cannot_touch_clients_outside_the_desk(floor):
    elsewhere = new_client(sales_agent=floor.ann)

    moved = clients_reassign(actor=floor.mia, client_ids=[elsewhere.pk], sales_agent=floor.cat)

    assert moved == 0
    assert Client.objects.get(pk=elsewhere.pk).sales_agent == floor.ann
    assert not TimelineEvent.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.parametrize("who", ["ann", "cora"])
def test_sales_agents_and_read_only_staff_are_refused(floor, who):
    client = new_client(sales_agent=floor.ann)

    with pytest.raises(PermissionDenied):
        clients_reassign(actor=getattr(floor, who), client_ids=[client.pk], sales_agent=floor.ben)

    assert Client.objects.get(pk=client.pk).sales_agent == floor.ann
    assert not AuditRecord.objects.filter(action="crm.clients.reassigned").exists()


def test_targets_must_be_active_agents_with_client_access(floor):
    client = new_client(sales_agent=floor.ann)
    floor.cat.is_active = False
    floor.cat.save()
    carl = factories.client_user("carl@alpha.test")

    for target in (floor.cat, carl):
        with pytest.raises(ApplicationError, match="cannot hold clients"):
            clients_reassign(actor=floor.alice, client_ids=[client.pk], sales_agent=target)

    assert Client.objects.get(pk=client.pk).sales_agent == floor.ann


def test_no_agent_and_no_clear_is_an_error(floor):
    with pytest.raises(ApplicationError, match="Choose the agent"):
        clients_reassign(actor=floor.alice, client_ids=[new_client().pk])


def test_assignable_agents_follow_the_actors_reach(floor):
    sellers = {floor.ann, floor.ben, floor.cat, floor.mia}  # not the owner, the back office nor compliance
    assert set(assignable_agents(floor.olga)) == sellers
    assert set(agents_all()) == sellers
    assert set(assignable_agents(floor.mia)) == {floor.mia, floor.ben, floor.cat}
    assert list(assignable_agents(floor.ann)) == []
    assert list(assignable_agents(floor.cora)) == []


def test_staff_on_a_desk_are_agents_whatever_their_role(floor):
    floor.desk.members.add(floor.cora)
    assert floor.cora in set(assignable_agents(floor.olga))
    client = new_client(sales_agent=floor.ann)
    assert clients_reassign(actor=floor.olga, client_ids=[client.pk], sales_agent=floor.cora) == 1


def test_staff_who_do_not_sell_are_refused_as_targets(floor):
    client = new_client(sales_agent=floor.ann)
    with pytest.raises(ApplicationError, match="cannot hold clients"):
        clients_reassign(actor=floor.olga, client_ids=[client.pk], sales_agent=floor.cora)
    assert Client.objects.get(pk=client.pk).sales_agent == floor.ann


# The page ------------------------------------------------------------------------------------------


def test_reassign_page_moves_a_leaving_agents_filtered_clients(floor, alpha):
    from tests.tenants.web import tenant_web_client

    floor.ann.is_active = False  # she left; her clients stay with her until moved
    floor.ann.save()
    leads = [new_client(sales_agent=floor.ann, status="lead", country="DE") for _ in range(2)]
    funded = new_client(sales_agent=floor.ann, status="funded", country="DE")
    web = tenant_web_client(alpha, floor.olga)

    preview = web.get("/ops/crm/sales/reassign/", {"from_agent": floor.ann.pk, "role": "sales_agent", "status": "lead"})
    assert preview.status_code == 200
    assert '<h2 id="reassign-count">2 clients of Ann Smith</h2>' in preview.content.decode()

    response = web.post(
        "/ops/crm/sales/reassign/",
        {"from_agent": floor.ann.pk, "role": "sales_agent", "status": "lead", "country": "", "to_agent": floor.cat.pk},
    )
    assert response.status_code == 302
    assert set(agents_of([c.pk for c in leads]).values()) == {"cat@alpha.test"}
    assert Client.objects.get(pk=funded.pk).sales_agent == floor.ann
    page = web.get(response.url).content.decode()
    assert "Moved 2 clients from Ann Smith to Cat Brown." in page


def test_reassign_page_labels_its_picker_and_never_offers_the_source_as_target(floor, alpha):
    from tests.tenants.web import tenant_web_client

    client = new_client(sales_agent=floor.ann)
    web = tenant_web_client(alpha, floor.olga)

    blank = web.get("/ops/crm/sales/reassign/").content.decode()
    assert '<option value="" selected>Choose an agent</option>' in blank and "---------" not in blank
    shown = web.get("/ops/crm/sales/reassign/", {"from_agent": floor.ann.pk, "role": "sales_agent"})
    targets = {str(value) for value, _ in shown.context["form"]["to_agent"].field.widget.choices}
    assert str(floor.ann.pk) not in targets and str(floor.ben.pk) in targets
    assert str(floor.cora.pk) not in targets and str(floor.olga.pk) not in targets  # they do not sell

    same = web.post(
        "/ops/crm/sales/reassign/", {"from_agent": floor.ann.pk, "role": "sales_agent", "to_agent": floor.ann.pk}
    )
    assert same.status_code == 200
    assert "These are Ann Smith&#x27;s clients already: choose someone else." in same.content.decode()
    assert not AuditRecord.objects.filter(action="crm.clients.reassigned").exists()
    assert Client.objects.get(pk=client.pk).sales_agent == floor.ann


def test_reassign_page_limits_a_desk_manager_to_the_desk(floor, alpha):
    from tests.tenants.web import tenant_web_client

    ann_client = new_client(sales_agent=floor.ann)
    web = tenant_web_client(alpha, floor.mia)

    page = web.get("/ops/crm/sales/reassign/").content.decode()
    assert "Ben Jones" in page and "Ann Smith" not in page
    refused = web.post(
        "/ops/crm/sales/reassign/", {"from_agent": floor.ann.pk, "role": "sales_agent", "to_agent": floor.cat.pk}
    )
    assert refused.status_code == 200
    assert "Select a valid choice" in refused.content.decode()
    assert Client.objects.get(pk=ann_client.pk).sales_agent == floor.ann


@pytest.mark.parametrize("who", ["ann", "cora"])
def test_reassign_page_is_closed_to_agents_without_a_desk_and_read_only_staff(floor, alpha, who):
    from tests.tenants.web import tenant_web_client

    client = new_client(sales_agent=floor.ann)
    web = tenant_web_client(alpha, getattr(floor, who))

    assert web.get("/ops/crm/sales/reassign/").status_code == 403
    post = {"from_agent": floor.ann.pk, "role": "sales_agent", "to_agent": floor.ben.pk}
    assert web.post("/ops/crm/sales/reassign/", post).status_code == 403
    assert Client.objects.get(pk=client.pk).sales_agent == floor.ann
