"""Desks and assignment rules: crm_manage organises the sales floor, audited, with clear errors."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from crm import desks
from crm.models import AssignmentRule, AssignmentRuleMember, Desk
from crm.visibility import clients_visible_to
from tests.crm.support_sales import new_client, rule_with, sales_floor

pytestmark = pytest.mark.django_db


@pytest.fixture
def floor(in_alpha):
    return sales_floor()


def test_a_desk_is_created_renamed_staffed_and_deleted(floor):
    desk = desks.desk_create(actor=floor.olga, name="Madrid", manager=floor.ann, members=[floor.ben])
    assert AuditRecord.objects.get(action="crm.desk.created").after == {
        "name": "Madrid",
        "manager": floor.ann.pk,
        "members": [floor.ben.pk],
    }
    held_by_ben = new_client(sales_agent=floor.ben)
    assert clients_visible_to(floor.ann).filter(pk=held_by_ben.pk).exists()

    desks.desk_update(actor=floor.olga, desk=desk, name="Madrid & Lisbon", manager=floor.ann)
    desks.desk_member_add(actor=floor.olga, desk=desk, user=floor.cat)
    desks.desk_member_remove(actor=floor.olga, desk=desk, user=floor.ben)
    desk.refresh_from_db()
    assert desk.name == "Madrid & Lisbon"
    assert set(desk.members.all()) == {floor.cat}
    assert not clients_visible_to(floor.ann).filter(pk=held_by_ben.pk).exists()
    # A person can sit on several desks.
    assert set(floor.cat.desks.values_list("name", flat=True)) == {"London", "Madrid & Lisbon"}

    desks.desk_delete(actor=floor.olga, desk=desk)
    assert not Desk.objects.filter(name="Madrid & Lisbon").exists()
    assert list(
        AuditRecord.objects.filter(action__startswith="crm.desk.").order_by("id").values_list("action", flat=True)
    ) == [
        "crm.desk.created",
        "crm.desk.updated",
        "crm.desk.member_added",
        "crm.desk.member_removed",
        "crm.desk.deleted",
    ]


def test_desk_names_are_unique_and_members_must_be_agents(floor):
    from tests import factories

    with pytest.raises(ApplicationError) as error:
        desks.desk_create(actor=floor.olga, name="london")
    assert "name" in error.value.fields
    carl = factories.client_user("carl@alpha.test")
    with pytest.raises(ApplicationError) as error:
        desks.desk_create(actor=floor.olga, name="Paris", members=[carl])
    assert "members" in error.value.fields
    assert not Desk.objects.filter(name="Paris").exists()


@pytest.mark.parametrize("who", ["ann", "mia", "cora"])
def test_only_crm_manage_organises_desks_and_rules(floor, who):
    actor = getattr(floor, who)
    with pytest.raises(PermissionDenied):
        desks.desk_create(actor=actor, name="Rogue")
    with pytest.raises(PermissionDenied):
        desks.desk_member_add(actor=actor, desk=floor.desk, user=floor.ann)
    with pytest.raises(PermissionDenied):
        desks.rule_create(actor=actor, data={"name": "Rogue", "agents": [floor.ann]})
    assert not Desk.objects.filter(name="Rogue").exists()
    assert not AssignmentRule.objects.exists()
    assert set(floor.desk.members.all()) == {floor.ben, floor.cat}


def test_rules_are_validated_and_normalised(floor):
    rule = desks.rule_create(
        actor=floor.olga,
        data={
            "name": "DACH",
            "countries": ["de", "AT", "ch", "DE"],
            "languages": ["DE"],
            "sources": ["campaign"],
            "priority": "5",
            "agents": [floor.ann, floor.ben],
        },
    )
    assert (rule.countries, rule.languages, rule.sources, rule.priority) == (
        ["AT", "CH", "DE"],
        ["de"],
        ["campaign"],
        5,
    )
    assert set(rule.members.values_list("user__email", flat=True)) == {"ann@alpha.test", "ben@alpha.test"}

    for bad, field in [
        ({"countries": ["XX"]}, "countries"),
        ({"languages": ["klingon"]}, "languages"),
        ({"sources": ["billboard"]}, "sources"),
        ({"priority": "-1"}, "priority"),
        ({"team": "support"}, "team"),
        ({"name": "dach"}, "name"),
    ]:
        with pytest.raises(ApplicationError) as error:
            desks.rule_create(actor=floor.olga, data={"name": "Other", **bad})
        assert field in error.value.fields
    assert AssignmentRule.objects.count() == 1


def test_editing_a_rule_keeps_the_turns_of_agents_who_stay(floor):
    from django.utils import timezone

    rule = rule_with("Everyone", [floor.ann, floor.ben])
    turn = timezone.now()
    AssignmentRuleMember.objects.filter(user=floor.ann).update(last_assigned_at=turn)

    desks.rule_update(
        actor=floor.olga, rule=rule, data={"name": "Everyone", "priority": 7, "agents": [floor.ann, floor.cat]}
    )

    members = dict(rule.members.values_list("user__email", "last_assigned_at"))
    assert members == {"ann@alpha.test": turn, "cat@alpha.test": None}
    record = AuditRecord.objects.get(action="crm.assignment_rule.updated")
    assert record.before["agents"] == sorted([floor.ann.pk, floor.ben.pk])
    assert record.after["priority"] == 7


def test_rules_switch_off_and_on_and_go(floor):
    rule = rule_with("Everyone", [floor.ann])

    desks.rule_set_active(actor=floor.olga, rule=rule, is_active=False)
    assert AssignmentRule.objects.get(pk=rule.pk).is_active is False
    desks.rule_set_active(actor=floor.olga, rule=rule, is_active=False)  # no change, no record
    desks.rule_set_active(actor=floor.olga, rule=rule, is_active=True)
    desks.rule_delete(actor=floor.olga, rule=rule)

    assert not AssignmentRule.objects.exists()
    assert list(AuditRecord.objects.order_by("id").values_list("action", flat=True)) == [
        "crm.assignment_rule.deactivated",
        "crm.assignment_rule.activated",
        "crm.assignment_rule.deleted",
    ]


def test_a_desk_manager_may_be_any_staff_with_client_access_its_agents_must_sell(floor):
    desk = desks.desk_create(actor=floor.olga, name="Compliance-led", manager=floor.cora, members=[floor.ann])
    assert desk.manager == floor.cora
    with pytest.raises(ApplicationError) as error:
        desks.desk_create(actor=floor.olga, name="Office", members=[floor.olga])  # back office does not sell
    assert "members" in error.value.fields
    with pytest.raises(ApplicationError):
        desks.desk_member_add(actor=floor.olga, desk=desk, user=floor.alice)


def test_the_desk_form_offers_sellers_as_agents_and_any_client_staff_as_manager(floor, alpha):
    from tests.tenants.web import tenant_web_client

    form = tenant_web_client(alpha, floor.olga).get("/ops/crm/sales/desks/").context["form"]
    members = set(form.fields["members"].queryset)
    assert members == {floor.ann, floor.ben, floor.cat, floor.mia}
    assert {floor.olga, floor.cora, floor.alice} <= set(form.fields["manager"].queryset)


# The pages -----------------------------------------------------------------------------------------


def test_desk_and_rule_pages_create_edit_and_test(floor, alpha):
    from tests.tenants.web import tenant_web_client

    web = tenant_web_client(alpha, floor.olga)
    response = web.post("/ops/crm/sales/desks/", {"name": "Madrid", "manager": floor.ann.pk, "members": [floor.ben.pk]})
    assert response.status_code == 302
    desk = Desk.objects.get(name="Madrid")
    assert (desk.manager, list(desk.members.all())) == (floor.ann, [floor.ben])
    response = web.post(
        f"/ops/crm/sales/desks/{desk.pk}/", {"name": "Madrid", "manager": floor.ann.pk, "members": [floor.cat.pk]}
    )
    assert response.status_code == 302
    assert list(desk.members.all()) == [floor.cat]
    assert "Madrid" in web.get("/ops/crm/sales/desks/").content.decode()
    duplicate = web.post("/ops/crm/sales/desks/", {"name": "madrid"})
    assert "This name is already taken." in duplicate.content.decode()

    response = web.post(
        "/ops/crm/sales/rules/new/",
        {
            "name": "Spain",
            "team": "sales",
            "priority": "10",
            "countries": ["ES"],
            "languages": ["es"],
            "agents": [floor.ann.pk, floor.cat.pk],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    rule = AssignmentRule.objects.get(name="Spain")
    assert (rule.countries, rule.languages, rule.sources) == (["ES"], ["es"], [])

    answer = web.get("/ops/crm/sales/rules/", {"test": "1", "country": "ES", "language": "es", "source": "organic"})
    assert "would now go to <strong>Ann Smith</strong> by rule “Spain”" in answer.content.decode()
    answer = web.get("/ops/crm/sales/rules/", {"test": "1", "country": "FR", "language": "fr", "source": "organic"})
    assert "the client would stay unassigned" in answer.content.decode()

    assert web.post(f"/ops/crm/sales/rules/{rule.pk}/toggle/").status_code == 302
    assert AssignmentRule.objects.get(pk=rule.pk).is_active is False
    assert web.post(f"/ops/crm/sales/rules/{rule.pk}/delete/").status_code == 302
    assert web.post(f"/ops/crm/sales/desks/{desk.pk}/delete/").status_code == 302
    assert not AssignmentRule.objects.exists() and not Desk.objects.filter(name="Madrid").exists()


@pytest.mark.parametrize("who", ["ann", "mia", "cora"])
def test_desk_and_rule_pages_are_closed_without_crm_manage(floor, alpha, who):
    from tests.tenants.web import tenant_web_client

    web = tenant_web_client(alpha, getattr(floor, who))
    for url in ["/ops/crm/sales/desks/", "/ops/crm/sales/rules/", "/ops/crm/sales/rules/new/"]:
        assert web.get(url).status_code == 403
    assert web.post("/ops/crm/sales/desks/", {"name": "Rogue"}).status_code == 403
    assert web.post(f"/ops/crm/sales/desks/{floor.desk.pk}/delete/").status_code == 403
    assert Desk.objects.filter(pk=floor.desk.pk).exists() and not Desk.objects.filter(name="Rogue").exists()
