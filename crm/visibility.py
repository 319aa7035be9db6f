"""Which clients a staff member may see and change: the one object-level rule of the CRM.

- `crm_view_all_clients` (back office, compliance, finance, ...): every client.
- A desk manager: the clients held (as sales or retention agent) by anyone on their desks, and their own.
- Anyone else with `crm_view_client` (a sales agent): only the clients assigned to them.

Every CRM page, export, search and API endpoint reads clients through `clients_visible_to`.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from brokerage.roles import perm
from crm.models import Client, Desk


def desk_member_ids(user) -> list[int]:
    """`user` and the members of every desk they manage (just `user` when they manage none), sorted."""
    ids = set(Desk.objects.filter(manager=user).values_list("members", flat=True))
    ids.discard(None)
    return sorted(ids | {user.pk})


def visibility_filter(user) -> Q | None:
    """The Q that limits clients to `user`'s, or None when the user sees every client."""
    if user.has_perm(perm("crm_view_all_clients")):
        return None
    if not user.has_perm(perm("crm_view_client")):
        return Q(pk__in=[])
    agents = desk_member_ids(user)
    return Q(sales_agent_id__in=agents) | Q(retention_agent_id__in=agents)


def clients_visible_to(user, queryset: QuerySet[Client] | None = None) -> QuerySet[Client]:
    queryset = Client.objects.all() if queryset is None else queryset
    limit = visibility_filter(user)
    return queryset if limit is None else queryset.filter(limit)


def client_visible_or_404(user, client_id) -> Client:
    """The client if `user` may see it; a 404 otherwise, so ids of others' clients reveal nothing."""
    try:
        return clients_visible_to(user).get(pk=int(client_id))
    except (Client.DoesNotExist, TypeError, ValueError):
        raise Http404("No such client") from None


def can_change(user, client: Client) -> bool:
    """Change rights follow sight: whoever sees a client and holds `crm_change_client` may edit it."""
    return user.has_perm(perm("crm_change_client")) and clients_visible_to(user).filter(pk=client.pk).exists()
