"""Shared by the deposit, webhook and adapter tests: methods, signed events, a funded start."""

from __future__ import annotations

import json
import secrets
import time
from decimal import Decimal as D

from payments.adapters import signatures
from payments.defaults import payment_defaults_ensure
from payments.deposits import services
from payments.models import Deposit, PaymentMethod


def methods() -> dict[str, PaymentMethod]:
    payment_defaults_ensure()
    return {method.code: method for method in PaymentMethod.objects.all()}


def start(client, code: str = "card", amount: D = D("100.00"), currency: str = "USD") -> Deposit:
    return services.deposit_start(
        client=client, method=PaymentMethod.objects.get(code=code), currency=currency, amount=amount, actor=client.user
    )


def card_event(
    deposit: Deposit, *, kind: str = "succeeded", amount_minor: int | None = None, event_id: str = ""
) -> dict:
    """A Stripe-format payment_intent event for a card deposit, as the sandbox PSP sends it."""
    intent = {
        "id": "pi_" + secrets.token_hex(6),
        "object": "payment_intent",
        "amount_received": int(deposit.amount * 100) if amount_minor is None else amount_minor,
        "currency": deposit.currency.lower(),
        "metadata": {"deposit": str(deposit.public_id), "checkout_session": deposit.psp_reference},
        "payment_method_details": {"card": {"brand": "visa", "last4": "4242"}},
    }
    if kind == "failed":
        intent["last_payment_error"] = {"code": "card_declined", "message": "Your card was declined."}
    return {
        "id": event_id or "evt_" + secrets.token_hex(8),
        "object": "event",
        "type": f"payment_intent.{'succeeded' if kind == 'succeeded' else 'payment_failed'}",
        "created": int(time.time()),
        "data": {"object": intent},
    }


def stripe_signed(method: PaymentMethod, payload: dict, *, timestamp: int | None = None) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    return body, {"Stripe-Signature": signatures.stripe_signature(method.webhook_secret, body, timestamp=timestamp)}


def post_webhook(http, method: PaymentMethod, body: bytes, headers: dict):
    return http.post(f"/payments/webhooks/{method.code}/", data=body, content_type="application/json", headers=headers)
