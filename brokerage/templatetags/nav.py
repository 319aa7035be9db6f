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
def as_json(value) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True)
