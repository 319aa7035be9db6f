"""Saved segments: named lists of criteria (crm.segment_criteria) that all must hold.

Members are always read through crm.visibility: a sales agent's view of a segment holds only their
own clients, whoever saved the segment.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.roles import perm
from crm.models import Client, Segment
from crm.segment_criteria import criteria_clean, criteria_q
from crm.visibility import clients_visible_to

PREVIEW_SIZE = 10

# Ready-made segments of the issue, for the demo data and a fresh tenant.
EXAMPLES: list[dict] = [
    {
        "name": "Deposited in the last 7 days and never traded",
        "description": "New money that has not reached the platform yet: call them.",
        "criteria": [{"key": "deposited_within", "params": {"days": 7}}, {"key": "never_traded", "params": {}}],
    },
    {
        "name": "Volume above 10 lots in 30 days",
        "description": "Active traders of live accounts.",
        "criteria": [{"key": "volume_above", "params": {"lots": "10", "days": 30}}],
    },
    {
        "name": "Dormant for 60 days",
        "description": "No activity of any kind for two months.",
        "criteria": [{"key": "dormant_for", "params": {"days": 60}}],
    },
    {
        "name": "Balance above 1,000 USD",
        "description": "Wallet and trading funds in USD.",
        "criteria": [{"key": "balance_above", "params": {"amount": "1000", "currency": "USD"}}],
    },
]


def _snapshot(segment: Segment) -> dict:
    return {"name": segment.name, "description": segment.description, "criteria": segment.criteria}


def segment_can_change(user, segment: Segment | None = None) -> bool:
    """Anyone who edits clients may save segments; changing another person's needs crm_manage."""
    if not user.has_perm(perm("crm_change_client")):
        return False
    if segment is None or segment.pk is None:
        return True
    return segment.created_by_id == user.pk or user.has_perm(perm("crm_manage"))


@transaction.atomic
def segment_save(*, actor, segment: Segment | None = None, name: str, description: str = "", criteria) -> Segment:
    name = " ".join((name or "").split())
    description = " ".join((description or "").split())
    if not name:
        raise ApplicationError("Name the segment.", fields={"name": ["Enter a name."]})
    if len(name) > 100:
        raise ApplicationError("The name is too long.", fields={"name": ["At most 100 characters."]})
    if len(description) > 300:
        raise ApplicationError("The description is too long.", fields={"description": ["At most 300 characters."]})
    cleaned = criteria_clean(criteria, actor=actor)
    others = Segment.objects.filter(name__iexact=name)
    if segment is not None:
        others = others.exclude(pk=segment.pk)
    if others.exists():
        raise ApplicationError(f"A segment called “{name}” exists already.", fields={"name": ["Choose another name."]})
    if segment is None:
        segment = Segment.objects.create(name=name, description=description, criteria=cleaned, created_by=actor)
        audit_log(actor=actor, action="crm.segment.created", obj=segment, after=_snapshot(segment))
        return segment
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    before = _snapshot(segment)
    segment.name, segment.description, segment.criteria = name, description, cleaned
    segment.save(update_fields=["name", "description", "criteria", "updated_at"])
    audit_log(actor=actor, action="crm.segment.updated", obj=segment, before=before, after=_snapshot(segment))
    return segment


@transaction.atomic
def segment_delete(*, actor, segment: Segment) -> None:
    audit_log(actor=actor, action="crm.segment.deleted", obj=segment, before=_snapshot(segment))
    segment.delete()


def segment_problem(segment: Segment, user=None) -> str:
    """Why a saved segment does not work (a criterion removed or changed, or, for `user`, one over
    figures they may not see), or ""."""
    try:
        criteria_clean(segment.criteria, actor=user)
    except ApplicationError as error:
        return error.message
    return ""


def segment_clients(segment: Segment, user) -> QuerySet[Client]:
    """The segment's members that `user` may see. A segment whose stored criteria no longer validate,
    or use criteria `user` may not use, has no members for them (see `segment_problem`), rather than
    failing every page that lists it."""
    try:
        query = criteria_q(segment.criteria, actor=user)
    except ApplicationError:
        return Client.objects.none()
    return clients_visible_to(user, Client.objects.filter(query))


def criteria_clients(criteria, user) -> QuerySet[Client]:
    """Clients matching unsaved criteria, visible to `user`; ApplicationError when they do not validate."""
    return clients_visible_to(user, Client.objects.filter(criteria_q(criteria, actor=user)))


def segment_preview(criteria, user) -> tuple[int, list[Client]]:
    """How many visible clients match, and the newest ten."""
    clients = criteria_clients(criteria, user)
    first = list(clients.select_related("sales_agent").order_by("-created_at", "-id")[:PREVIEW_SIZE])
    count = len(first) if len(first) < PREVIEW_SIZE else clients.count()
    return count, first


def criteria_problem(criteria, user) -> str:
    try:
        criteria_clean(criteria, actor=user)
    except ApplicationError as error:
        return error.message
    return ""


def segment_examples_ensure(*, actor) -> list[Segment]:
    """Save the ready-made segments that do not exist yet (by name); returns those created."""
    created = []
    for example in EXAMPLES:
        if criteria_problem(example["criteria"], actor):
            continue  # over money or trading the actor may not see
        if not Segment.objects.filter(name__iexact=example["name"]).exists():
            created.append(segment_save(actor=actor, **example))
    return created
