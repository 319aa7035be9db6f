"""Links to CRM pages and how a colleague is named in lines others read (timeline, notifications)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse


def client_url(client_or_id) -> str:
    """The client 360 page."""
    return reverse("ops:crm_client_detail", args=[getattr(client_or_id, "pk", client_or_id)])


def client_list_url(**params) -> str:
    """The ops client list with the given filters (empty values left out)."""
    query = urlencode({key: value for key, value in params.items() if value not in ("", None)})
    return f"{reverse('ops:crm_client_list')}?{query}" if query else reverse("ops:crm_client_list")


def person_label(user) -> str:
    """ "Ann Smith", or the email when the name is blank; "the system" for no one."""
    if user is None:
        return "the system"
    return user.get_full_name() or user.email
