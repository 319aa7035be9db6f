"""Payments in the global search box: a deposit or withdrawal by its public id, a bank-wire RF
reference, a payout reference, a PSP's payment id, a ledger transaction reference.

Registered on import by payments.apps. Every lookup is an exact match on a unique (indexed) column, so
every hit is "exact" and Enter opens it. Payments of clients the viewer may not see are not shown.
"""

from __future__ import annotations

import re
import uuid

from django.urls import reverse

from brokerage.money import money_text
from brokerage.search import SearchHit, SearchProvider, register_search
from crm.visibility import clients_visible_to, visibility_filter
from payments.models import Deposit, LedgerTransaction, PaymentMethod, Withdrawal

RF_LIKE = re.compile(r"^RF\d{2}[0-9A-Z]+$")


def _visible(queryset, user):
    if visibility_filter(user) is None:
        return queryset
    return queryset.filter(client_id__in=clients_visible_to(user).values("pk"))


def _deposit_hit(deposit: Deposit, what: str) -> SearchHit:
    return SearchHit(
        kind="Deposit",
        label=f"{money_text(deposit.amount, deposit.currency)} · {deposit.get_status_display()}",
        detail=f"{what} · {deposit.client} · {deposit.created_at:%Y-%m-%d}",
        url=reverse("ops:payments_deposit", kwargs={"public_id": deposit.public_id}),
        exact=True,
    )


def _withdrawal_hit(withdrawal: Withdrawal, what: str) -> SearchHit:
    return SearchHit(
        kind="Withdrawal",
        label=f"{money_text(withdrawal.amount, withdrawal.currency)} · {withdrawal.get_status_display()}",
        detail=f"{what} · {withdrawal.client} · {withdrawal.created_at:%Y-%m-%d}",
        url=reverse("ops:payments_withdrawal", kwargs={"public_id": withdrawal.public_id}),
        exact=True,
    )


def find_payments(query: str, user, limit: int) -> list[SearchHit]:
    text = query.strip()
    if len(text) < 6 or len(text) > 200:
        return []
    hits: list[SearchHit] = []
    deposits = _visible(Deposit.objects.select_related("client"), user)
    withdrawals = _visible(Withdrawal.objects.select_related("client"), user)
    try:
        public_id = uuid.UUID(text)
    except ValueError:
        public_id = None
    if public_id is not None:
        hits += [_deposit_hit(d, "Deposit id") for d in deposits.filter(public_id=public_id)]
        hits += [_withdrawal_hit(w, "Withdrawal id") for w in withdrawals.filter(public_id=public_id)]
        return hits
    # People copy a wire reference with spaces or dashes ("RF31 KBYQ GPET", "RF31-KBYQ-GPET").
    squeezed = "".join(text.replace("-", " ").split()).upper()
    if RF_LIKE.match(squeezed):
        hits += [
            _deposit_hit(d, f"Wire reference {d.wire_reference}") for d in deposits.filter(wire_reference=squeezed)
        ]
    if " " not in text:
        hits += [_withdrawal_hit(w, "Payout reference") for w in withdrawals.filter(payout_reference=text)]
        # The unique key is (method, psp_reference): naming every method lets its index serve the lookup.
        methods = list(PaymentMethod.objects.values_list("pk", flat=True))
        hits += [_deposit_hit(d, "PSP payment id") for d in deposits.filter(method_id__in=methods, psp_reference=text)]
        transactions = _visible(LedgerTransaction.objects.select_related("client"), user).filter(reference=text)
        hits += [
            SearchHit(
                kind="Ledger transaction",
                label=txn.reference,
                detail=f"{txn.get_kind_display()} · {txn.client or 'no client'} · {txn.posted_at:%Y-%m-%d %H:%M}",
                url=reverse("ops:payments_transaction", args=[txn.pk]),
                exact=True,
            )
            for txn in transactions
        ]
    return hits[:limit]


register_search(SearchProvider("Payments", "payments_view", find_payments, order=30))
