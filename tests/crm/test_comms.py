"""Notes, calls, @mentions, tasks and notifications: the services, with the personas of support_comms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from crm import comms
from crm.models import Note, Notification, Task, TimelineEvent
from crm.visibility import clients_visible_to
from tests.crm.support_comms import People, make_people
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alpha) -> People:
    return make_people(alpha)


def _notified(user) -> list[str]:
    return list(Notification.objects.filter(user=user).values_list("message", flat=True))


# --- Notes and @mentions ---------------------------------------------------------------------------


def test_mentions_by_first_name_and_by_email_notify_each_colleague_once(in_alpha, people):
    note = comms.note_add(
        actor=people.alice,
        client=people.carla,
        body="Carla asked about gold. @ann please check her KYC; cc @sam@alpha.test and @Ann again.",
    )

    assert set(note.mentions.all()) == {people.ann, people.sam}
    assert _notified(people.ann) == [
        "Alice Owner mentioned you in a note on Carla Diaz: Carla asked about gold. @ann please check her KYC; cc @sam@alpha.test and @Ann …"
    ]
    assert len(_notified(people.sam)) == 1
    assert Notification.objects.get(user=people.sam).url == f"/ops/crm/clients/{people.carla.pk}/#note-{note.pk}"
    assert _notified(people.alice) == [] and _notified(people.sue) == []
    line = TimelineEvent.objects.get(source=f"note:{note.pk}")
    assert (line.client_id, line.kind, line.actor_label) == (people.carla.pk, "note", "alice@alpha.test")
    # A short title and the text once, as the detail.
    assert line.title == "Note by Alice Owner"
    assert line.detail == note.body
    record = AuditRecord.objects.get(action="crm.note.added")
    assert record.after["mentions"] == ["ann@alpha.test", "sam@alpha.test"]


def test_mentioning_a_colleague_who_cannot_see_the_client_is_refused_and_nothing_is_saved(in_alpha, people):
    with pytest.raises(ApplicationError) as refused:
        comms.note_add(actor=people.sam, client=people.carla, body="@Sue can you call her in Spanish?")

    assert refused.value.fields == {"body": ["Sue Kim cannot see this client, so they cannot be mentioned here."]}
    assert not Note.objects.exists()
    assert not Notification.objects.exists()
    assert not TimelineEvent.objects.exists()


def test_a_desk_manager_can_be_mentioned_on_a_client_of_her_desk(in_alpha, people):
    comms.note_add(actor=people.sue, client=people.pedro, body="@Olga he wants a better spread")

    assert len(_notified(people.olga)) == 1
    with pytest.raises(ApplicationError):
        comms.note_add(actor=people.sam, client=people.carla, body="@Olga fyi")  # Carla is not on Olga's desk


def test_an_ambiguous_first_name_is_refused_with_the_addresses_to_use_instead(in_alpha, people):
    with pytest.raises(ApplicationError) as refused:
        comms.note_add(actor=people.alice, client=people.carla, body="@Tom please look")
    assert refused.value.fields["body"] == [
        "Several colleagues are called Tom: write one of @tom.one@alpha.test, @tom.two@alpha.test."
    ]

    comms.note_add(actor=people.alice, client=people.carla, body="@tom.two@alpha.test please look")
    assert len(_notified(people.tom_two)) == 1
    assert _notified(people.tom_one) == []


def test_unknown_and_inactive_colleagues_cannot_be_mentioned(in_alpha, people):
    with pytest.raises(ApplicationError) as refused:
        comms.note_add(actor=people.alice, client=people.carla, body="ask @Zed and @nobody@alpha.test")
    assert refused.value.fields["body"] == [
        "No active colleague is called @Zed: write their email (@name@domain) or drop the @.",
        "No active colleague has the address nobody@alpha.test.",
    ]
    people.ann.is_active = False
    people.ann.save(update_fields=["is_active"])
    with pytest.raises(ApplicationError):
        comms.note_add(actor=people.alice, client=people.carla, body="@Ann")
    assert not Note.objects.exists()


def test_email_addresses_in_the_text_and_self_mentions_notify_nobody(in_alpha, people):
    note = comms.note_add(
        actor=people.ann, client=people.carla, body="She wrote from carla@example.com and @ann (me) replied."
    )
    assert note.mentions.count() == 0
    assert not Notification.objects.exists()


def test_a_note_needs_a_body_and_a_call_needs_an_outcome(in_alpha, people):
    with pytest.raises(ApplicationError) as empty:
        comms.note_add(actor=people.sam, client=people.carla, body="   ")
    assert empty.value.fields == {"body": ["Write the note."]}
    with pytest.raises(ApplicationError) as no_outcome:
        comms.note_add(actor=people.sam, client=people.carla, body="", kind="call")
    assert no_outcome.value.fields == {"call_outcome": ["Choose how the call went."]}
    assert not Note.objects.exists()


def test_a_logged_call_is_on_the_timeline_with_direction_outcome_and_duration(in_alpha, people):
    call = comms.note_add(
        actor=people.sam,
        client=people.carla,
        body="",
        kind="call",
        call_direction="inbound",
        call_outcome="answered",
        call_duration_seconds=185,
    )
    line = TimelineEvent.objects.get(source=f"note:{call.pk}")
    assert (line.kind, line.title, line.detail) == ("call", "Call (inbound, answered, 3 min) by Sam Ray", "")
    talked = comms.note_add(
        actor=people.sam,
        client=people.carla,
        body="Wants to fund next week.",
        kind="call",
        call_outcome="no_answer",
    )
    line = TimelineEvent.objects.get(source=f"note:{talked.pk}")
    assert (line.title, line.detail) == ("Call (outbound, no answer) by Sam Ray", "Wants to fund next week.")
    assert AuditRecord.objects.filter(action="crm.call.added", actor_email="sam@alpha.test").count() == 2


def test_a_sales_agent_cannot_write_on_another_agents_client(in_alpha, people):
    with pytest.raises(PermissionDenied):
        comms.note_add(actor=people.sam, client=people.pedro, body="hello")
    with pytest.raises(PermissionDenied):
        comms.email_send(actor=people.sam, client=people.pedro, subject="Hi", body="Hello")
    assert not Note.objects.exists()


# --- Tasks -----------------------------------------------------------------------------------------


def _in(minutes: int):
    return timezone.now() + timedelta(minutes=minutes)


def test_a_sales_agent_cannot_create_a_task_on_a_client_they_cannot_see(in_alpha, people):
    with pytest.raises(PermissionDenied):
        comms.task_create(actor=people.sam, title="Call back", due_at=_in(60), assignee=people.sam, client=people.pedro)
    assert not Task.objects.exists()


def test_the_assignee_must_be_able_to_see_the_client(in_alpha, people):
    with pytest.raises(ApplicationError) as refused:
        comms.task_create(
            actor=people.alice, title="Call back", due_at=_in(60), assignee=people.sam, client=people.pedro
        )
    assert refused.value.fields == {"assignee": ["Sam Ray cannot see this client: assign someone who can."]}
    assert not Task.objects.exists() and not Notification.objects.exists()


def test_a_task_given_to_someone_else_notifies_them_and_lands_on_the_timeline(in_alpha, people):
    due = _in(120)
    task = comms.task_create(
        actor=people.alice, title="Call back about gold", due_at=due, assignee=people.sam, client=people.carla
    )
    mine = comms.task_create(
        actor=people.sam, title="Prepare offer", due_at=due, assignee=people.sam, client=people.carla
    )

    assert task.status == "open" and task.created_by == people.alice
    assert len(_notified(people.sam)) == 1  # not for the task Sam gave himself
    assert _notified(people.sam)[0].startswith(
        "Alice Owner gave you a task about Carla Diaz: Call back about gold (due "
    )
    assert TimelineEvent.objects.filter(source__in=[f"task:{task.pk}", f"task:{mine.pk}"], kind="task").count() == 2
    assert AuditRecord.objects.filter(action="crm.task.created").count() == 2


def test_a_task_due_in_the_past_or_without_a_title_is_refused(in_alpha, people):
    with pytest.raises(ApplicationError) as refused:
        comms.task_create(actor=people.alice, title=" ", due_at=_in(-60), assignee=people.ann)
    assert refused.value.fields == {"title": ["Say what needs doing."], "due_at": ["Pick a time that has not passed."]}


def test_complete_reopen_and_cancel_follow_the_allowed_transitions(in_alpha, people):
    task = comms.task_create(
        actor=people.alice, title="KYC chase", due_at=_in(30), assignee=people.sam, client=people.carla
    )
    Task.objects.filter(pk=task.pk).update(reminded_at=timezone.now())

    comms.task_complete(actor=people.sam, task=task)
    task.refresh_from_db()
    assert task.status == "done" and task.completed_at is not None
    with pytest.raises(ApplicationError, match="done already"):
        comms.task_complete(actor=people.sam, task=task)
    assert any(m == "Sam Ray completed the task: KYC chase" for m in _notified(people.alice))

    comms.task_reopen(actor=people.sam, task=task)
    task.refresh_from_db()
    assert (task.status, task.completed_at, task.reminded_at) == ("open", None, None)

    comms.task_cancel(actor=people.alice, task=task)
    task.refresh_from_db()
    assert task.status == "cancelled"
    actions = list(AuditRecord.objects.filter(object_id=str(task.pk)).order_by("id").values_list("action", flat=True))
    assert actions == ["crm.task.created", "crm.task.completed", "crm.task.reopened", "crm.task.cancelled"]


def test_only_the_assignee_the_creator_or_a_manager_works_a_task(in_alpha, people):
    task = comms.task_create(actor=people.sam, title="Offer", due_at=_in(30), assignee=people.sam, client=people.carla)
    with pytest.raises(PermissionDenied):
        comms.task_complete(actor=people.sue, task=task)
    comms.task_complete(actor=people.ann, task=task)  # back office holds crm_manage
    task.refresh_from_db()
    assert task.status == "done"


# --- Notifications ---------------------------------------------------------------------------------


def test_unread_count_is_capped_and_mark_all_read_clears_it(in_alpha, people):
    Notification.objects.bulk_create([Notification(user=people.ann, message=f"n{i}") for i in range(105)])
    Notification.objects.create(user=people.sam, message="not Ann's")
    assert comms.unread_count(people.ann) == 100
    assert comms.notifications_read_all(user=people.ann) == 105
    assert comms.unread_count(people.ann) == 0
    assert comms.unread_count(people.sam) == 1


def test_nobody_marks_another_persons_notification_read(in_alpha, people):
    other = Notification.objects.create(user=people.sam, message="Sam's")
    with pytest.raises(Notification.DoesNotExist):
        comms.notification_read(user=people.ann, notification_id=other.pk)
    other.refresh_from_db()
    assert other.read_at is None


def test_assignee_choices_are_the_colleagues_who_see_the_client(in_alpha, people):
    def emails(client):
        return sorted(u.email for u in comms.colleagues_seeing(client))

    everyone_but_sales = ["alice@alpha.test", "ann@alpha.test", "tom.one@alpha.test", "tom.two@alpha.test"]
    assert emails(people.carla) == sorted([*everyone_but_sales, "sam@alpha.test"])
    assert emails(people.pedro) == sorted([*everyone_but_sales, "olga@alpha.test", "sue@alpha.test"])
    for client in (people.carla, people.pedro):  # the same answer as the one visibility rule, person by person
        assert emails(client) == sorted(
            u.email for u in comms.active_staff() if clients_visible_to(u).filter(pk=client.pk).exists()
        )


# --- Email templates list --------------------------------------------------------------------------


def test_the_templates_list_shows_the_status_as_a_word_people_read(alpha, people):
    with tenant_context(alpha):
        comms.email_template_save(actor=people.alice, name="Welcome", language="en", subject="Hi", body="Hello")
        comms.email_template_save(
            actor=people.alice, name="Old offer", language="en", subject="Hi", body="Hello", is_active=False
        )
    page = tenant_web_client(alpha, people.ann).get("/ops/crm/email-templates/").content.decode()
    assert '<span class="badge ok">Active</span>' in page and '<span class="badge">Inactive</span>' in page
    assert ">active<" not in page and ">inactive<" not in page
