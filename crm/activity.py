"""The client's activity columns and the status they imply, kept up to date from other modules' events.

Every write here is one conditional UPDATE, so two workers handling events of the same client at the
same time cannot both win a "first" (the row lock makes the second re-check the condition).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from crm.models import AssignmentRule, Client, TimelineEvent
from crm.timeline import timeline_record

Status = Client.Status
DORMANT_AFTER = timedelta(days=90)
# Statuses a first deposit moves to funded; trading moves funded to active; any activity wakes dormant.
FUNDABLE = (Status.LEAD, Status.REGISTERED, Status.VERIFIED)


def _status_move(client_id: int, *, from_statuses, to: str, why: str, source: str, at: datetime) -> bool:
    moved = Client.objects.filter(pk=client_id, status__in=from_statuses).update(status=to)
    if moved:
        timeline_record(
            client_id=client_id,
            kind="profile",
            topic="crm.client.status_changed",
            title=f"Status is now {Status(to).label}: {why}",
            occurred_at=at,
            source=f"{source}:status" if source else "",
        )
    return bool(moved)


def client_wake(client_id: int, *, at: datetime, source: str = "") -> bool:
    """The client did something: a dormant client is active again."""
    return _status_move(
        client_id, from_statuses=[Status.DORMANT], to=Status.ACTIVE, why="active again", source=source, at=at
    )


def client_deposit_record(*, client_id: int, at: datetime, amount: Decimal, currency: str, source: str = "") -> bool:
    """A completed deposit; True when it was the client's first (FTD), which is set exactly once."""
    ftd = {"first_deposit_at": at, "first_deposit_amount": amount, "first_deposit_currency": currency}
    first = Client.objects.filter(pk=client_id, first_deposit_at__isnull=True).update(**ftd)
    if not first:
        # Events may be handled out of order (parallel workers): the earliest deposit is the first.
        Client.objects.filter(pk=client_id, first_deposit_at__gt=at).update(**ftd)
    Client.objects.filter(pk=client_id).filter(Q(last_deposit_at__isnull=True) | Q(last_deposit_at__lt=at)).update(
        last_deposit_at=at
    )
    _status_move(client_id, from_statuses=FUNDABLE, to=Status.FUNDED, why="first deposit", source=source, at=at)
    client_wake(client_id, at=at, source=source)
    if first:
        # A funded client is handed to retention through the retention rules (when there are any).
        from crm.assignment import client_auto_assign

        client_auto_assign(Client.objects.get(pk=client_id), team=AssignmentRule.Team.RETENTION)
    return bool(first)


def client_trade_record(*, client_id: int, at: datetime, source: str = "") -> None:
    """The client traded (deals arrived): funded becomes active, dormant wakes."""
    Client.objects.filter(pk=client_id).filter(Q(last_trade_at__isnull=True) | Q(last_trade_at__lt=at)).update(
        last_trade_at=at
    )
    moved = _status_move(
        client_id, from_statuses=[Status.FUNDED], to=Status.ACTIVE, why="started trading", source=source, at=at
    )
    if not moved:
        client_wake(client_id, at=at, source=source)


def clients_dormant_sweep(*, now: datetime | None = None, batch: int = 1000) -> int:
    """Funded or active clients with no activity for DORMANT_AFTER become dormant; returns how many.

    The timeline line is written directly (not through timeline_record), because going quiet is not
    activity: it must not move `last_activity_at`, which dormancy is measured from.
    """
    now = now or timezone.now()
    cutoff = now - DORMANT_AFTER
    quiet = Client.objects.filter(status__in=[Status.FUNDED, Status.ACTIVE], last_activity_at__lt=cutoff)
    total = 0
    while True:
        ids = list(quiet.order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return total
        with transaction.atomic():
            # Locked and re-checked: activity that arrived since the SELECT above keeps the client.
            moved = list(
                Client.objects.select_for_update()
                .filter(pk__in=ids, status__in=[Status.FUNDED, Status.ACTIVE], last_activity_at__lt=cutoff)
                .values_list("pk", "last_activity_at")
            )
            Client.objects.filter(pk__in=[pk for pk, _ in moved]).update(status=Status.DORMANT)
            TimelineEvent.objects.bulk_create(
                [
                    TimelineEvent(
                        client_id=pk,
                        kind="profile",
                        topic="crm.client.status_changed",
                        title=f"Status is now Dormant: no activity since {last:%Y-%m-%d}",
                        occurred_at=now,
                        source=f"dormant:{pk}:{last:%Y%m%d%H%M%S}",
                    )
                    for pk, last in moved
                ],
                ignore_conflicts=True,
            )
        total += len(moved)
        if len(ids) < batch:
            return total
