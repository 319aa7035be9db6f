"""Bulk actions over many clients (a ticked list or a whole segment): tag, assign, email.

Each action touches only clients the actor may see; the counts returned are of clients changed.
Tagging is one set-based UPDATE (a segment stays a subquery); assignment and email belong to
crm.assignment and crm.comms, and over more than CHUNK clients run in a Celery task
(crm.tasks.bulk_action_run) in committed chunks, the actor notified at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.models import User
from brokerage.roles import perm
from crm.assignment import assignable_agents, can_reassign, clients_reassign
from crm.comms import email_send_bulk, email_template_names
from crm.models import Client, TimelineEvent
from crm.profile import tags_clean
from crm.visibility import clients_visible_to

# An audit record names at most this many clients (the timeline has a line for every one).
AUDIT_IDS = 1000
# Above this many clients the page asks for a confirmation first.
CONFIRM_ABOVE = 50


# Above this many clients, email and reassignment run in a Celery task in committed chunks of this size.
CHUNK = 500
AUDIT_SAMPLE = 20


def ids_parse(values) -> list[int]:
    """The whole numbers among posted ids, deduplicated and sorted (anything else ignored)."""
    ids = set()
    for value in values or ():
        try:
            ids.add(int(value))
        except (TypeError, ValueError):
            continue
    return sorted(ids)


def _targets(client_ids):
    """Posted ids as a list, or a QuerySet of clients (a segment) kept as a subquery."""
    return client_ids if isinstance(client_ids, QuerySet) else ids_parse(client_ids)


@transaction.atomic
def clients_tag(*, actor, client_ids, add=(), remove=()) -> int:
    """Add and remove tags on the given clients the actor may see; the number of clients changed.

    `client_ids` is a list of ids or a QuerySet of clients (a whole segment: one subquery, no list).

    Idempotent: a client that already has every added tag and none of the removed ones is left alone
    (no update, no timeline line). Staff tagging is not client activity, so last_activity_at stays."""
    if not actor.has_perm(perm("crm_change_client")):
        raise PermissionDenied("Tagging clients needs the right to change client records.")
    add, remove = tags_clean(list(add)), tags_clean(list(remove))
    if not add and not remove:
        raise ApplicationError("Enter a tag.", fields={"tag": ["Enter a tag."]})
    if set(add) & set(remove):
        raise ApplicationError("A tag cannot be added and removed at once.", fields={"tag": ["Choose one."]})
    ids = _targets(client_ids)
    if isinstance(ids, QuerySet):
        ids = ids.order_by().values("pk")
    elif not ids:
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


def actions_for(user) -> list[tuple[str, str]]:
    """The bulk actions `user` may run."""
    allowed = []
    for key, label in ACTIONS:
        if key.startswith("assign_"):
            if can_reassign(user):
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
    try:
        return assignable_agents(user).get(pk=int(value))
    except (TypeError, ValueError):
        raise ApplicationError("Choose an agent.", fields={"agent": ["Choose an agent."]}) from None
    except User.DoesNotExist:
        raise ApplicationError(
            "You may not assign clients to that person.", fields={"agent": ["Choose one of the listed agents."]}
        ) from None


def _template(value) -> str:
    name = str(value or "").strip()
    if not name or name not in email_template_names():
        raise ApplicationError("Choose an email template.", fields={"template": ["Choose a template."]})
    return name


@dataclass(frozen=True)
class BulkQueued:
    action: str
    selected: int

    @property
    def message(self) -> str:
        return f"Queued: {self.selected:,} clients; you will get a notification when it is done."


def bulk_run(*, actor, action: str, client_ids, params: dict, segment_id: int | None = None) -> BulkResult | BulkQueued:
    """Run one bulk action over the given clients (ids, or a segment's QuerySet), only those `actor`
    may see. Email and reassignment over more than CHUNK clients go to a Celery task (`segment_id`
    lets it read the segment again rather than carry every id)."""
    if action not in dict(actions_for(actor)):
        if action in ACTION_LABELS:
            raise PermissionDenied(f"You may not {ACTION_LABELS[action].lower()}.")
        raise ApplicationError("Choose an action.", fields={"action": ["Choose an action."]})
    targets = _targets(client_ids)
    if isinstance(targets, QuerySet):
        targets = clients_visible_to(actor, targets)
        selected = targets.count()
    else:
        selected = len(targets)
    if not selected:
        raise ApplicationError("Select at least one client.", fields={"client": ["Select clients."]})
    if action in ("tag_add", "tag_remove"):
        tags = tags_clean(params.get("tag") or "")
        if not tags:
            raise ApplicationError("Enter a tag.", fields={"tag": ["Enter a tag."]})
        changes = {"add": tags} if action == "tag_add" else {"remove": tags}
        changed = clients_tag(actor=actor, client_ids=targets, **changes)
        return BulkResult(action=action, selected=selected, changed=changed)
    # Check the parameters now, so a mistake is told at once rather than in a notification.
    if action == "email":
        params = {"template": _template(params.get("template"))}
    else:
        params = {"agent": _agent(actor, params.get("agent")).pk}
    if selected > CHUNK:
        from crm.tasks import bulk_action_run

        ids = None
        if segment_id is None:
            ids = targets if isinstance(targets, list) else list(targets.values_list("pk", flat=True))
        bulk_action_run.delay(actor_id=actor.pk, action=action, params=params, segment_id=segment_id, client_ids=ids)
        return BulkQueued(action=action, selected=selected)
    ids = targets if isinstance(targets, list) else list(targets.values_list("pk", flat=True))
    changed = _chunk_run(actor=actor, action=action, params=params, ids=ids)
    return BulkResult(action=action, selected=selected, changed=changed)


def _chunk_run(*, actor, action: str, params: dict, ids: list[int]) -> int:
    if action == "email":
        return email_send_bulk(actor=actor, client_ids=ids, template=params["template"])
    role = "sales_agent" if action == "assign_sales" else "retention_agent"
    agent = _agent(actor, params["agent"])
    return clients_reassign(actor=actor, client_ids=ids, **{role: agent})


def bulk_run_chunked(*, actor, action: str, params: dict, clients: QuerySet[Client]) -> tuple[int, int]:
    """The background half of `bulk_run`: walk `clients` by id in chunks of CHUNK, each chunk its own
    transaction with one audit record (count and a sample of ids). Returns (selected, changed)."""
    clients = clients_visible_to(actor, clients).order_by("pk")
    selected = changed = 0
    last = 0
    while True:
        ids = list(clients.filter(pk__gt=last).values_list("pk", flat=True)[:CHUNK])
        if not ids:
            break
        last = ids[-1]
        with transaction.atomic():
            done = _chunk_run(actor=actor, action=action, params=params, ids=ids)
            audit_log(
                actor=actor,
                action=f"crm.clients.bulk_{'email' if action == 'email' else 'reassign'}_chunk",
                after={
                    "action": action,
                    "params": params,
                    "count": len(ids),
                    "changed": done,
                    "client_ids_sample": ids[:AUDIT_SAMPLE],
                },
            )
        selected += len(ids)
        changed += done
    return selected, changed
