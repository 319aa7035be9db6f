"""`{% bulk_options as bulk %}`: what crm/_bulk_actions.html offers the viewer, so any page can include
it (the client list, a segment) without its view preparing anything."""

from __future__ import annotations

from django import template

from crm import bulk
from crm.comms import email_template_names
from crm.models import Segment

register = template.Library()


@register.simple_tag(takes_context=True)
def bulk_options(context) -> dict:
    request = context["request"]
    user = request.user
    actions = bulk.actions_for(user)
    keys = {key for key, _ in actions}
    agents = []
    if keys & {"assign_sales", "assign_retention"}:
        from crm.assignment import assignable_agents

        agents = list(assignable_agents(user))
    templates = email_template_names() if "email" in keys else []
    segment = context.get("bulk_segment")
    if segment is None and request.GET.get("segment", "").isdigit():
        segment = Segment.objects.filter(pk=int(request.GET["segment"])).first()
    return {
        "actions": actions,
        "agents": agents,
        "templates": templates,
        "segment": segment,
        "confirm_above": bulk.CONFIRM_ABOVE,
    }
