"""Payments on the client 360 page (wallets, recent deposits and withdrawals, alerts) and on the client
timeline (one line per payments event), plus the client's deposit activity. Registered on import by
payments.apps; crm never imports payments, payments reaches crm through these registries and events.
"""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse

from brokerage.events import subscribe
from brokerage.money import money_text
from crm.activity import client_deposit_record, client_wake
from crm.models import Client
from crm.panels import Panel, register_panel
from crm.timeline import timeline_record
from payments.models import Conversion, Deposit, LedgerTransaction, PaymentMethod, TradingTransfer, Withdrawal
from payments.selectors import OPEN_WITHDRAWALS, client_wallets

RECENT = 5


def _method_name(code: str) -> str:
    return PaymentMethod.objects.filter(code=code).values_list("name", flat=True).first() or code


def _record(event, *, title: str, detail: str = "", url: str = "", occurred_at=None) -> None:
    client_id = event.payload.get("client_id")
    if not client_id or not Client.objects.filter(pk=client_id).exists():
        return
    timeline_record(
        client_id=client_id,
        kind="payments",
        topic=event.topic,
        title=title,
        detail=detail,
        url=url,
        occurred_at=occurred_at or event.created_at,
        source=f"outbox:{event.pk}",
    )


def _transaction_url(transaction_id) -> str:
    return reverse("ops:payments_transaction", args=[transaction_id]) if transaction_id else ""


# Deposits ------------------------------------------------------------------------------------------


@subscribe("payments.deposit.completed")
def deposit_completed(event) -> None:
    p = event.payload
    deposit = Deposit.objects.filter(public_id=p["deposit_id"]).only("completed_at").first()
    at = (deposit.completed_at if deposit else None) or event.created_at
    fee = Decimal(p.get("fee") or 0)
    detail = f"Fee {money_text(fee, p['currency'])}, {money_text(p['net'], p['currency'])} credited." if fee else ""
    _record(
        event,
        title=f"Deposit of {money_text(p['amount'], p['currency'])} by {_method_name(p['method'])} completed",
        detail=detail,
        url=reverse("ops:payments_deposit", args=[p["deposit_id"]]),
        occurred_at=at,
    )
    if Client.objects.filter(pk=p["client_id"]).exists():
        first = client_deposit_record(
            client_id=p["client_id"],
            at=at,
            amount=Decimal(p["amount"]),
            currency=p["currency"],
            source=f"outbox:{event.pk}",
        )
        if first:
            timeline_record(
                client_id=p["client_id"],
                kind="payments",
                topic="crm.client.first_deposit",
                title=f"First deposit: {money_text(p['amount'], p['currency'])}",
                url=reverse("ops:payments_deposit", args=[p["deposit_id"]]),
                occurred_at=at,
                source=f"outbox:{event.pk}:ftd",
            )


@subscribe("payments.deposit.failed")
def deposit_failed(event) -> None:
    p = event.payload
    word = {"expired": "expired", "cancelled": "was cancelled"}.get(p.get("status", ""), "failed")
    _record(
        event,
        title=f"Deposit of {money_text(p['amount'], p['currency'])} by {_method_name(p['method'])} {word}",
        detail=p.get("reason", ""),
        url=reverse("ops:payments_deposit", args=[p["deposit_id"]]),
    )


# Withdrawals ---------------------------------------------------------------------------------------

_WITHDRAWAL_WORDS = {
    "payments.withdrawal.requested": "requested",
    "payments.withdrawal.approved": "approved",
    "payments.withdrawal.rejected": "rejected",
    "payments.withdrawal.cancelled": "cancelled",
    "payments.withdrawal.paid": "paid out",
    "payments.withdrawal.failed": "failed",
}


def withdrawal_event(event) -> None:
    p = event.payload
    withdrawal = Withdrawal.objects.filter(public_id=p["withdrawal"]).only("reason").first()
    detail = withdrawal.reason if withdrawal and event.topic.endswith(("rejected", "failed", "cancelled")) else ""
    _record(
        event,
        title=f"Withdrawal of {money_text(p['amount'], p['currency'])} by {_method_name(p['method'])} "
        f"{_WITHDRAWAL_WORDS[event.topic]}",
        detail=detail,
        url=reverse("ops:payments_withdrawal", args=[p["withdrawal"]]),
    )
    if event.topic == "payments.withdrawal.requested" and Client.objects.filter(pk=p["client_id"]).exists():
        client_wake(p["client_id"], at=event.created_at, source=f"outbox:{event.pk}")


