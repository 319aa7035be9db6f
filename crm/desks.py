"""Desks and assignment rules: how the sales floor is organised (`crm_manage`)."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django_countries import countries as all_countries

from brokerage.audit import audit_log, snapshot
from brokerage.errors import ApplicationError
from brokerage.models import User
from brokerage.roles import perm
from crm.assignment import agents_all, staff_with_client_access
from crm.links import person_label
from crm.models import AssignmentRule, AssignmentRuleMember, Client, Desk
from crm.models.clients import LANGUAGES

LANGUAGE_CODES = frozenset(code for code, _ in LANGUAGES)
SOURCE_CODES = frozenset(Client.Source.values)


def _require_manage(actor) -> None:
    if not actor.has_perm(perm("crm_manage")):
        raise PermissionDenied("Managing desks and rules needs crm_manage.")


def _check_agents(users: Iterable[User], *, field: str) -> list[User]:
    """Desk agents and rule agents are sellers (`agents_all`); a desk manager only needs client access."""
    users = list(users)
    pool = staff_with_client_access() if field == "manager" else agents_all()
    eligible = set(pool.filter(pk__in=[u.pk for u in users]).values_list("pk", flat=True))
    refused = [person_label(u) for u in users if u.pk not in eligible]
    if refused:
        if field == "manager":
            message = f"Not active staff with access to client records: {', '.join(refused)}."
        else:
            message = f"Not an active sales agent (sales role or on a desk): {', '.join(refused)}."
        raise ApplicationError(message, fields={field: [message]})
    return users


def _clean_name(name: str, *, model, exclude_pk=None) -> str:
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give it a name.", fields={"name": ["This field is required."]})
    if model.objects.filter(name__iexact=name).exclude(pk=exclude_pk).exists():
        raise ApplicationError(f"{name!r} is already taken.", fields={"name": ["This name is already taken."]})
    return name


def _desk_state(desk: Desk) -> dict:
    return {
        "name": desk.name,
        "manager": desk.manager_id,
        "members": sorted(desk.members.values_list("pk", flat=True)),
    }


# Desks ----------------------------------------------------------------------------------------------


@transaction.atomic
def desk_create(*, actor, name: str, manager: User | None = None, members: Iterable[User] = ()) -> Desk:
    _require_manage(actor)
    name = _clean_name(name, model=Desk)
    if manager is not None:
        _check_agents([manager], field="manager")
    members = _check_agents(members, field="members")
    desk = Desk.objects.create(name=name, manager=manager)
    desk.members.set(members)
    audit_log(actor=actor, action="crm.desk.created", obj=desk, after=_desk_state(desk))
    return desk


@transaction.atomic
def desk_update(*, actor, desk: Desk, name: str, manager: User | None, members: Iterable[User] | None = None) -> Desk:
    """Rename, set the manager, and (when `members` is given) make the member list exactly that."""
    _require_manage(actor)
    desk = Desk.objects.select_for_update().get(pk=desk.pk)
    before = _desk_state(desk)
    desk.name = _clean_name(name, model=Desk, exclude_pk=desk.pk)
    if manager is not None and manager.pk != desk.manager_id:
        _check_agents([manager], field="manager")
    desk.manager = manager
    desk.save(update_fields=["name", "manager"])
    if members is not None:
        members = list(members)
        current = set(before["members"])
        _check_agents([m for m in members if m.pk not in current], field="members")
        desk.members.set(members)
    after = _desk_state(desk)
    if after != before:
        audit_log(actor=actor, action="crm.desk.updated", obj=desk, before=before, after=after)
    return desk


@transaction.atomic
def desk_member_add(*, actor, desk: Desk, user: User) -> None:
    _require_manage(actor)
    _check_agents([user], field="user")
    if not desk.members.filter(pk=user.pk).exists():
        desk.members.add(user)
        audit_log(actor=actor, action="crm.desk.member_added", obj=desk, after={"user": user.pk})


@transaction.atomic
def desk_member_remove(*, actor, desk: Desk, user: User) -> None:
    _require_manage(actor)
    if desk.members.filter(pk=user.pk).exists():
        desk.members.remove(user)
        audit_log(actor=actor, action="crm.desk.member_removed", obj=desk, before={"user": user.pk})


@transaction.atomic
def desk_delete(*, actor, desk: Desk) -> None:
    """The desk goes; its agents keep their clients (only the manager's view of them ends)."""
    _require_manage(actor)
    audit_log(actor=actor, action="crm.desk.deleted", obj=desk, before=_desk_state(desk))
    desk.delete()


# Assignment rules -----------------------------------------------------------------------------------


def _clean_codes(values: Iterable[str], *, allowed, field: str, label: str, upper: bool = False) -> list[str]:
    codes = []
    for value in values or ():
        code = str(value).strip()
        code = code.upper() if upper else code.lower()
        if code and code not in codes:
            codes.append(code)
    unknown = [c for c in codes if c not in allowed]
    if unknown:
        message = f"Unknown {label}: {', '.join(unknown)}."
        raise ApplicationError(message, fields={field: [message]})
    return sorted(codes)


def _rule_state(rule: AssignmentRule) -> dict:
    state = snapshot(rule, ["name", "team", "countries", "languages", "sources", "priority", "is_active"])
    state["agents"] = sorted(rule.members.values_list("user_id", flat=True))
    return state


def _rule_fields(data: dict, *, exclude_pk=None) -> dict:
    team = data.get("team") or AssignmentRule.Team.SALES
    if team not in AssignmentRule.Team.values:
        raise ApplicationError("Pick sales or retention.", fields={"team": ["Pick sales or retention."]})
    priority = data.get("priority", 100)
    try:
        priority = int(priority)
    except (TypeError, ValueError):
        priority = -1
    if priority < 0:
        raise ApplicationError("Priority is a whole number, 0 or more.", fields={"priority": ["Enter 0 or more."]})
    return {
        "name": _clean_name(data.get("name", ""), model=AssignmentRule, exclude_pk=exclude_pk),
        "team": team,
        "countries": _clean_codes(
            data.get("countries"), allowed=dict(all_countries), field="countries", label="countries", upper=True
        ),
        "languages": _clean_codes(data.get("languages"), allowed=LANGUAGE_CODES, field="languages", label="languages"),
        "sources": _clean_codes(data.get("sources"), allowed=SOURCE_CODES, field="sources", label="sources"),
        "priority": priority,
        "is_active": bool(data.get("is_active", True)),
    }


def _rule_agents_set(rule: AssignmentRule, agents: Iterable[User]) -> None:
    """Make the rotation exactly `agents`, keeping the turn (last_assigned_at) of those who stay."""
    agents = list(agents)
    keep = {a.pk for a in agents}
    rule.members.exclude(user_id__in=keep).delete()
    present = set(rule.members.values_list("user_id", flat=True))
    new = [a for a in agents if a.pk not in present]
    _check_agents(new, field="agents")
    AssignmentRuleMember.objects.bulk_create([AssignmentRuleMember(rule=rule, user=a) for a in new])


@transaction.atomic
def rule_create(*, actor, data: dict) -> AssignmentRule:
    """`data`: name, team, countries, languages, sources (lists of codes), priority, is_active, agents (users)."""
    _require_manage(actor)
    rule = AssignmentRule.objects.create(**_rule_fields(data))
    _rule_agents_set(rule, data.get("agents") or ())
    audit_log(actor=actor, action="crm.assignment_rule.created", obj=rule, after=_rule_state(rule))
    return rule


@transaction.atomic
def rule_update(*, actor, rule: AssignmentRule, data: dict) -> AssignmentRule:
    _require_manage(actor)
    rule = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
    before = _rule_state(rule)
    for field, value in _rule_fields(data, exclude_pk=rule.pk).items():
        setattr(rule, field, value)
    rule.save()
    if "agents" in data:
        _rule_agents_set(rule, data["agents"] or ())
    after = _rule_state(rule)
    if after != before:
        audit_log(actor=actor, action="crm.assignment_rule.updated", obj=rule, before=before, after=after)
    return rule


@transaction.atomic
def rule_set_active(*, actor, rule: AssignmentRule, is_active: bool) -> AssignmentRule:
    _require_manage(actor)
    changed = AssignmentRule.objects.filter(pk=rule.pk).exclude(is_active=is_active).update(is_active=is_active)
    rule.is_active = is_active
    if changed:
        audit_log(
            actor=actor,
            action="crm.assignment_rule.activated" if is_active else "crm.assignment_rule.deactivated",
            obj=rule,
            before={"is_active": not is_active},
            after={"is_active": is_active},
        )
    return rule


@transaction.atomic
def rule_delete(*, actor, rule: AssignmentRule) -> None:
    _require_manage(actor)
    audit_log(actor=actor, action="crm.assignment_rule.deleted", obj=rule, before=_rule_state(rule))
    rule.delete()
