"""Reads of withdrawals for the ops queue, the portal and the API, with the access rules in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.shortcuts import get_object_or_404

from crm.models import Client
from payments.models import PaymentEvent, Withdrawal
from payments.withdrawals.services import IN_REVIEW

Status = Withdrawal.Status
# The queue's filter values besides the statuses themselves.
QUEUE_OPEN, QUEUE_ALL = "open", "all"


def withdrawal_queue(*, status: str = QUEUE_OPEN):
    """Withdrawals for staff, oldest first (the longest wait is at the top)."""
    withdrawals = Withdrawal.objects.select_related("client", "method")
    if status == QUEUE_OPEN:
        withdrawals = withdrawals.filter(status__in=IN_REVIEW)
    elif status in Status.values:
        withdrawals = withdrawals.filter(status=status)
    return withdrawals.order_by("created_at", "id")


def client_of(user) -> Client | None:
    """The client profile a portal user signs in as (None for staff and partners)."""
    return Client.objects.filter(user=user).first() if user.is_authenticated else None


def client_withdrawals(client: Client):
    return Withdrawal.objects.filter(client=client).select_related("method").order_by("-created_at", "-id")


def client_withdrawal_get(client: Client, public_id) -> Withdrawal:
    """A withdrawal of this client, or 404: another client's id does not even exist for them."""
    return get_object_or_404(client_withdrawals(client), public_id=public_id)


@dataclass(frozen=True)
class TimelineEntry:
    when: datetime
    status: str
    label: str
    note: str
    who: str


_LABELS = {
    "requested": "Requested",
    "pending_review": "Checks done",
    "first_approval": "First approval",
    "approved": "Approved",
    "rejected": "Rejected",
    "cancelled": "Cancelled",
    "sent": "Sent for payment",
    "payout_delayed": "Payout delayed",
    "payout_requeued": "Payout sent again",
    "paid": "Paid",
    "failed": "Failed",
    "hold_released": "Funds released",
    "late_report": "Late report (no change)",
}


# Steps that concern the back office only (retries, reports that changed nothing).
STAFF_ONLY_STEPS = {"payout_delayed", "payout_requeued", "late_report"}


def _who(event: PaymentEvent, *, for_staff: bool, client_user_id: int | None) -> str:
    if event.actor_id is not None:
        if event.actor_id == client_user_id:
            return "Client" if for_staff else "You"
        return event.actor.email if for_staff else "Finance team"
    if event.actor_label.startswith("psp:"):
        return event.actor_label if for_staff else "Payment provider"
    return event.actor_label.capitalize() or "System"


def withdrawal_timeline(withdrawal: Withdrawal, *, for_staff: bool) -> list[TimelineEntry]:
    """Every step, oldest first; clients see who acted by role, never staff names, and not the back-office steps."""
    events = PaymentEvent.objects.filter(withdrawal=withdrawal).select_related("actor").order_by("created_at", "id")
    if not for_staff:
        events = events.exclude(status__in=STAFF_ONLY_STEPS)
    client_user_id = withdrawal.client.user_id
    return [
        TimelineEntry(
            when=event.created_at,
            status=event.status,
            label=_LABELS.get(event.status, event.status.replace("_", " ").capitalize()),
            note=event.note,
            who=_who(event, for_staff=for_staff, client_user_id=client_user_id),
        )
        for event in events
    ]
