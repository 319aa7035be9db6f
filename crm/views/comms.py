"""Pages of the communication log: forms on the client 360 page, my tasks, templates, notifications."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from brokerage.errors import ApplicationError
from brokerage.permissions import capability_required
from brokerage.roles import perm
from crm import comms, emails
from crm.comms_forms import CallForm, EmailForm, EmailTemplateForm, NoteForm, TaskForm
from crm.links import client_url, person_label
from crm.models import EmailTemplate, Note, Notification, Task
from crm.visibility import can_change, client_visible_or_404

# --- On the client 360 page ------------------------------------------------------------------------


def _changeable_client(request, client_id):
    client = client_visible_or_404(request.user, client_id)
    if not can_change(request.user, client):
        raise PermissionDenied
    return client


def _done(request, client, message: str):
    """Back to the 360 page: htmx follows HX-Redirect, a plain form post a 303."""
    messages.success(request, message)
    url = client_url(client)
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _again(request, client, active: str, form):
    """The panel again with the form's errors (in place for htmx, else on a page of its own)."""
    context = {"client": client, "bound": {active: form, "active": active}, "client_url": client_url(client)}
    if request.htmx:
        return render(request, "crm/comms/_client_comms.html", context)
    return render(request, "crm/comms/client_form.html", context, status=400)


@capability_required("crm_change_client")
@require_POST
def note_add(request, client_id):
    client = _changeable_client(request, client_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            comms.note_add(actor=request.user, client=client, body=form.cleaned_data["body"])
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            return _done(request, client, "Note added.")
    return _again(request, client, "note", form)


@capability_required("crm_change_client")
@require_POST
def call_add(request, client_id):
    client = _changeable_client(request, client_id)
    form = CallForm(request.POST)
    if form.is_valid():
        try:
            comms.note_add(
                actor=request.user,
                client=client,
                body=form.cleaned_data["body"],
                kind=Note.Kind.CALL,
                call_direction=form.cleaned_data["call_direction"],
                call_outcome=form.cleaned_data["call_outcome"],
                call_duration_seconds=form.duration_seconds(),
            )
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            return _done(request, client, "Call logged.")
    return _again(request, client, "call", form)


@capability_required("crm_change_client")
@require_POST
def email_send(request, client_id):
    client = _changeable_client(request, client_id)
    form = EmailForm(request.POST, template_names=comms.email_template_names())
    if form.is_valid():
        data = form.cleaned_data
        try:
            email = comms.email_send(
                actor=request.user,
                client=client,
                template=data["template"] or None,
                subject=data["subject"],
                body=data["body"],
            )
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            return _done(request, client, f"Email “{email.subject}” queued to {email.to_address}.")
    return _again(request, client, "email", form)


@capability_required("crm_change_client")
@require_GET
def email_preview(request, client_id):
    """What the client would receive with the picked template (or the typed text), as plain text."""
    client = _changeable_client(request, client_id)
    context = {"client": client}
    try:
        used, subject, body = comms.email_compose(
            client=client,
            template=request.GET.get("template") or None,
            subject=request.GET.get("subject", ""),
            body=request.GET.get("body", ""),
        )
        context.update(used=used, subject=subject, body=body)
    except ApplicationError as error:
        context["problems"] = [m for messages_ in error.fields.values() for m in messages_] or [error.message]
    return render(request, "crm/comms/_email_preview.html", context)


@capability_required("crm_change_client")
@require_POST
def task_add(request, client_id):
    client = _changeable_client(request, client_id)
    form = TaskForm(request.POST, assignees=comms.active_staff())
    if form.is_valid():
        data = form.cleaned_data
        try:
            comms.task_create(
                actor=request.user,
                title=data["title"],
                due_at=data["due_at"],
                assignee=data["assignee"],
                client=client,
                description=data["description"],
            )
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            return _done(request, client, f"Task given to {person_label(data['assignee'])}.")
    form.fields["assignee"].queryset = comms.colleagues_seeing(client)
    return _again(request, client, "task", form)


# --- My tasks --------------------------------------------------------------------------------------

SECTION_LIMIT = 50


@capability_required("crm_change_client")
def task_list(request):
    user = request.user
    is_manager = user.has_perm(perm("crm_manage"))
    tasks = comms.tasks_visible_to(user)
    who = request.GET.get("assignee", "")
    if is_manager and who == "all":
        chosen = None
    elif is_manager and who.isdigit():
        chosen = get_object_or_404(comms.active_staff(), pk=int(who))
        tasks = tasks.filter(assignee=chosen)
    else:
        who, chosen = str(user.pk), user
        tasks = tasks.filter(assignee=user)
    now = timezone.now()
    end_of_today = timezone.make_aware(datetime.combine(timezone.localdate(now) + timedelta(days=1), time.min))
    open_tasks = tasks.filter(status=Task.Status.OPEN)
    context = {
        "sections": [
            ("overdue", "Overdue", open_tasks.filter(due_at__lt=now).order_by("due_at")[:SECTION_LIMIT]),
            ("today", "Due today", open_tasks.filter(due_at__gte=now, due_at__lt=end_of_today)[:SECTION_LIMIT]),
            ("upcoming", "Upcoming", open_tasks.filter(due_at__gte=end_of_today)[:SECTION_LIMIT]),
            (
                "done",
                "Recently done",
                tasks.filter(status=Task.Status.DONE).order_by("-completed_at", "-id")[:20],
            ),
        ],
        "is_manager": is_manager,
        "who": who,
        "chosen": chosen,
        "staff": comms.active_staff().order_by("first_name", "last_name", "email") if is_manager else [],
        "new_form": TaskForm(assignees=comms.colleagues_seeing(None), initial={"assignee": user.pk}),
    }
    return render(request, "crm/comms/tasks.html", context)


@capability_required("crm_change_client")
@require_POST
def task_new(request):
    """A task about no client in particular (a call back, a report to prepare)."""
    form = TaskForm(request.POST, assignees=comms.active_staff())
    if form.is_valid():
        data = form.cleaned_data
        try:
            comms.task_create(
                actor=request.user,
                title=data["title"],
                due_at=data["due_at"],
                assignee=data["assignee"],
                description=data["description"],
            )
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, "Task created.")
            return redirect("ops:crm_tasks")
    for field, errors in form.errors.items():
        for error in errors:
            messages.error(request, f"{form.fields[field].label}: {error}" if field in form.fields else error)
    return redirect("ops:crm_tasks")


