"""Email templates written by staff: a tiny placeholder language, never Django's template engine.

A template is plain text with `{{ name }}` placeholders from `PLACEHOLDERS` and nothing else: no
attribute access, no filters, no tags. Staff-written text must not reach the template engine (it
could read settings or objects through attributes), and the emails are plain text, so values are
put in as they are (no HTML escaping; pages that show a preview escape it as any other text).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.utils import formataddr

from django.conf import settings
from django.db import connection

from brokerage.errors import ApplicationError
from brokerage.staff import tenant_url
from crm.models import Client

PLACEHOLDERS: dict[str, str] = {
    "first_name": "The client's first name",
    "last_name": "The client's last name",
    "full_name": "First and last name (or the company name)",
    "email": "The client's email address",
    "broker_name": "Your brand name",
    "portal_url": "The client portal's address",
}

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_NAME = re.compile(r"[a-z_]+")
# What is left after the placeholders are taken out must not look like template syntax.
_STRAY = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")


def template_errors(text: str) -> list[str]:
    """What is wrong with a subject or body: unknown placeholders, stray braces, tags."""
    errors = []
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1)
        if not _NAME.fullmatch(name) or name not in PLACEHOLDERS:
            errors.append(f"Unknown placeholder {match.group(0)}: use one of {placeholder_list()}.")
    if _STRAY.search(_PLACEHOLDER.sub("", text)):
        errors.append("Only {{ placeholder }} is allowed: remove stray {{, }}, {% %} or {# #}.")
    return errors


def placeholder_list() -> str:
    return ", ".join(f"{{{{ {name} }}}}" for name in PLACEHOLDERS)


def template_check(*, subject: str, body: str) -> None:
    """Raise ApplicationError naming the field when a subject or body does not render."""
    fields = {
        name: errors for name, text in (("subject", subject), ("body", body)) if (errors := template_errors(text))
    }
    if fields:
        raise ApplicationError("The template uses placeholders we do not know.", fields=fields)


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill the placeholders; call `template_check` first (unknown names raise KeyError here)."""
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)


def client_values(client: Client) -> dict[str, str]:
    """The placeholder values for one client, in the current tenant."""
    tenant = connection.tenant
    full_name = f"{client.first_name} {client.last_name}".strip()
    return {
        "first_name": client.first_name,
        "last_name": client.last_name,
        "full_name": client.company_name or full_name,
        "email": client.email,
        "broker_name": getattr(tenant, "brand_name", ""),
        "portal_url": tenant_url("/portal/", tenant=tenant) if getattr(tenant, "pk", None) else "",
    }


def sample_values() -> dict[str, str]:
    """Values for a template preview when no client is at hand."""
    tenant = connection.tenant
    return {
        "first_name": "Jane",
        "last_name": "Doe",
        "full_name": "Jane Doe",
        "email": "jane.doe@example.com",
        "broker_name": getattr(tenant, "brand_name", ""),
        "portal_url": tenant_url("/portal/", tenant=tenant) if getattr(tenant, "pk", None) else "",
    }


def tenant_sender() -> str:
    """From: the tenant's brand name on the platform's sending address (as invitations are sent)."""
    tenant = connection.tenant
    return formataddr((getattr(tenant, "brand_name", ""), settings.DEFAULT_FROM_EMAIL))


def tenant_reply_to() -> list[str]:
    """Replies go to the tenant's support address when it has one."""
    support = getattr(connection.tenant, "support_email", "")
    return [support] if support else []
