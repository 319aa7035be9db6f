"""Round-robin assignment by rules: fairness, matching, priorities, inactive agents."""

from __future__ import annotations

from collections import Counter

import pytest

from brokerage.models import AuditRecord
from crm.assignment import agents_all, client_auto_assign, rule_choice
from crm.models import AssignmentRuleMember, Client, Notification, TimelineEvent
from tests import factories
from tests.crm.support_sales import new_client, rule_with, sales_floor

pytestmark = pytest.mark.django_db


@pytest.fixture
def floor(in_alpha):
    return sales_floor()


def test_thirty_clients_go_round_robin_ten_each_in_turn(floor):
    rule_with("Everyone", [floor.ann, floor.ben, floor.cat])
    given = []
    for _ in range(30):
        client = new_client()
        client_auto_assign(client)
        given.append(Client.objects.get(pk=client.pk).sales_agent)

    assert Counter(agent.email for agent in given) == {"ann@alpha.test": 10, "ben@alpha.test": 10, "cat@alpha.test": 10}
    # Each agent's next turn comes only after the two others had theirs.
    for index in range(3, 30):
        assert given[index] == given[index - 3]
    assert len(set(given[:3])) == 3


def test_the_agent_assigned_longest_ago_is_next(floor):
    from datetime import timedelta

    from django.utils import timezone

    rule = rule_with("Everyone", [floor.ann, floor.ben, floor.cat])
    now = timezone.now()
    AssignmentRuleMember.objects.filter(rule=rule, user=floor.ann).update(last_assigned_at=now - timedelta(hours=1))
    AssignmentRuleMember.objects.filter(rule=rule, user=floor.ben).update(last_assigned_at=now - timedelta(hours=2))
    AssignmentRuleMember.objects.filter(rule=rule, user=floor.cat).update(last_assigned_at=now - timedelta(hours=3))

    client = new_client()
    client_auto_assign(client)

    assert Client.objects.get(pk=client.pk).sales_agent == floor.cat


def test_assignment_writes_timeline_audit_and_notifies_the_agent(floor):
    rule_with("UK desk", [floor.ann], countries=["GB"])
    client = new_client(first_name="Dan", last_name="Trader")

    client_auto_assign(client)

    assert client.sales_agent == floor.ann
    line = TimelineEvent.objects.get(client=client)
    assert line.title == "Assigned to Ann Smith by rule 'UK desk'"
    assert line.topic == "crm.client.assigned"
    record = AuditRecord.objects.get(action="crm.client.auto_assigned")
    assert record.object_id == str(client.pk)
    assert record.after == {"sales_agent": floor.ann.pk, "rule": "UK desk"}
    note = Notification.objects.get(user=floor.ann)
    assert "Dan Trader" in note.message
    assert note.url == f"/ops/crm/clients/{client.pk}/"


def test_a_client_with_an_agent_keeps_them(floor):
    rule_with("Everyone", [floor.ann])
    client = new_client(sales_agent=floor.ben)

    client_auto_assign(client)

    assert Client.objects.get(pk=client.pk).sales_agent == floor.ben
    assert not TimelineEvent.objects.filter(client=client).exists()
    assert AssignmentRuleMember.objects.get(user=floor.ann).last_assigned_at is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"country": "DE", "language": "de", "source": "campaign"}, "German speakers"),
        ({"country": "AT", "language": "de", "source": "organic"}, "German speakers"),
        ({"country": "GB", "language": "en", "source": "campaign"}, "UK campaigns"),
        ({"country": "GB", "language": "en", "source": "ib"}, "UK"),
        ({"country": "FR", "language": "fr", "source": "ib"}, "Catch-all"),
        ({"country": "", "language": "en", "source": "organic"}, "Catch-all"),
    ],
)
def test_the_first_matching_rule_by_priority_wins(floor, fields, expected):
    owners = {}
    owners["Catch-all"] = rule_with("Catch-all", [floor.cat], priority=900)
    owners["UK"] = rule_with("UK", [floor.ben], priority=50, countries=["GB"])
    owners["UK campaigns"] = rule_with("UK campaigns", [floor.mia], priority=10, countries=["GB"], sources=["campaign"])
    owners["German speakers"] = rule_with("German speakers", [floor.ann], priority=20, languages=["de"])
    rule_with("Retention UK", [floor.olga], priority=0, countries=["GB"], team="retention")
    client = new_client(**fields)

    client_auto_assign(client)

    expected_agent = owners[expected].members.get().user
    assert client.sales_agent == expected_agent
    assert TimelineEvent.objects.get(client=client).title.endswith(f"by rule '{expected}'")


