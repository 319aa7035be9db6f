"""Reads of client records shared by the CRM pages. Callers apply crm.visibility first (or pass `user`)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from django.db.models import Q, QuerySet

from brokerage.dates import day_start
from crm.models import Client, TimelineEvent
from crm.phones import PHONE_LIKE
from crm.visibility import clients_visible_to

SORTS = {
    "newest": ("-created_at", "-id"),
    "name": ("last_name", "first_name", "id"),  # the crm_client_name index
    # Clients with activity only (see client_list): the last_activity_at index then serves the order.
    "activity": ("-last_activity_at", "-id"),
}


def search_terms(text: str) -> list[str]:
    """What to look for in `search_text`: each word lower-cased; a phone number as its digits (without
    the national leading 0, so "07700 900123" finds "+447700900123")."""
    text = (text or "").strip()
    if not text:
        return []
    if PHONE_LIKE.match(text):
        digits = re.sub(r"\D", "", text).lstrip("0")
        return [digits] if digits else []
    return [word.lower() for word in text.split()[:6]]


def client_list(
    *,
    user=None,
    queryset: QuerySet[Client] | None = None,
    search: str = "",
    status: str = "",
    country: str = "",
    source: str = "",
    tag: str = "",
    agent: str | int | None = None,
    lead_stage: str = "",
    kyc_status: str = "",
    created_from: date | None = None,
    created_to: date | None = None,
    ftd_from: date | None = None,
    ftd_to: date | None = None,
    source_detail: str = "",
    sort: str = "newest",
) -> QuerySet[Client]:
    """Clients matching the filters, in `sort` order (newest, name, activity: those with any activity,
    most recent first), with their agents.

    `user`: only the clients that person may see. `agent`: a user id, or "none" for unassigned.
    Every filter is a plain column (or the trigram-indexed search_text): no joins, no COUNT.
    """
    clients = Client.objects.all() if queryset is None else queryset
    if user is not None:
        clients = clients_visible_to(user, clients)
    for term in search_terms(search):
        clients = clients.filter(search_text__contains=term)
    if status:
        clients = clients.filter(status=status)
    if country:
        clients = clients.filter(country=country.upper())
    if source:
        clients = clients.filter(source=source)
    if tag:
        clients = clients.filter(tags__contains=[tag.strip().lower()])
    if agent == "none":
        clients = clients.filter(sales_agent__isnull=True)
    elif agent:
        clients = clients.filter(sales_agent_id=int(agent))
    if lead_stage:
        clients = clients.filter(Client.lead_stage_q([lead_stage]))
    if kyc_status:
        clients = clients.filter(kyc_status=kyc_status)
    if created_from:
        clients = clients.filter(created_at__gte=day_start(created_from))
    if created_to:
        clients = clients.filter(created_at__lt=day_start(created_to) + timedelta(days=1))
    if ftd_from:
        clients = clients.filter(first_deposit_at__gte=day_start(ftd_from))
    if ftd_to:
        clients = clients.filter(first_deposit_at__lt=day_start(ftd_to) + timedelta(days=1))
    if source_detail:
        clients = clients.filter(source_detail=source_detail)
    if sort == "activity":
        clients = clients.filter(last_activity_at__isnull=False)
    return clients.select_related("sales_agent", "retention_agent").order_by(*SORTS.get(sort, SORTS["newest"]))


def client_timeline(
    client: Client,
    *,
    kinds: list[str] | None = None,
    search: str = "",
    before: tuple[datetime, int] | None = None,
    size: int = 50,
) -> tuple[list[TimelineEvent], tuple[datetime, int] | None]:
    """One page of the client's timeline, newest first, and the cursor of the next page (None: the end).

    Keyset pagination on (occurred_at, id): the index crm_timeline_client serves every page alike.
    """
    events = TimelineEvent.objects.filter(client=client)
    if kinds:
        events = events.filter(kind__in=kinds)
    if search:
        events = events.filter(Q(title__icontains=search) | Q(detail__icontains=search))
    if before is not None:
        at, pk = before
        events = events.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=pk))
    rows = list(events.order_by("-occurred_at", "-id")[: size + 1])
    if len(rows) <= size:
        return rows, None
    last = rows[size - 1]
    return rows[:size], (last.occurred_at, last.pk)
