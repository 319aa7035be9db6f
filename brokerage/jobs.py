"""Background work that failed: Celery tasks (recorded here from Celery's `task_failure` signal) and
outbox events whose dispatch gave up after MAX_DISPATCH_ATTEMPTS. Staff read them at /ops/jobs/,
mark a task failure resolved once handled, and send a given-up event again.

Imported by BrokerageConfig.ready(), so web processes and workers both connect the signal.
"""

from __future__ import annotations

import logging
import traceback as traceback_module

from celery.signals import task_failure
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_tenants.utils import schema_context

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.events import MAX_DISPATCH_ATTEMPTS, event_dispatch
from brokerage.models import FailedJob, OutboxEvent

logger = logging.getLogger(__name__)

ARGS_LIMIT = 500
EXCEPTION_LIMIT = 4000


def args_summary(args, kwargs) -> str:
    """What the task was called with, short (tasks take ids, so this is enough to find the subject)."""
    parts = [repr(arg) for arg in (args or ())]
    parts += [f"{key}={value!r}" for key, value in sorted((kwargs or {}).items())]
    text = ", ".join(parts)
    return text if len(text) <= ARGS_LIMIT else text[: ARGS_LIMIT - 1] + "…"


def exception_text(exception, tb=None) -> str:
    """`Type: message`, then the last frames of the traceback (the end is where the cause is)."""
    text = f"{type(exception).__name__}: {exception}"
    if tb is not None:
        frames = "".join(traceback_module.format_tb(tb))
        text = f"{text}\n\n{frames}"
    return (
        text if len(text) <= EXCEPTION_LIMIT else text[: EXCEPTION_LIMIT // 4] + "\n…\n" + text[-EXCEPTION_LIMIT // 2 :]
    )


def failed_job_record(*, task_name: str, task_id: str, args=None, kwargs=None, exception=None, tb=None) -> FailedJob:
    """One row in the schema the task ran in (tenant-schemas-celery switches before the task and
    switches back only after task_failure has been sent)."""
    with transaction.atomic():  # a savepoint: a failure to record never breaks the caller's transaction
        return FailedJob.objects.create(
            task_name=task_name[:200],
            task_id=(task_id or "")[:64],
            args_summary=args_summary(args, kwargs),
            exception=exception_text(exception, tb) if exception is not None else "",
            tenant_schema=connection.schema_name,
            failed_at=timezone.now(),
        )


def _on_task_failure(sender=None, task_id=None, exception=None, args=None, kwargs=None, traceback=None, **extra):
    try:
        failed_job_record(
            task_name=getattr(sender, "name", None) or str(sender),
            task_id=task_id,
            args=args,
            kwargs=kwargs,
            exception=exception,
            tb=traceback,
        )
    except Exception:  # recording must never turn one failure into two
        logger.exception("could not record the failure of task %s (%s)", getattr(sender, "name", sender), task_id)


task_failure.connect(_on_task_failure, weak=False, dispatch_uid="brokerage.jobs.task_failure")


# Reads ------------------------------------------------------------------------------------------------


def failed_jobs(*, resolved: bool = False) -> QuerySet[FailedJob]:
    jobs = FailedJob.objects.select_related("resolved_by")
    return jobs.filter(resolved_at__isnull=not resolved).order_by("-failed_at", "-id")


def outbox_gave_up() -> QuerySet[OutboxEvent]:
    """Events never delivered whose dispatch stopped trying (the relay skips them from now on)."""
    return OutboxEvent.objects.filter(delivered_at=None, dispatch_attempts__gte=MAX_DISPATCH_ATTEMPTS).order_by("id")


def failed_counts() -> dict:
    return {"tasks": FailedJob.objects.filter(resolved_at=None).count(), "events": outbox_gave_up().count()}


# Writes -----------------------------------------------------------------------------------------------


@transaction.atomic
def failed_job_resolve(*, actor, job: FailedJob) -> FailedJob:
    """Mark a task failure handled (compare-and-swap: a second click changes nothing)."""
    now = timezone.now()
    changed = FailedJob.objects.filter(pk=job.pk, resolved_at=None).update(resolved_at=now, resolved_by=actor)
    if not changed:
        raise ApplicationError("This failure was already marked resolved.", code="already_resolved")
    job.resolved_at, job.resolved_by = now, actor
    audit_log(
        actor=actor,
        action="jobs.failure.resolved",
        obj=job,
        before={"resolved_at": None},
        after={"resolved_at": now.isoformat(), "task_name": job.task_name},
    )
    return job


@transaction.atomic
def outbox_event_retry(*, actor, event: OutboxEvent) -> OutboxEvent:
    """Give a given-up event a fresh set of attempts and send it now (after commit); if the broker is
    still down the relay keeps trying as for any new event."""
    attempts = event.dispatch_attempts
    changed = OutboxEvent.objects.filter(
        pk=event.pk, delivered_at=None, dispatch_attempts__gte=MAX_DISPATCH_ATTEMPTS
    ).update(dispatch_attempts=0, dispatched_at=None)
    if not changed:
        raise ApplicationError("This event was delivered or is already being sent again.", code="not_given_up")
    audit_log(
        actor=actor,
        action="jobs.outbox_event.retried",
        obj=event,
        before={"dispatch_attempts": attempts},
        after={"dispatch_attempts": 0, "topic": event.topic},
    )
    schema, event_id = connection.schema_name, event.pk

    def dispatch() -> None:
        with schema_context(schema):
            event_dispatch(event_id)

    transaction.on_commit(dispatch)
    event.dispatch_attempts, event.dispatched_at = 0, None
    return event
