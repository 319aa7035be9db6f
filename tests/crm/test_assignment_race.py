"""Twenty clients auto-assigned at the same moment through one rule: a fair spread, nothing lost."""

from __future__ import annotations

from collections import Counter

import pytest
from django_tenants.utils import tenant_context

from crm.assignment import client_auto_assign
from crm.models import AssignmentRuleMember, Client, TimelineEvent
from tests.concurrency import race
from tests.crm.support_sales import new_client, rule_with, sales_floor

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_concurrent_assignments_spread_fairly(alpha):
    with tenant_context(alpha):
        floor = sales_floor()
        rule = rule_with("Everyone", [floor.ann, floor.ben, floor.cat])
        client_ids = [new_client().pk for _ in range(20)]

    def assign(index: int):
        client_auto_assign(Client.objects.get(pk=client_ids[index]))

    results = race(alpha, assign, count=20)

    assert [r for r in results if r is not None] == []
    with tenant_context(alpha):
        agents = list(Client.objects.filter(pk__in=client_ids).values_list("sales_agent__email", flat=True))
        assert None not in agents
        assert sorted(Counter(agents).values()) == [6, 7, 7]
        assert TimelineEvent.objects.filter(topic="crm.client.assigned").count() == 20
        turns = list(AssignmentRuleMember.objects.filter(rule=rule).values_list("last_assigned_at", flat=True))
        assert len(set(turns)) == 3
