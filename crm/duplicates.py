"""Is this person already on file? One place that answers, for staff entry, imports and sign-up."""

from __future__ import annotations

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from crm.models import Client


def client_duplicates(*, email: str = "", phone: str = "", exclude_id: int | None = None) -> QuerySet[Client]:
    """Clients with the same email (any case) or the same E.164 phone; none when both are blank.

    `LOWER(email)` is what the unique index on email is built on, and phone has its own index.
    """
    email, phone = (email or "").strip().lower(), (phone or "").strip()
    match = Q()
    if email:
        match |= Q(email_lower=email)
    if phone:
        match |= Q(phone=phone)
    if not match:
        return Client.objects.none()
    clients = Client.objects.alias(email_lower=Lower("email")).filter(match)
    if exclude_id is not None:
        clients = clients.exclude(pk=exclude_id)
    return clients.order_by("pk")


def duplicate_field(client: Client, *, email: str = "", phone: str = "") -> str:
    """Which of the given values `client` shares: "email" or "phone"."""
    if email and client.email.lower() == email.strip().lower():
        return "email"
    return "phone"


def client_dedupe_lock() -> None:
    """Serialise "check for a duplicate, then insert" across staff entry, imports and sign-up.

    The email has a unique index, the phone cannot (two clients may share a family phone when staff
    decide so), so without this two writers could both find no duplicate and both insert. Held to
    the end of the caller's transaction.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.crm.client_dedupe'))")
