"""Bulk actions over many clients (a ticked list or a whole segment): tag, assign, email.

Each action touches only clients the actor may see; the counts returned are of clients changed.
Tagging is one set-based UPDATE; assignment and email belong to crm.assignment and crm.comms.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.models import User
from brokerage.roles import perm
from crm.models import Client, TimelineEvent
from crm.profile import tags_clean
from crm.visibility import clients_visible_to

# An audit record names at most this many clients (the timeline has a line for every one).
AUDIT_IDS = 1000
# Above this many clients the page asks for a confirmation first.
CONFIRM_ABOVE = 50


def _ids(values) -> list[int]:
    ids = set()
    for value in values or ():
        try:
            ids.add(int(value))
        except (TypeError, ValueError):
            continue
    return sorted(ids)


@transaction.atomic
def clients_tag(*, actor, client_ids, add=(), remove=()) -> int:
    """Add and remove tags on the given clients the actor may see; the number of clients changed.

    Idempotent: a client that already has every added tag and none of the removed ones is left alone
    (no update, no timeline line). Staff tagging is not client activity, so last_activity_at stays."""
    if not actor.has_perm(perm("crm_change_client")):
        raise PermissionDenied("Tagging clients needs the right to change client records.")
    add, remove = tags_clean(list(add)), tags_clean(list(remove))
    if not add and not remove:
        raise ApplicationError("Enter a tag.", fields={"tag": ["Enter a tag."]})
    if set(add) & set(remove):
        raise ApplicationError("A tag cannot be added and removed at once.", fields={"tag": ["Choose one."]})
    ids = _ids(client_ids)
    if not ids:
        return 0
    visible_sql, visible_params = clients_visible_to(actor).filter(pk__in=ids).values("pk").query.sql_with_params()
    table = connection.ops.quote_name(Client._meta.db_table)
    # New tags: the old ones minus `remove`, then each added tag not already there, in order.
    sql = f"""
        UPDATE {table} AS c
           SET tags = ARRAY(SELECT t FROM unnest(c.tags) WITH ORDINALITY AS old(t, n)
                             WHERE NOT t = ANY(%s::varchar[]) ORDER BY n)
                      || ARRAY(SELECT t FROM unnest(%s::varchar[]) WITH ORDINALITY AS new(t, n)
                                WHERE NOT t = ANY(c.tags) ORDER BY n),
               updated_at = now()
         WHERE c.id IN ({visible_sql})
           AND (NOT c.tags @> %s::varchar[] OR c.tags && %s::varchar[])
     RETURNING c.id
    """  # noqa: S608 - the table name is the model's; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [remove, add, *visible_params, add, remove])
        changed = sorted(row[0] for row in cursor.fetchall())
    if not changed:
        return 0
    words = [f"+{tag}" for tag in add] + [f"−{tag}" for tag in remove]
    title = f"Tags changed: {' '.join(words)}"[:200]
    now = timezone.now()
    actor_label = (actor.email or "")[:254]
    TimelineEvent.objects.bulk_create(
        (
            TimelineEvent(
                client_id=pk,
                kind=TimelineEvent.Kind.PROFILE,
                topic="crm.client.tagged",
                title=title,
                actor_label=actor_label,
                occurred_at=now,
            )
            for pk in changed
        ),
        batch_size=2000,
    )
    audit_log(
        actor=actor,
        action="crm.clients.tagged",
        after={
            "add": add,
            "remove": remove,
            "count": len(changed),
            "client_ids": changed[:AUDIT_IDS],
            "client_ids_truncated": len(changed) > AUDIT_IDS,
        },
    )
    return len(changed)


# The bulk action form ----------------------------------------------------------------------------


ACTIONS = [
    ("assign_sales", "Assign sales agent"),
    ("assign_retention", "Assign retention agent"),
    ("tag_add", "Add tag"),
    ("tag_remove", "Remove tag"),
    ("email", "Send templated email"),
]
ACTION_LABELS = dict(ACTIONS)


def can_assign(user) -> bool:
    from crm.assignment import can_reassign

    return can_reassign(user)


def actions_for(user) -> list[tuple[str, str]]:
    """The bulk actions `user` may run."""
    allowed = []
    for key, label in ACTIONS:
        if key.startswith("assign_"):
            if can_assign(user):
                allowed.append((key, label))
        elif user.has_perm(perm("crm_change_client")):
            allowed.append((key, label))
    return allowed


@dataclass(frozen=True)
class BulkResult:
    action: str
    selected: int
    changed: int

    @property
    def message(self) -> str:
        noun = "client" if self.selected == 1 else "clients"
        verb = {
            "assign_sales": "reassigned",
            "assign_retention": "reassigned",
            "tag_add": "tagged",
            "tag_remove": "untagged",
            "email": "emailed",
        }[self.action]
        unchanged = self.selected - self.changed
        tail = f"; {unchanged} already as asked or skipped" if unchanged else ""
        return f"{ACTION_LABELS[self.action]}: {self.changed} of {self.selected} {noun} {verb}{tail}."


def _agent(user, value):
    from crm.assignment import assignable_agents

    try:
        return assignable_agents(user).get(pk=int(value))
    except (TypeError, ValueError):
        raise ApplicationError("Choose an agent.", fields={"agent": ["Choose an agent."]}) from None
    except User.DoesNotExist:
        raise ApplicationError(
            "You may not assign clients to that person.", fields={"agent": ["Choose one of the listed agents."]}
        ) from None


def template_names() -> list[str]:
    """Active email templates by name (crm.comms picks each client's language version)."""
    from crm.models import EmailTemplate

    names = EmailTemplate.objects.filter(is_active=True).order_by("name").values_list("name", flat=True)
    return list(names.distinct())


def _template(value) -> str:
    name = str(value or "").strip()
    if not name or name not in template_names():
        raise ApplicationError("Choose an email template.", fields={"template": ["Choose a template."]})
    return name


def bulk_run(*, actor, action: str, client_ids: list[int], params: dict) -> BulkResult:
    """Run one bulk action over clients already limited to those `actor` may see."""
    if action not in dict(actions_for(actor)):
        if action in ACTION_LABELS:
            raise PermissionDenied(f"You may not {ACTION_LABELS[action].lower()}.")
        raise ApplicationError("Choose an action.", fields={"action": ["Choose an action."]})
    ids = _ids(client_ids)
    if not ids:
        raise ApplicationError("Select at least one client.", fields={"client": ["Select clients."]})
    if action in ("assign_sales", "assign_retention"):
        from crm.assignment import clients_reassign

        role = "sales_agent" if action == "assign_sales" else "retention_agent"
        agent = _agent(actor, params.get("agent"))
        changed = clients_reassign(actor=actor, client_ids=ids, **{role: agent})
    elif action in ("tag_add", "tag_remove"):
        tags = tags_clean(params.get("tag") or "")
        if not tags:
            raise ApplicationError("Enter a tag.", fields={"tag": ["Enter a tag."]})
        changes = {"add": tags} if action == "tag_add" else {"remove": tags}
        changed = clients_tag(actor=actor, client_ids=ids, **changes)
    else:
        from crm.comms import email_send_bulk

        template = _template(params.get("template"))
        changed = email_send_bulk(actor=actor, client_ids=ids, template=template)
        changed = changed if isinstance(changed, int) else len(changed)
    return BulkResult(action=action, selected=len(ids), changed=changed)
