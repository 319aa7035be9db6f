"""The communication log: notes, calls, emails, tasks, @mentions and the staff bell.

Mentions: `@` then a colleague's email (`@ann@atlas.test`) or their first name when exactly one
active staff member has it (`@Ann`, any case). A mention is refused, with a message saying why,
when it names nobody, names several people, or names someone who cannot see the client: the note
is not saved, so the author can fix it, and no colleague learns of a client they may not see.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.models import User
from brokerage.roles import STAFF_ROLES, perm
from brokerage.staff import tenant_url
from crm import emails
from crm.links import client_url, person_label
from crm.models import Client, Email, EmailTemplate, Note, Notification, Task
from crm.timeline import timeline_record
from crm.visibility import can_change, clients_visible_to, users_seeing_ids, visibility_filter

logger = logging.getLogger(__name__)

REMINDER_LEAD = timedelta(minutes=15)
TASK_TRANSITIONS = {
    Task.Status.OPEN: {Task.Status.DONE, Task.Status.CANCELLED},
    Task.Status.DONE: {Task.Status.OPEN},
    Task.Status.CANCELLED: {Task.Status.OPEN},
}
_MENTION = re.compile(
    r"(?<![\w.@+-])@(?:(?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)|(?P<name>[^\W\d_]+(?:-[^\W\d_]+)*))"
)


# --- Helpers ---------------------------------------------------------------------------------------


def active_staff() -> QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name__in=STAFF_ROLES).distinct()


def _sees(user: User, client: Client) -> bool:
    return clients_visible_to(user).filter(pk=client.pk).exists()


def colleagues_seeing(client: Client | None) -> QuerySet[User]:
    """Active staff who may see `client` (all active staff without one): the assignee choices.

    The rule is crm.visibility's, asked once for everyone (`users_seeing`): one statement in all.
    """
    staff = active_staff().order_by("first_name", "last_name", "email")
    if client is None:
        return staff
    return staff.filter(pk__in=users_seeing_ids(client))


def _require_change(actor: User, client: Client) -> None:
    if not can_change(actor, client):
        raise PermissionDenied("You cannot change this client.")


def notify(user: User, message: str, url: str = "") -> Notification | None:
    """One line in a colleague's bell; nothing for someone who is no longer active."""
    if not user.is_active:
        return None
    return Notification.objects.create(user=user, message=message[:300], url=url[:300])


