import json

from django import template
from django.apps import apps

from brokerage.navigation import menu_for
from brokerage.roles import Role

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_items(context, menu: str):
    return menu_for(menu, context["request"].user)


@register.filter
def is_current(url: str, path: str) -> bool:
    """The item's page or a page under it (the dashboard only on itself)."""
    return path == url or (url.count("/") > 2 and path.startswith(url))


@register.filter
def role_label(value: str) -> str:
    try:
        return Role(value).label
    except ValueError:
        return value


@register.filter
def object_type_label(label: str) -> str:
    """ "brokerage.User" -> "User", as people call it."""
    try:
        return str(apps.get_model(label)._meta.verbose_name).capitalize()
    except (LookupError, ValueError):
        return label


@register.filter
def audit_changes(record) -> list[tuple[str, str, str]]:
    """(field, before, after) for each field the record changed; unchanged fields are left out."""
    before, after = record.before or {}, record.after or {}

    def show(value) -> str:
        return "—" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    return [
        (key, show(before.get(key)) if key in before else "", show(after.get(key)) if key in after else "")
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key) or key not in before or key not in after
    ]