def test_equal_priorities_go_by_creation_order(floor):
    rule_with("First", [floor.ann], priority=10)
    rule_with("Second", [floor.ben], priority=10)
    client = new_client()

    client_auto_assign(client)

    assert client.sales_agent == floor.ann


def test_inactive_rules_and_unmatched_clients_stay_unassigned(floor):
    rule = rule_with("UK", [floor.ann], countries=["GB"])
    rule.is_active = False
    rule.save()
    client = new_client(country="GB")

    client_auto_assign(client)

    assert Client.objects.get(pk=client.pk).sales_agent is None
    assert not TimelineEvent.objects.exists()


def test_inactive_agents_and_agents_without_access_are_skipped(floor):
    floor.ben.is_active = False
    floor.ben.save()
    outsider = factories.staff_user("fin@alpha.test", roles=["finance"], mfa=False)  # sees clients, sells nothing
    client_person = factories.client_user("carl@alpha.test")  # no client access at all
    rule = rule_with("Everyone", [floor.ben, client_person, floor.ann, outsider])
    assert set(agents_all().filter(pk__in=[floor.ben.pk, client_person.pk, floor.ann.pk, outsider.pk])) == {floor.ann}
    floor.desk.members.add(outsider)  # put on a desk: now an agent who may hold clients

    given = []
    for _ in range(4):
        client = new_client()
        client_auto_assign(client)
        given.append(client.sales_agent)

    assert Counter(given) == {floor.ann: 2, outsider: 2}
    assert AssignmentRuleMember.objects.get(rule=rule, user=floor.ben).last_assigned_at is None


def test_a_rule_whose_agents_are_all_inactive_passes_to_the_next(floor):
    floor.ann.is_active = False
    floor.ann.save()
    rule_with("UK", [floor.ann], priority=1, countries=["GB"])
    rule_with("Catch-all", [floor.cat], priority=2)
    client = new_client(country="GB")

    client_auto_assign(client)

    assert client.sales_agent == floor.cat


def test_rule_choice_answers_without_assigning(floor):
    rule = rule_with("German speakers", [floor.ann, floor.ben], languages=["de"])

    choice = rule_choice(country="AT", language="de", source="organic")

    assert choice.rule == rule
    assert choice.agent in {floor.ann, floor.ben}
    assert not AssignmentRuleMember.objects.filter(last_assigned_at__isnull=False).exists()
    assert rule_choice(country="FR", language="fr") is None


def test_retention_rules_fill_the_retention_agent_only(floor):
    rule_with("UK sales", [floor.ann], countries=["GB"])
    rule_with("UK retention", [floor.ben, floor.cat], countries=["GB"], team="retention")
    client = new_client(sales_agent=floor.mia)

    client_auto_assign(client, team="retention")
    client_auto_assign(client, team="retention")  # already has one: nothing more happens

    client = Client.objects.get(pk=client.pk)
    assert (client.sales_agent, client.retention_agent) == (floor.mia, floor.ben)
    assert (
        TimelineEvent.objects.get(client=client).title
        == "Assigned to Ben Jones as retention agent by rule 'UK retention'"
    )
    assert Notification.objects.get(user=floor.ben).message.startswith("New client for you as retention agent:")