for _topic in _WITHDRAWAL_WORDS:
    subscribe(_topic)(withdrawal_event)


# Wallets, conversions, transfers -----------------------------------------------------------------


@subscribe("payments.wallet.adjusted")
def wallet_adjusted(event) -> None:
    p = event.payload
    amount = Decimal(p["amount"])
    description = (
        LedgerTransaction.objects.filter(pk=p["transaction_id"]).values_list("description", flat=True).first() or ""
    )
    word = "credited" if amount > 0 else "debited"
    _record(
        event,
        title=f"{p['currency']} wallet {word} {money_text(abs(amount), p['currency'])} by staff",
        detail=description,
        url=_transaction_url(p["transaction_id"]),
    )


@subscribe("payments.transaction.reversed")
def transaction_reversed(event) -> None:
    p = event.payload
    reference = LedgerTransaction.objects.filter(pk=p["transaction_id"]).values_list("reference", flat=True).first()
    _record(
        event,
        title=f"Transaction {reference or p['transaction_id']} reversed",
        detail=p.get("reason", ""),
        url=_transaction_url(p.get("reversal_id")),
    )


@subscribe("payments.conversion.executed")
def conversion_executed(event) -> None:
    p = event.payload
    transaction_id = (
        Conversion.objects.filter(public_id=p["conversion"]).values_list("transaction_id", flat=True).first()
    )
    _record(
        event,
        title=f"Converted {money_text(p['from_amount'], p['from_currency'])} to "
        f"{money_text(p['to_amount'], p['to_currency'])}",
        url=_transaction_url(transaction_id),
    )
    if Client.objects.filter(pk=p["client_id"]).exists():
        client_wake(p["client_id"], at=event.created_at, source=f"outbox:{event.pk}")


@subscribe("payments.trading_transfer.completed")
def trading_transfer_completed(event) -> None:
    p = event.payload
    transaction_id = (
        TradingTransfer.objects.filter(public_id=p["transfer"]).values_list("transaction_id", flat=True).first()
    )
    route = "to trading account" if p["direction"] == TradingTransfer.Direction.TO_ACCOUNT else "from trading account"
    _record(
        event,
        title=f"Transferred {money_text(p['amount'], p['currency'])} {route} {p['login']}",
        url=_transaction_url(transaction_id),
    )
    if Client.objects.filter(pk=p["client_id"]).exists():
        client_wake(p["client_id"], at=event.created_at, source=f"outbox:{event.pk}")


@subscribe("payments.trading_transfer.reversed")
def trading_transfer_reversed(event) -> None:
    p = event.payload
    transfer = TradingTransfer.objects.filter(public_id=p["transfer"]).first()
    if transfer is None:
        return
    route = "to" if transfer.direction == TradingTransfer.Direction.TO_ACCOUNT else "from"
    _record(
        event,
        title=f"Transfer of {money_text(transfer.amount, transfer.currency)} {route} trading account "
        f"{transfer.account_login} not made",
        detail=p.get("reason", ""),
        url=_transaction_url(transfer.transaction_id),
    )


# Client 360 panels ---------------------------------------------------------------------------------


def _wallets_context(client) -> dict:
    wallets = client_wallets(client)
    return {"wallets": wallets}


def _payments_context(client) -> dict:
    deposits = list(
        Deposit.objects.filter(client=client).select_related("method").order_by("-created_at", "-id")[:RECENT]
    )
    withdrawals = list(
        Withdrawal.objects.filter(client=client).select_related("method").order_by("-created_at", "-id")[:RECENT]
    )
    alerts = [
        {
            "text": f"Withdrawal of {money_text(w.amount, w.currency)} {w.get_status_display().lower()}",
            "url": reverse("ops:payments_withdrawal", args=[w.public_id]),
        }
        for w in Withdrawal.objects.filter(client=client, status__in=OPEN_WITHDRAWALS).order_by("created_at")[:10]
    ]
    return {"deposits": deposits, "withdrawals": withdrawals, "alerts": alerts}


register_panel(Panel("wallets", "Wallets", "payments_view", "payments/crm/_wallets.html", _wallets_context, order=10))
register_panel(
    Panel(
        "payments",
        "Recent deposits and withdrawals",
        "payments_view",
        "payments/crm/_payments.html",
        _payments_context,
        order=20,
    )
)
