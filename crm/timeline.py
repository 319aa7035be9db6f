"""The client timeline: one writer, used by crm itself and by other modules' event handlers."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.models import Client, TimelineEvent


def timeline_record(
    *,
    client_id: int,
    kind: str,
    topic: str,
    title: str,
    detail: str = "",
    url: str = "",
    actor=None,
    occurred_at: datetime | None = None,
    source: str = "",
) -> TimelineEvent | None:
    """Add one line to a client's timeline; None when `source` was already recorded (a redelivery).

    A line not written by staff (the client's own action, or a module's event) also moves the
    client's `last_activity_at`, which dormancy reads: a note by an agent does not keep a client active.
    """
    occurred_at = occurred_at or timezone.now()
    event = TimelineEvent(
        client_id=client_id,
        kind=kind,
        topic=topic,
        title=title[:200],
        detail=detail,
        url=url[:300],
        actor_label=(getattr(actor, "email", "") or "")[:254],
        occurred_at=occurred_at,
        source=source[:120],
    )
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        if source and TimelineEvent.objects.filter(source=event.source).exists():
            return None
        raise
    if not getattr(actor, "is_staff_member", False):
        Client.objects.filter(pk=client_id).exclude(last_activity_at__gte=occurred_at).update(
            last_activity_at=occurred_at
        )
    return event


def timeline_line_locked(source: str) -> TimelineEvent | None:
    """The line recorded under `source`, locked for an update in the caller's transaction."""
    return TimelineEvent.objects.select_for_update().filter(source=source).first()


def timeline_line_update(line: TimelineEvent, *, title: str, detail: str, occurred_at: datetime) -> None:
    """Rewrite a running line (a day's deals) that `timeline_line_locked` returned; it rises to the top
    when `occurred_at` is later, and moves the client's activity like a new line would."""
    line.title, line.detail = title[:200], detail
    line.occurred_at = max(line.occurred_at, occurred_at)
    line.save(update_fields=["title", "detail", "occurred_at"])
    Client.objects.filter(pk=line.client_id).exclude(last_activity_at__gte=occurred_at).update(
        last_activity_at=occurred_at
    )
