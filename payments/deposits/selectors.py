"""Reads of deposits used by the portal, /ops/ and the API."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from payments.models import Deposit, LedgerAccount


def deposit_list(
    *,
    search: str = "",
    status: str = "",
    method: str = "",
    currency: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    client_id: int | None = None,
) -> QuerySet[Deposit]:
    deposits = Deposit.objects.select_related("client", "method")
    if search:
        terms = Q(client__first_name__icontains=search) | Q(client__last_name__icontains=search)
        terms |= Q(client__email__icontains=search) | Q(wire_reference__iexact="".join(search.split()))
        deposits = deposits.filter(terms)
    if status:
        deposits = deposits.filter(status=status)
    if method:
        deposits = deposits.filter(method__code=method)
    if currency:
        deposits = deposits.filter(currency=currency)
    if date_from:
        deposits = deposits.filter(created_at__date__gte=date_from)
    if date_to:
        deposits = deposits.filter(created_at__date__lte=date_to)
    if client_id:
        deposits = deposits.filter(client_id=client_id)
    return deposits


def deposit_of_client(client, public_id) -> Deposit | None:
    """The client's own deposit, or None: a client never reaches another's."""
    if client is None:
        return None
    return Deposit.objects.select_related("method", "client").filter(client=client, public_id=public_id).first()


def wallet_of(client, currency: str) -> LedgerAccount | None:
    """The client's wallet in a currency if it exists (reading never opens one)."""
    return LedgerAccount.objects.filter(client=client, kind=LedgerAccount.Kind.CLIENT_WALLET, currency=currency).first()