def _excerpt(text: str, length: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


# --- Notes, calls and @mentions --------------------------------------------------------------------


def mentions_parse(body: str, *, client: Client, author: User) -> list[User]:
    """The colleagues `body` mentions; ApplicationError (on "body") for any mention we cannot honour."""
    found: dict[int, User] = {}
    problems: list[str] = []
    staff = active_staff()
    for match in _MENTION.finditer(body):
        if match.group("email"):
            people = list(staff.filter(email__iexact=match.group("email")))
            if not people:
                problems.append(f"No active colleague has the address {match.group('email')}.")
                continue
        else:
            name = match.group("name")
            people = list(staff.filter(first_name__iexact=name))
            if not people:
                problems.append(
                    f"No active colleague is called @{name}: write their email (@name@domain) or drop the @."
                )
                continue
            if len(people) > 1:
                emails_ = ", ".join(f"@{p.email}" for p in people)
                problems.append(f"Several colleagues are called {name}: write one of {emails_}.")
                continue
        person = people[0]
        if person.pk == author.pk or person.pk in found:
            continue
        if not _sees(person, client):
            problems.append(f"{person_label(person)} cannot see this client, so they cannot be mentioned here.")
            continue
        found[person.pk] = person
    if problems:
        raise ApplicationError("Some mentions could not be sent.", fields={"body": problems})
    return list(found.values())


@transaction.atomic
def note_add(
    *,
    actor: User,
    client: Client,
    body: str,
    kind: str = Note.Kind.NOTE,
    call_direction: str = "",
    call_outcome: str = "",
    call_duration_seconds: int | None = None,
) -> Note:
    _require_change(actor, client)
    body = (body or "").strip()
    fields: dict[str, list[str]] = {}
    if kind not in Note.Kind.values:
        raise ApplicationError("Choose a note or a call.", fields={"kind": ["Unknown kind."]})
    if kind == Note.Kind.CALL:
        call_direction = call_direction or Note.Direction.OUTBOUND
        if call_direction not in Note.Direction.values:
            fields["call_direction"] = ["Choose inbound or outbound."]
        if call_outcome not in Note.Outcome.values:
            fields["call_outcome"] = ["Choose how the call went."]
        if call_duration_seconds is not None and call_duration_seconds < 0:
            fields["call_duration_seconds"] = ["A duration cannot be negative."]
    else:
        call_direction, call_outcome, call_duration_seconds = "", "", None
        if not body:
            fields["body"] = ["Write the note."]
    if fields:
        raise ApplicationError("The note is not complete.", fields=fields)
    mentioned = mentions_parse(body, client=client, author=actor)

    note = Note.objects.create(
        client=client,
        author=actor,
        kind=kind,
        body=body,
        call_direction=call_direction,
        call_outcome=call_outcome,
        call_duration_seconds=call_duration_seconds,
    )
    note.mentions.set(mentioned)
    audit_log(
        actor=actor,
        action=f"crm.{kind}.added",
        obj=note,
        after={
            "client_id": client.pk,
            "body": body,
            "call_direction": call_direction,
            "call_outcome": call_outcome,
            "call_duration_seconds": call_duration_seconds,
            "mentions": [u.email for u in mentioned],
        },
    )
    url = f"{client_url(client)}#note-{note.pk}"
    timeline_record(
        client_id=client.pk,
        kind=kind,
        topic=f"crm.{kind}.added",
        # A short title ("Note by Ann Smith", "Call (outbound, answered, 3 min) by Ann Smith"): the body is the detail.
        title=(
            f"Note by {person_label(actor)}"
            if kind == Note.Kind.NOTE
            else "Call ({}) by {}".format(
                ", ".join(
                    filter(
                        None,
                        [
                            note.get_call_direction_display().lower(),
                            note.get_call_outcome_display().lower(),
                            (
                                f"{max(1, round(call_duration_seconds / 60))} min"
                                if call_duration_seconds and call_duration_seconds >= 30
                                else (f"{call_duration_seconds} s" if call_duration_seconds else "")
                            ),
                        ],
                    )
                ),
                person_label(actor),
            )
        ),
        detail=body,
        url=url,
        actor=actor,
        source=f"note:{note.pk}",
    )
    what = "a call note" if kind == Note.Kind.CALL else "a note"
    for person in mentioned:
        notify(person, f"{person_label(actor)} mentioned you in {what} on {client}: {_excerpt(body)}", url=url)
    return note


# --- Email templates -------------------------------------------------------------------------------


@transaction.atomic
def email_template_save(
    *,
    actor: User,
    template: EmailTemplate | None = None,
    name: str,
    language: str,
    subject: str,
    body: str,
    is_active: bool = True,
) -> EmailTemplate:
    """Create (template=None) or change a template; placeholders are checked here, once, for good."""
    if not actor.has_perm(perm("crm_manage")):
        raise PermissionDenied("Managing email templates needs the CRM manager capability.")
    name, subject, body = name.strip(), subject.strip(), body.strip()
    fields = {}
    if not name:
        fields["name"] = ["Give the template a name."]
    if language not in dict(EmailTemplate._meta.get_field("language").choices):
        fields["language"] = ["Choose a language."]
    if not subject:
        fields["subject"] = ["Write a subject."]
    if not body:
        fields["body"] = ["Write the email."]
    if fields:
        raise ApplicationError("The template is not complete.", fields=fields)
    emails.template_check(subject=subject, body=body)
    clash = EmailTemplate.objects.filter(name__iexact=name, language=language)
    if template is not None:
        clash = clash.exclude(pk=template.pk)
    if clash.exists():
        raise ApplicationError(
            "A template with this name and language exists.", fields={"name": ["Pick another name or language."]}
        )
    before = None
    if template is None:
        template = EmailTemplate()
    else:
        template = EmailTemplate.objects.select_for_update().get(pk=template.pk)
        before = _template_snapshot(template)
    template.name, template.language, template.subject, template.body = name, language, subject, body
    template.is_active = is_active
    template.save()
    action = "crm.email_template.created" if before is None else "crm.email_template.changed"
    audit_log(actor=actor, action=action, obj=template, before=before, after=_template_snapshot(template))
    return template


@transaction.atomic
def email_template_delete(*, actor: User, template: EmailTemplate) -> None:
    if not actor.has_perm(perm("crm_manage")):
        raise PermissionDenied("Managing email templates needs the CRM manager capability.")
    audit_log(actor=actor, action="crm.email_template.deleted", obj=template, before=_template_snapshot(template))
    template.delete()


def _template_snapshot(template: EmailTemplate) -> dict:
    return {
        "name": template.name,
        "language": template.language,
        "subject": template.subject,
        "body": template.body,
        "is_active": template.is_active,
    }


def email_template_for(template: EmailTemplate | str, language: str) -> EmailTemplate:
    """The version of a template (by name) in `language`, else in English, else the one given."""
    name = template if isinstance(template, str) else template.name
    versions = {t.language: t for t in EmailTemplate.objects.filter(name=name, is_active=True)}
    chosen = versions.get(language) or versions.get("en")
    if chosen is None and isinstance(template, EmailTemplate) and template.is_active:
        chosen = template
    if chosen is None:
        raise ApplicationError(
            f"No active template called {name!r} in this language or in English.",
            fields={"template": ["Pick another."]},
        )
    return chosen


def email_template_names() -> list[str]:
    return list(EmailTemplate.objects.filter(is_active=True).order_by("name").values_list("name", flat=True).distinct())


def email_compose(*, client: Client, template: EmailTemplate | str | None = None, subject: str = "", body: str = ""):
    """(template used or None, subject, body) rendered for `client`: what the client would receive."""
    used = None
    if template:
        fits = isinstance(template, EmailTemplate) and template.is_active and template.language == client.language
        used = template if fits else email_template_for(template, client.language)
        subject, body = used.subject, used.body
    subject, body = subject.strip(), body.strip()
    fields = {}
    if not subject:
        fields["subject"] = ["Write a subject or pick a template."]
    if not body:
        fields["body"] = ["Write the email or pick a template."]
    if fields:
        raise ApplicationError("The email is not complete.", fields=fields)
    emails.template_check(subject=subject, body=body)
    values = emails.client_values(client)
    # A subject is one line: a placeholder value must not smuggle in a header break.
    rendered_subject = " ".join(emails.render(subject, values).split())[:200]
    return used, rendered_subject, emails.render(body, values)


# --- Emails ----------------------------------------------------------------------------------------


@transaction.atomic
def email_send(
    *, actor: User, client: Client, template: EmailTemplate | str | None = None, subject: str = "", body: str = ""
) -> Email:
    """Queue an email to the client; a Celery task sends it once this transaction commits."""
    _require_change(actor, client)
    if not client.email:
        raise ApplicationError(
            f"{client} has no email address: add one to the profile first.", fields={"to": ["No address."]}
        )
    return _email_queue(actor=actor, client=client, template=template, subject=subject, body=body)


def email_send_system(*, client: Client, subject: str, body: str) -> Email | None:
    """Queue an email the product itself sends the client (a KYC decision, a document request);
    nothing when the client has no address."""
    if not client.email:
        return None
    return _email_queue(actor=None, client=client, template=None, subject=subject, body=body)


def _email_queue(*, actor, client, template, subject, body) -> Email:
    used, subject, body = email_compose(client=client, template=template, subject=subject, body=body)
    email = Email.objects.create(
        client=client, template=used, to_address=client.email, subject=subject, body=body, sent_by=actor
    )
    audit_log(
        actor=actor,
        action="crm.email.queued",
        obj=email,
        after={"client_id": client.pk, "to": email.to_address, "subject": subject, "template": str(used or "")},
    )
    timeline_record(
        client_id=client.pk,
        kind="email",
        topic="crm.email.queued",
        title=f"Email: {subject}",
        detail=body,
        url=f"{client_url(client)}#email-{email.pk}",
        actor=actor,
        source=f"email:{email.pk}",
    )
    from crm.tasks import email_deliver

    transaction.on_commit(lambda: _enqueue(email_deliver, email.pk))
    return email


def _enqueue(task, object_id: int) -> None:
    """Hand a task to the broker; when it is down, the queued row waits for `emails_queued_sweep`."""
    try:
        task.delay(object_id)
    except Exception:  # kombu raises several kinds; nothing is lost, the row says what is left to do
        logger.exception("could not enqueue %s(%s)", task.name, object_id)


def emails_queued_sweep(*, older_than: timedelta = timedelta(minutes=2), limit: int = 500) -> int:
    """Send emails still queued a while after they were written (a broker outage, a lost task)."""
    stale = Email.objects.filter(status=Email.Status.QUEUED, created_at__lt=timezone.now() - older_than)
    ids = list(stale.order_by("pk").values_list("pk", flat=True)[:limit])
    for email_id in ids:
        email_deliver_now(email_id)
    return len(ids)


@transaction.atomic
def email_send_bulk(*, actor: User, client_ids, template: EmailTemplate | str) -> int:
    """One templated email to each visible client that has an address; the number queued.

    Skipped: clients without an address, clients `actor` may not see, and clients whose language the
    template has no version in when it has no English version either.
    """
    if not actor.has_perm(perm("crm_change_client")):
        raise PermissionDenied("Sending emails needs the capability to change clients.")
    name = template if isinstance(template, str) else template.name
    if not EmailTemplate.objects.filter(name=name, is_active=True).exists():
        raise ApplicationError(f"No active template called {name!r}.", fields={"template": ["Pick another."]})
    versions: dict[str, EmailTemplate | None] = {}
    clients = clients_visible_to(actor, Client.objects.filter(pk__in=list(client_ids)).exclude(email="")).order_by("pk")
    count = 0
    for client in clients.iterator(chunk_size=500):
        if client.language not in versions:
            try:
                versions[client.language] = email_template_for(name, client.language)
            except ApplicationError:  # neither their language nor English: skipped, like a missing address
                versions[client.language] = None
        if versions[client.language] is None:
            continue
        _email_queue(actor=actor, client=client, template=versions[client.language], subject="", body="")
        count += 1
    return count


def email_deliver_now(email_id: int) -> str:
    """Send one queued email through Django's backend from the tenant's sender; its final status.

    Idempotent: an email already sent or failed is left alone (a redelivered task sends nothing).
    """
    with transaction.atomic():
        email = (
            Email.objects.select_for_update(of=("self",))
            .filter(pk=email_id)
            .select_related("sent_by", "client")
            .first()
        )
        if email is None or email.status != Email.Status.QUEUED:
            return email.status if email else "missing"
        message = EmailMessage(
            subject=email.subject,
            body=email.body,
            from_email=emails.tenant_sender(),
            to=[email.to_address],
            reply_to=emails.tenant_reply_to(),
        )
        try:
            message.send()
        except Exception as error:  # noqa: BLE001 - any backend failure is the email's outcome, kept for staff
            email.status, email.error = Email.Status.FAILED, f"{type(error).__name__}: {error}"[:300]
            logger.warning("email %s to %s failed: %s", email.pk, email.to_address, email.error)
        else:
            email.status, email.sent_at = Email.Status.SENT, timezone.now()
        email.save(update_fields=["status", "error", "sent_at"])
        if email.status == Email.Status.FAILED and email.sent_by:
            notify(
                email.sent_by,
                f"Email to {email.client} failed: {email.error}",
                url=f"{client_url(email.client_id)}#email-{email.pk}",
            )
        return email.status


# --- Tasks -----------------------------------------------------------------------------------------


def _tasks_url() -> str:
    return reverse("ops:crm_tasks")


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


@transaction.atomic
def task_create(
    *,
    actor: User,
    title: str,
    due_at: datetime | None,
    assignee: User | None,
    client: Client | None = None,
    description: str = "",
) -> Task:
    if not actor.has_perm(perm("crm_change_client")):
        raise PermissionDenied("Working tasks needs the capability to change clients.")
    if client is not None:
        _require_change(actor, client)
    title, description = (title or "").strip(), (description or "").strip()
    fields: dict[str, list[str]] = {}
    if not title:
        fields["title"] = ["Say what needs doing."]
    if due_at is None:
        fields["due_at"] = ["Pick when it is due."]
    elif timezone.is_naive(due_at):
        raise ValueError("due_at must be timezone-aware")
    elif due_at < timezone.now() - timedelta(minutes=5):
        fields["due_at"] = ["Pick a time that has not passed."]
    if assignee is None:
        fields["assignee"] = ["Choose who does it."]
    elif not active_staff().filter(pk=assignee.pk).exists():
        fields["assignee"] = ["No such colleague."]
    elif client is not None and not _sees(assignee, client):
        fields["assignee"] = [f"{person_label(assignee)} cannot see this client: assign someone who can."]
    if fields:
        raise ApplicationError("The task is not complete.", fields=fields)

    task = Task.objects.create(
        client=client, title=title, description=description, due_at=due_at, assignee=assignee, created_by=actor
    )
    audit_log(actor=actor, action="crm.task.created", obj=task, after=_task_snapshot(task))
    if client is not None:
        timeline_record(
            client_id=client.pk,
            kind="task",
            topic="crm.task.created",
            title=f"Task for {person_label(assignee)}: {title} (due {_when(due_at)})",
            detail=description,
            url=_tasks_url(),
            actor=actor,
            source=f"task:{task.pk}",
        )
    if assignee.pk != actor.pk:
        about = f" about {client}" if client else ""
        notify(
            assignee, f"{person_label(actor)} gave you a task{about}: {title} (due {_when(due_at)})", url=_tasks_url()
        )
    return task


def _task_snapshot(task: Task) -> dict:
    return {
        "title": task.title,
        "client_id": task.client_id,
        "assignee": task.assignee.email,
        "due_at": task.due_at,
        "status": task.status,
    }


def task_may_work(user: User, task: Task) -> bool:
    """The assignee, the creator and CRM managers work a task; one about a client needs sight of it."""
    if not user.has_perm(perm("crm_change_client")):
        return False
    if user.pk not in (task.assignee_id, task.created_by_id) and not user.has_perm(perm("crm_manage")):
        return False
    return task.client_id is None or clients_visible_to(user).filter(pk=task.client_id).exists()


def tasks_visible_to(user: User) -> QuerySet[Task]:
    """Tasks `user` may list: their own (assigned or made), anyone's with crm_manage; and of those
    about a client, only the ones whose client `user` still sees (a reassigned client drops out)."""
    tasks = Task.objects.select_related("client", "assignee")
    if not user.has_perm(perm("crm_manage")):
        tasks = tasks.filter(Q(assignee=user) | Q(created_by=user))
    if visibility_filter(user) is not None:
        tasks = tasks.filter(Q(client=None) | Q(client__in=clients_visible_to(user).values("pk")))
    return tasks


def _client_for(task: Task) -> Client | None:
    """The task's client as its assignee may name it: None when they no longer see the client."""
    if task.client_id is None or not _sees(task.assignee, task.client):
        return None
    return task.client


def _task_move(*, actor: User, task: Task, to: str, verb: str) -> Task:
    if not task_may_work(actor, task):
        raise PermissionDenied("You cannot change this task.")
    sources = [s for s, targets in TASK_TRANSITIONS.items() if to in targets]
    now = timezone.now()
    changes = {"status": to, "completed_at": now if to == Task.Status.DONE else None}
    if to == Task.Status.OPEN:
        changes["reminded_at"] = None  # reopened: remind again when it falls due
    moved = Task.objects.filter(pk=task.pk, status__in=sources).update(**changes)
    if not moved:
        current = Task.objects.get(pk=task.pk)
        raise ApplicationError(f"This task is {current.get_status_display().lower()} already; it cannot be {verb}.")
    before = {"status": task.status}
    task.refresh_from_db()
    record = audit_log(actor=actor, action=f"crm.task.{verb}", obj=task, before=before, after={"status": to})
    if task.client_id:
        timeline_record(
            client_id=task.client_id,
            kind="task",
            topic=f"crm.task.{verb}",
            title=f"Task {verb}: {task.title}",
            url=_tasks_url(),
            actor=actor,
            source=f"task:{task.pk}:{verb}:{record.pk}",
        )
    for person in {task.created_by, task.assignee} - {actor}:
        notify(person, f"{person_label(actor)} {verb} the task: {task.title}", url=_tasks_url())
    return task


@transaction.atomic
def task_complete(*, actor: User, task: Task) -> Task:
    return _task_move(actor=actor, task=task, to=Task.Status.DONE, verb="completed")


@transaction.atomic
def task_reopen(*, actor: User, task: Task) -> Task:
    return _task_move(actor=actor, task=task, to=Task.Status.OPEN, verb="reopened")


@transaction.atomic
def task_cancel(*, actor: User, task: Task) -> Task:
    return _task_move(actor=actor, task=task, to=Task.Status.CANCELLED, verb="cancelled")


# --- Reminders -------------------------------------------------------------------------------------


def task_reminders_send(*, now: datetime | None = None, limit: int = 500) -> int:
    """Remind assignees of open tasks due within REMINDER_LEAD or overdue, once each; how many."""
    now = now or timezone.now()
    due = Task.objects.filter(status=Task.Status.OPEN, reminded_at=None, due_at__lte=now + REMINDER_LEAD)
    sent = 0
    for task_id in due.order_by("due_at", "pk").values_list("pk", flat=True)[:limit]:
        sent += _task_remind(task_id, now)
    return sent


@transaction.atomic
def _task_remind(task_id: int, now: datetime) -> bool:
    # Compare-and-swap: of two runs racing for the same task, the second updates no row.
    if not Task.objects.filter(pk=task_id, status=Task.Status.OPEN, reminded_at=None).update(reminded_at=now):
        return False
    task = Task.objects.select_related("assignee", "client").get(pk=task_id)
    overdue = task.due_at <= now
    lead = "Overdue" if overdue else "Due soon"
    client = _client_for(task)
    about = f" ({client})" if client else ""
    notify(task.assignee, f"{lead}: {task.title}{about}, due {_when(task.due_at)}", url=_tasks_url())
    if task.assignee.is_active and task.assignee.email:
        from crm.tasks import task_reminder_email

        transaction.on_commit(lambda: _enqueue(task_reminder_email, task_id))
    return True


def task_reminder_email_now(task_id: int) -> None:
    task = Task.objects.select_related("assignee", "client").filter(pk=task_id).first()
    if task is None or task.status != Task.Status.OPEN:
        return
    link = tenant_url(_tasks_url(), tenant=connection.tenant)
    client = _client_for(task)
    about = f"\nClient: {client}\n" if client else "\n"
    body = (
        f"Hello {task.assignee.first_name or task.assignee.email},\n\n"
        f"Your task is due {_when(task.due_at)}:\n\n    {task.title}\n{about}\n"
        f"{task.description + chr(10) + chr(10) if task.description else ''}"
        f"Your tasks: {link}\n"
    )
    EmailMessage(
        subject=f"Task due: {_excerpt(task.title, 150)}",
        body=body,
        from_email=emails.tenant_sender(),
        to=[task.assignee.email],
    ).send()


# --- Notifications ---------------------------------------------------------------------------------


def notification_read(*, user: User, notification_id: int) -> Notification:
    notification = Notification.objects.get(pk=notification_id, user=user)
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at=None).update(read_at=timezone.now())
        notification.refresh_from_db()
    return notification


def notifications_read_all(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at=None).update(read_at=timezone.now())


def unread_count(user: User, cap: int = 100) -> int:
    """Unread notifications, counted up to `cap` (the bell shows "99+"): one index-only query."""
    return Notification.objects.filter(user=user, read_at=None).order_by().values("pk")[:cap].count()
