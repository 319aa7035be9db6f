"""Who works a client: round-robin assignment by rules, and manual (bulk) reassignment.

Auto-assignment runs when a client appears (lead entered or imported, portal sign-up) and has no
sales agent. Reassignment is a staff action: `crm_manage` moves anyone's clients; a desk manager
moves the clients they see between the agents of their desks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.models import User
from brokerage.roles import Role, perm
from crm import comms
from crm.links import client_list_url, client_url, person_label
from crm.models import AssignmentRule, AssignmentRuleMember, Client, Desk, TimelineEvent
from crm.timeline import timeline_record
from crm.visibility import clients_visible_to, desk_member_ids

# Agents ---------------------------------------------------------------------------------------------


def staff_with_client_access() -> QuerySet[User]:
    """Active staff whose roles grant `crm_view_client`: who may manage a desk."""
    capability = Permission.objects.filter(content_type__app_label="brokerage", codename="crm_view_client")
    holders = Q(groups__permissions__in=capability) | Q(user_permissions__in=capability) | Q(is_superuser=True)
    ids = User.objects.filter(holders, is_active=True).values("pk")
    return User.objects.filter(pk__in=ids).order_by("first_name", "last_name", "email")


def agents_all() -> QuerySet[User]:
    """The people who sell, so the only ones offered as (sales or retention) agent anywhere: staff
    with access to client records who hold the `sales` role or sit on a desk. Compliance, dealing,
    finance, support and owners do not hold clients unless they are put on a desk."""
    sellers = Q(groups__name=Role.SALES) | Q(desks__isnull=False)
    ids = User.objects.filter(sellers).values("pk")
    return staff_with_client_access().filter(pk__in=ids)


def can_reassign(user) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if user.has_perm(perm("crm_manage")):
        return True
    return user.has_perm(perm("crm_change_client")) and Desk.objects.filter(manager=user).exists()


def assignable_agents(user) -> QuerySet[User]:
    """The agents `user` may hand clients to: every agent for `crm_manage`, their desks' for a desk manager."""
    agents = agents_all()
    if not can_reassign(user):
        return agents.none()
    if user.has_perm(perm("crm_manage")):
        return agents
    return agents.filter(pk__in=desk_member_ids(user))  # can_reassign: they manage a desk


# Rules ----------------------------------------------------------------------------------------------


def rules_matching(*, team: str, country: str, language: str, source: str) -> QuerySet[AssignmentRule]:
    """Active rules of `team` for a client of this country, language and source, first to try first:
    an empty list in a rule matches anyone."""

    def empty_or_has(field: str, value: str) -> Q:
        matches = Q(**{field: []})
        if value:
            matches |= Q(**{f"{field}__contains": [value]})
        return matches

    return (
        AssignmentRule.objects.filter(team=team, is_active=True)
        .filter(empty_or_has("countries", country.upper()))
        .filter(empty_or_has("languages", language))
        .filter(empty_or_has("sources", source))
        .order_by("priority", "id")
    )


def turn_after(latest: datetime | None) -> datetime:
    """The time of a rule's next turn: now, but strictly after its latest turn, even when the clock
    repeats a microsecond (the rotation orders members by it)."""
    now = timezone.now()
    return now if latest is None or now > latest else latest + timedelta(microseconds=1)


def _oldest_first(members: QuerySet[AssignmentRuleMember]) -> QuerySet[AssignmentRuleMember]:
    return members.order_by(F("last_assigned_at").asc(nulls_first=True), "id")


@dataclass(frozen=True)
class RuleChoice:
    rule: AssignmentRule
    agent: User


def rule_choice(*, country: str = "", language: str = "", source: str = "", team: str = "sales") -> RuleChoice | None:
    """Which rule and agent a client from `country` speaking `language` from `source` would get now.

    Reads only: the "test a rule" form on the rules page. A matching rule whose agents are all
    inactive is passed over, as auto-assignment does.
    """
    for rule in rules_matching(team=team, country=country, language=language, source=source):
        member = _oldest_first(AssignmentRuleMember.objects.filter(rule=rule, user__in=agents_all())).first()
        if member is not None:
            return RuleChoice(rule, member.user)
    return None


