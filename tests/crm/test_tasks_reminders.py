"""Task reminders (beat, every minute, in every tenant): once per task, even under concurrent runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm import comms, tasks
from crm.models import Notification, Task
from tests.concurrency import race
from tests.crm.support_comms import People, make_people


@pytest.fixture
def people(alpha) -> People:
    return make_people(alpha)


def _task(crew: People, title: str, minutes: int, **extra) -> Task:
    return Task.objects.create(
        title=title,
        due_at=timezone.now() + timedelta(minutes=minutes),
        assignee=crew.sam,
        created_by=crew.alice,
        client=crew.carla,
        **extra,
    )


@pytest.mark.django_db
def test_due_soon_and_overdue_open_tasks_are_reminded_once(in_alpha, people, django_capture_on_commit_callbacks):
    soon = _task(people, "Call Carla back", 10)
    late = _task(people, "Send the contract", -90)
    _task(people, "Later this week", 60 * 24 * 3)
    _task(people, "Finished", -10, status="done")
    _task(people, "Dropped", -10, status="cancelled")

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.task_reminders_send.delay().get() == 2

    messages = sorted(Notification.objects.filter(user=people.sam).values_list("message", flat=True))
    assert [m.split(", due ")[0] for m in messages] == [
        "Due soon: Call Carla back (Carla Diaz)",
        "Overdue: Send the contract (Carla Diaz)",
    ]
    assert sorted(m.subject for m in mail.outbox) == ["Task due: Call Carla back", "Task due: Send the contract"]
    assert {tuple(m.to) for m in mail.outbox} == {("sam@alpha.test",)}
    assert "https://alpha.localhost/ops/crm/tasks/" in mail.outbox[0].body
    assert set(Task.objects.exclude(reminded_at=None).values_list("pk", flat=True)) == {soon.pk, late.pk}

    with django_capture_on_commit_callbacks(execute=True):
        assert comms.task_reminders_send() == 0  # the next minute: nothing new
    assert Notification.objects.count() == 2 and len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_reopened_task_is_reminded_again(in_alpha, people, django_capture_on_commit_callbacks):
    task = _task(people, "Chase documents", 5)
    with django_capture_on_commit_callbacks(execute=True):
        comms.task_reminders_send()
        comms.task_complete(actor=people.sam, task=task)
        comms.task_reopen(actor=people.sam, task=task)
        assert comms.task_reminders_send() == 1
    assert Notification.objects.filter(user=people.sam, message__startswith="Due soon: Chase documents").count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_remind_each_task_exactly_once(alpha):
    crew = make_people(alpha)
    with tenant_context(alpha):
        for number in range(6):
            _task(crew, f"Task {number}", number - 3)

    results = race(alpha, lambda index: comms.task_reminders_send(), count=4)

    assert all(isinstance(result, int) for result in results), results
    assert sum(results) == 6
    with tenant_context(alpha):
        assert Notification.objects.filter(user=crew.sam).count() == 6
        assert Task.objects.filter(reminded_at=None).count() == 0
    assert sorted(m.subject for m in mail.outbox) == [f"Task due: Task {n}" for n in range(6)]


@pytest.mark.django_db
def test_beat_sends_the_reminders_task_to_every_active_tenant(alpha, beta):
    from unittest import mock

    from celery.beat import ScheduleEntry
    from django.db import connection

    from brokerage.beat import TenantBeatScheduler
    from brokerage.celery import app

    assert app.tasks["crm.tasks.task_reminders_send"].name == tasks.task_reminders_send.name
    # The entry for CELERY_BEAT_SCHEDULE, turned into what the tenant-aware beat runs.
    beat_entry = {"task": "crm.tasks.task_reminders_send", "schedule": 60.0}
    scheduler = TenantBeatScheduler.__new__(TenantBeatScheduler)
    [(name, spec)] = scheduler._tenant_aware_beat_schedule_to_dict({"crm-task-reminders": beat_entry}).items()
    entry = ScheduleEntry(name=name, app=app, **spec)
    schemas = []
    with mock.patch.object(
        TenantBeatScheduler,
        "apply_async",
        side_effect=lambda *a, **k: schemas.append(connection.schema_name) or mock.Mock(),
    ):
        scheduler.apply_entry(entry)
    assert sorted(schemas) == ["t_alpha", "t_beta"]


@pytest.mark.django_db
def test_a_reminder_about_a_client_the_assignee_no_longer_sees_names_no_client(
    in_alpha, people, django_capture_on_commit_callbacks
):
    _task(people, "Call back", 5)
    people.carla.sales_agent = people.sue  # reassigned: Sam no longer sees Carla
    people.carla.save(update_fields=["sales_agent"])

    with django_capture_on_commit_callbacks(execute=True):
        assert comms.task_reminders_send() == 1

    [message] = Notification.objects.filter(user=people.sam).values_list("message", flat=True)
    assert message.startswith("Due soon: Call back, due ") and "Carla" not in message
    [email] = mail.outbox
    assert "Carla" not in email.body and "Client:" not in email.body
