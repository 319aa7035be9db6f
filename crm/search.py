"""Clients in the global search box: by email (exact first), phone digits, or words of the name.

Registered on import by crm.apps. Every query goes through crm.visibility: a sales agent finds only
the clients assigned to them (or their desk). Names and phone digits use the trigram index on
`search_text`; queries shorter than 3 characters search no names (they would match most clients).
"""

from __future__ import annotations

import re

from django.db.models.functions import Lower

from brokerage.search import SearchHit, SearchProvider, register_search
from crm.links import client_url
from crm.models import Client
from crm.phones import PHONE_LIKE
from crm.visibility import clients_visible_to

NAME_MIN_LENGTH = 3


def _hit(client: Client, *, exact: bool = False) -> SearchHit:
    detail = " · ".join(filter(None, [client.email, client.phone, client.get_status_display()]))
    return SearchHit(
        kind="Client",
        label=str(client),
        detail=detail,
        url=client_url(client),
        exact=exact,
    )


def find_clients(query: str, user, limit: int) -> list[SearchHit]:
    query = query.strip()
    visible = (
        clients_visible_to(user)
        .only("id", "first_name", "last_name", "company_name", "email", "phone", "status")
        .order_by("-created_at", "-id")
    )
    hits: list[SearchHit] = []
    seen: set[int] = set()

    def add(clients, *, exact: bool = False) -> None:
        for client in clients[: limit - len(hits)]:
            if client.pk not in seen:
                seen.add(client.pk)
                hits.append(_hit(client, exact=exact))

    if "@" in query:
        # The unique index is on lower(email), for non-empty emails: this lookup uses it.
        add(visible.alias(email_lower=Lower("email")).filter(email_lower=query.lower()).exclude(email=""), exact=True)
        if hits:
            return hits  # the one client with that address; a partial match would only add noise
    if PHONE_LIKE.match(query):
        digits = re.sub(r"\D", "", query).lstrip("0")
        if len(digits) >= 6:
            add(visible.filter(search_text__contains=digits))
        return hits
    if len(query) >= NAME_MIN_LENGTH and len(hits) < limit:
        words = [word.lower() for word in query.split()[:5] if len(word) >= 2] or [query.lower()]
        matches = visible
        for word in words:
            matches = matches.filter(search_text__contains=word)
        add(matches)
    return hits


register_search(SearchProvider("Clients", "crm_view_client", find_clients, order=10))