def _task_action(service, done_message: str):
    @capability_required("crm_change_client")
    @require_POST
    def view(request, task_id):
        task = get_object_or_404(comms.tasks_visible_to(request.user), pk=task_id)
        try:
            service(actor=request.user, task=task)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{done_message}: {task.title}")
        next_url = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = ""
        return redirect(next_url or "ops:crm_tasks")

    return view


task_complete = _task_action(comms.task_complete, "Done")
task_reopen = _task_action(comms.task_reopen, "Reopened")
task_cancel = _task_action(comms.task_cancel, "Cancelled")


# --- Email templates -------------------------------------------------------------------------------


@capability_required("crm_manage")
def email_template_list(request):
    templates = EmailTemplate.objects.order_by("name", "language")
    return render(request, "crm/comms/email_templates.html", {"templates": templates})


@capability_required("crm_manage")
def email_template_edit(request, template_id=None):
    template = get_object_or_404(EmailTemplate, pk=template_id) if template_id else None
    form = EmailTemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        try:
            saved = comms.email_template_save(actor=request.user, template=template, **form.cleaned_data)
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            messages.success(request, f"Template “{saved}” saved.")
            return redirect("ops:crm_email_templates")
    context = {"form": form, "template": template, "placeholders": emails.PLACEHOLDERS}
    context.update(_template_check(form["subject"].value() or "", form["body"].value() or ""))
    return render(request, "crm/comms/email_template_form.html", context, status=400 if form.errors else 200)


def _template_check(subject: str, body: str) -> dict:
    problems = emails.template_errors(subject) + emails.template_errors(body)
    if problems:
        return {"problems": problems}
    values = emails.sample_values()
    return {"preview_subject": emails.render(subject, values), "preview_body": emails.render(body, values)}


@capability_required("crm_manage")
@require_POST
def email_template_check(request):
    """The live placeholder check beside the template form (htmx)."""
    context = _template_check(request.POST.get("subject", ""), request.POST.get("body", ""))
    return render(request, "crm/comms/_template_check.html", context)


@capability_required("crm_manage")
@require_POST
def email_template_delete(request, template_id):
    template = get_object_or_404(EmailTemplate, pk=template_id)
    name = str(template)
    comms.email_template_delete(actor=request.user, template=template)
    messages.success(request, f"Template “{name}” deleted.")
    return redirect("ops:crm_email_templates")


# --- Notifications ---------------------------------------------------------------------------------


@capability_required("ops_access")
def notification_list(request):
    notifications = Notification.objects.filter(user=request.user).order_by("-created_at", "-id")
    page = Paginator(notifications, 30).get_page(request.GET.get("page"))
    return render(request, "crm/comms/notifications.html", {"page": page, "unread": comms.unread_count(request.user)})


@capability_required("ops_access")
@require_POST
def notification_open(request, notification_id):
    """Mark one read; "open" follows its link, "read" stays on the list."""
    try:
        notification = comms.notification_read(user=request.user, notification_id=notification_id)
    except Notification.DoesNotExist:
        return redirect("ops:crm_notifications")
    url = notification.url
    if request.POST.get("open") and url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return redirect(url)
    return redirect("ops:crm_notifications")


@capability_required("ops_access")
@require_POST
def notifications_read_all(request):
    count = comms.notifications_read_all(user=request.user)
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked read.")
    return redirect("ops:crm_notifications")


@capability_required("ops_access")
@require_GET
def bell(request):
    """The bell alone, for htmx to refresh it now and then."""
    return render(request, "crm/_bell.html")