@transaction.atomic
def client_auto_assign(client: Client, *, team: str = AssignmentRule.Team.SALES) -> None:
    """Give a client without a sales agent the next agent of the first matching sales rule.

    `team="retention"` does the same for the retention agent through retention rules (for a caller
    that reacts to a first deposit). The rule row is locked (SELECT … FOR UPDATE) while its next
    agent is chosen, so concurrent assignments through one rule queue up and each sees the previous
    one's `last_assigned_at`: the rotation stays fair under load. Rules whose agents are all
    inactive are passed over.
    """
    role = "sales_agent" if team == AssignmentRule.Team.SALES else "retention_agent"
    locked = Client.objects.select_for_update(of=("self",)).filter(pk=client.pk, **{f"{role}__isnull": True}).first()
    if locked is None:
        return
    for rule in rules_matching(team=team, country=locked.country, language=locked.language, source=locked.source):
        AssignmentRule.objects.select_for_update().filter(pk=rule.pk).first()
        members = AssignmentRuleMember.objects.select_for_update(of=("self",)).filter(rule=rule, user__in=agents_all())
        member = _oldest_first(members.select_related("user")).first()
        if member is None:
            continue
        latest = AssignmentRuleMember.objects.filter(rule=rule).aggregate(latest=Max("last_assigned_at"))["latest"]
        member.last_assigned_at = turn_after(latest)
        member.save(update_fields=["last_assigned_at"])
        Client.objects.filter(pk=locked.pk).update(**{role: member.user}, updated_at=timezone.now())
        setattr(client, role, member.user)
        agent = person_label(member.user)
        audit_log(
            actor=None,
            action="crm.client.auto_assigned",
            obj=locked,
            before={role: None},
            after={role: member.user_id, "rule": rule.name},
        )
        as_what = "" if role == "sales_agent" else " as retention agent"
        timeline_record(
            client_id=locked.pk,
            kind="profile",
            topic="crm.client.assigned",
            title=f"Assigned to {agent}{as_what} by rule '{rule.name}'",
        )
        comms.notify(
            member.user, f"New client for you{as_what}: {locked} (rule '{rule.name}')", url=client_url(locked.pk)
        )
        return


# Reassignment ---------------------------------------------------------------------------------------


def _check_target(actor, agent, *, role: str) -> None:
    if agent is None:
        return
    if not assignable_agents(actor).filter(pk=agent.pk).exists():
        if not agents_all().filter(pk=agent.pk).exists():
            message = f"{person_label(agent)} cannot hold clients (inactive or without access to client records)."
        else:
            message = f"You may not assign clients to {person_label(agent)}: they are not on a desk you manage."
        raise ApplicationError(message, fields={role: [message]})


@transaction.atomic
def clients_reassign(*, actor, client_ids, sales_agent=None, retention_agent=None, clear: bool = False) -> int:
    """Move clients to other agents; the number of clients whose assignment changed.

    Only the given roles change. `clear=True` empties the roles not given (with neither agent given,
    both). Ids the actor cannot see are ignored. One UPDATE, one audit record, one timeline line
    per client, one notification per receiving agent.
    """
    if not can_reassign(actor):
        raise PermissionDenied("Reassigning clients needs crm_manage or a desk you manage.")
    if sales_agent is None and retention_agent is None and not clear:
        raise ApplicationError(
            "Choose the agent to assign the clients to.", fields={"sales_agent": ["Choose an agent."]}
        )
    _check_target(actor, sales_agent, role="sales_agent")
    _check_target(actor, retention_agent, role="retention_agent")
    changes: dict[str, User | None] = {}
    if sales_agent is not None or clear:
        changes["sales_agent"] = sales_agent
    if retention_agent is not None or clear:
        changes["retention_agent"] = retention_agent

    ids = []
    for value in client_ids:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    rows = list(
        clients_visible_to(actor)
        .filter(pk__in=ids)
        .order_by("pk")
        .select_for_update(of=("self",))
        .values("pk", "first_name", "last_name", "sales_agent_id", "retention_agent_id")
    )
    moved = [
        row
        for row in rows
        if any(row[f"{role}_id"] != (agent.pk if agent else None) for role, agent in changes.items())
    ]
    if not moved:
        return 0
    moved_ids = [row["pk"] for row in moved]
    now = timezone.now()
    # Not last_activity_at: handing dormant clients to a retention agent must not make them look active.
    Client.objects.filter(pk__in=moved_ids).update(**changes, updated_at=now)

    names = {
        u.pk: person_label(u)
        for u in User.objects.filter(pk__in={r[f"{k}_id"] for r in moved for k in changes} - {None})
    }
    events = []
    for row in moved:
        parts = []
        for role, agent in changes.items():
            old = row[f"{role}_id"]
            if old == (agent.pk if agent else None):
                continue
            label = "Sales agent" if role == "sales_agent" else "Retention agent"
            was = f" (was {names[old]})" if old else ""
            parts.append(f"{label}: {person_label(agent)}{was}" if agent else f"{label} removed{was}")
        events.append(
            TimelineEvent(
                client_id=row["pk"],
                occurred_at=now,
                kind="profile",
                topic="crm.client.reassigned",
                title=("; ".join(parts) + f" by {person_label(actor)}")[:200],
                url=client_url(row["pk"])[:300],
                actor_label=(actor.email or "")[:254],
            )
        )
    TimelineEvent.objects.bulk_create(events, batch_size=1000)
    audit_log(
        actor=actor,
        action="crm.clients.reassigned",
        obj=None,
        before={str(row["pk"]): {k: row[f"{k}_id"] for k in changes} for row in moved},
        after={"client_ids": moved_ids, **{k: (v.pk if v else None) for k, v in changes.items()}},
    )
    received: Counter = Counter()
    for role, agent in changes.items():
        if agent is not None:
            received[agent] += sum(1 for row in moved if row[f"{role}_id"] != agent.pk)
    for agent, count in received.items():
        if count and agent.pk != actor.pk:
            noun = "client" if count == 1 else "clients"
            comms.notify(
                agent,
                f"{person_label(actor)} assigned you {count} {noun}.",
                url=client_list_url(agent=agent.pk),
            )
    return len(moved)
