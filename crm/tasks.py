"""Celery entry points of the communication log (beat runs the reminders in every tenant)."""

from celery import shared_task

from crm import comms


@shared_task(acks_late=True)
def email_deliver(email_id: int) -> str:
    """Send one queued client email; sending twice is impossible (the row says it was sent)."""
    return comms.email_deliver_now(email_id)


@shared_task
def task_reminders_send() -> int:
    """Open tasks due within 15 minutes or overdue: one notification and one email to each assignee."""
    return comms.task_reminders_send()


@shared_task
def task_reminder_email(task_id: int) -> None:
    comms.task_reminder_email_now(task_id)


@shared_task
def emails_queued_sweep() -> int:
    """Client emails a broker outage left queued (beat, every 5 minutes)."""
    return comms.emails_queued_sweep()


@shared_task(acks_late=True)
def bulk_action_run(*, actor_id: int, action: str, params: dict, segment_id=None, client_ids=None) -> int:
    """A bulk email or reassignment over many clients, in committed chunks (crm.bulk.bulk_run_chunked);
    the actor gets a notification when it is done. Members of a segment are read again here."""
    from brokerage.models import User
    from crm import bulk
    from crm.links import client_list_url
    from crm.models import Client, Segment
    from crm.segments import segment_clients

    actor = User.objects.get(pk=actor_id)
    label = bulk.ACTION_LABELS[action]
    if segment_id is not None:
        segment = Segment.objects.filter(pk=segment_id).first()
        clients = segment_clients(segment, actor) if segment else Client.objects.none()
        url = client_list_url(segment=segment_id)
    else:
        clients = Client.objects.filter(pk__in=bulk.ids_parse(client_ids))
        url = client_list_url()
    try:
        selected, changed = bulk.bulk_run_chunked(actor=actor, action=action, params=params, clients=clients)
    except Exception as error:
        comms.notify(actor, f"{label} stopped: {getattr(error, 'message', error)}", url=url)
        raise
    comms.notify(actor, f"{label}: done, {changed:,} of {selected:,} clients changed.", url=url)
    return changed
