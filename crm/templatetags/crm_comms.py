"""The communication panel on the client 360 page and the bell in the ops toolbar."""

from __future__ import annotations

from django import template

from brokerage.roles import perm
from crm import comms
from crm.client_forms import lighten
from crm.comms_forms import CallForm, EmailForm, NoteForm, TaskForm
from crm.models import Task
from crm.visibility import can_change

register = template.Library()


@register.simple_tag
def client_comms(client, user, bound=None, may_change=None):
    """What _client_comms.html shows: the four forms (bound ones after an error) and the client's work.

    `may_change`: the page's own can_change answer when it has one (else "" or None: asked here)."""
    bound = bound or {}
    may_change = can_change(user, client) if may_change in (None, "") else bool(may_change)
    panel = {
        "may_change": may_change,
        "open_tasks": list(
            Task.objects.filter(client=client, status=Task.Status.OPEN)
            .select_related("assignee")
            .order_by("due_at")[:10]
        ),
        "emails": list(client.emails.select_related("sent_by").order_by("-created_at", "-id")[:5]),
        "active": bound.get("active", "note"),
    }
    if may_change:
        panel["note_form"] = lighten(bound.get("note") or NoteForm())
        panel["call_form"] = lighten(bound.get("call") or CallForm())
        panel["email_form"] = lighten(bound.get("email") or EmailForm(template_names=comms.email_template_names()))
        panel["task_form"] = lighten(
            bound.get("task") or TaskForm(assignees=comms.colleagues_seeing(client), initial={"assignee": user.pk})
        )
    return panel


@register.simple_tag
def bell_count(user):
    """Unread notifications of a staff member, None for anyone else (the bell then renders nothing)."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm(perm("ops_access")):
        return None
    return comms.unread_count(user)
