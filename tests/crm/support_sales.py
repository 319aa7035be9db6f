"""Personas and helpers of the sales tests (call inside alpha's schema).

Alice owns the tenant (crm_manage). Olga works in the back office (crm_manage, sees all). Ann, Ben and
Cat are sales agents; Mia is a sales agent who manages the "London" desk (Ben and Cat). Cora is in
compliance (sees every client, changes none). Carl is a client.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.models import AssignmentRule, AssignmentRuleMember, Client, Desk
from tests import factories


@dataclass
class Floor:
    alice: object
    olga: object
    ann: object
    ben: object
    cat: object
    mia: object
    cora: object
    desk: Desk


def sales_floor() -> Floor:
    def staff(email, first, last, roles):
        user = factories.staff_user(email, roles=roles, mfa=True)
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
        return user

    floor = Floor(
        alice=staff("alice@alpha.test", "Alice", "Owner", ["owner"]),
        olga=staff("olga@alpha.test", "Olga", "Office", ["back_office"]),
        ann=staff("ann@alpha.test", "Ann", "Smith", ["sales"]),
        ben=staff("ben@alpha.test", "Ben", "Jones", ["sales"]),
        cat=staff("cat@alpha.test", "Cat", "Brown", ["sales"]),
        mia=staff("mia@alpha.test", "Mia", "Manager", ["sales"]),
        cora=staff("cora@alpha.test", "Cora", "Compliance", ["compliance"]),
        desk=None,
    )
    floor.desk = Desk.objects.create(name="London", manager=floor.mia)
    floor.desk.members.set([floor.ben, floor.cat])
    return floor


def rule_with(name: str, agents, *, priority: int = 100, countries=(), languages=(), sources=(), team="sales"):
    rule = AssignmentRule.objects.create(
        name=name,
        priority=priority,
        countries=list(countries),
        languages=list(languages),
        sources=list(sources),
        team=team,
    )
    for agent in agents:
        AssignmentRuleMember.objects.create(rule=rule, user=agent)
    return rule


def new_client(**fields) -> Client:
    fields.setdefault("country", "GB")
    return factories.ClientFactory(**fields)
