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
