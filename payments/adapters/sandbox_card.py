"""The built-in sandbox card PSP: a hosted checkout page, Stripe-style signed webhooks, payouts.

The client is sent to /payments/sandbox/card/<token>/ (served by this app, styled as
a neutral PSP page), enters a test card and approves or declines. The PSP then
notifies us with a Stripe-format event, signed as Stripe signs:
`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>`.

Events: `payment_intent.succeeded` / `payment_intent.payment_failed` (data.object is a
payment intent with `amount_received` in minor units and `metadata.deposit` = our
deposit's public id) and `payout.paid` / `payout.failed` (`metadata.payout_reference`).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from brokerage.money import Money, minor_units
from payments.adapters import signatures, simulators
from payments.adapters.base import (
    DepositInstructions,
    EventKind,
    NextAction,
    PaymentAdapter,
    WebhookError,
    WebhookEvent,
    header,
)
from payments.models import SandboxCheckout

SIGNATURE_HEADER = "Stripe-Signature"
CHECKOUT_MINUTES = 60


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    approves: bool
    decline_message: str = ""
    decline_code: str = ""


TEST_CARDS = {
    card.number: card
    for card in (
        TestCard("4242424242424242", "Visa", True),
        TestCard("5555555555554444", "Mastercard", True),
        TestCard("4000000000000002", "Visa", False, "Your card was declined.", "generic_decline"),
        TestCard("4000000000009995", "Visa", False, "Your card has insufficient funds.", "insufficient_funds"),
    )
}
CARDHOLDER_DECLINED = "The cardholder declined the payment."


def checkout_minutes(method) -> int:
    """How long a checkout stays open; abandoned card deposits expire after it too."""
    return int(method.settings.get("checkout_minutes", CHECKOUT_MINUTES))


class SandboxCardAdapter(PaymentAdapter):
    provider = "sandbox_card"
    label = "Sandbox card PSP (built in)"
    is_simulator = True

    # Deposits ---------------------------------------------------------------------------------

    def deposit_start(self, deposit, *, return_url: str) -> DepositInstructions:
        checkout = SandboxCheckout.objects.create(
            token="cs_" + secrets.token_urlsafe(24),
            method=self.method,
            merchant_reference=str(deposit.public_id),
            amount=deposit.amount,
            currency=deposit.currency,
            return_url=return_url,
            expires_at=timezone.now() + timedelta(minutes=checkout_minutes(self.method)),
        )
        return DepositInstructions(
            next_action=NextAction.REDIRECT,
            psp_reference=checkout.token,
            checkout_url=reverse("sandbox_card_checkout", args=[checkout.token]),
        )

    def checkout_complete(self, checkout: SandboxCheckout, *, approve: bool, card: TestCard | None) -> bool:
        """The client pressed Approve (with a test card) or Decline; False if it was already done."""
        declined = not approve or card is None or not card.approves
        with transaction.atomic():
            changed = SandboxCheckout.objects.filter(
                pk=checkout.pk, status=SandboxCheckout.Status.OPEN, expires_at__gt=timezone.now()
            ).update(
                status=SandboxCheckout.Status.DECLINED if declined else SandboxCheckout.Status.APPROVED,
                card_brand=card.brand if card else "",
                card_last4=card.number[-4:] if card else "",
                completed_at=timezone.now(),
            )
            if not changed:
                return False
            checkout.refresh_from_db()
            simulators.webhook_send_after_commit(self.method, self._payment_event(checkout, card))
        return True

    def _payment_event(self, checkout: SandboxCheckout, card: TestCard | None) -> dict:
        approved = checkout.status == SandboxCheckout.Status.APPROVED
        intent = {
            "id": "pi_" + secrets.token_hex(12),
            "object": "payment_intent",
            "amount": Money(checkout.amount, checkout.currency).to_minor(),
            "amount_received": Money(checkout.amount, checkout.currency).to_minor() if approved else 0,
            "currency": checkout.currency.lower(),
            "status": "succeeded" if approved else "requires_payment_method",
            "metadata": {"deposit": checkout.merchant_reference, "checkout_session": checkout.token},
            "payment_method_details": {"card": {"brand": checkout.card_brand.lower(), "last4": checkout.card_last4}}
            if card
            else None,
        }
        if not approved:
            intent["last_payment_error"] = {
                "code": "card_declined",
                "decline_code": card.decline_code if card and not card.approves else "cardholder_declined",
                "message": card.decline_message if card and not card.approves else CARDHOLDER_DECLINED,
            }
        return {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "type": "payment_intent.succeeded" if approved else "payment_intent.payment_failed",
            "created": simulators.unix_now(),
            "data": {"object": intent},
        }

    # Webhooks ---------------------------------------------------------------------------------

    def webhook_headers(self, body: bytes, *, now: float | None = None) -> dict[str, str]:
        timestamp = None if now is None else int(now)
        return {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signatures.stripe_signature(self.secret, body, timestamp=timestamp),
        }

    def webhook_parse(self, *, headers: dict[str, str], body: bytes, now: float | None = None) -> WebhookEvent:
        signatures.stripe_verify(self.secret, body, header(headers, SIGNATURE_HEADER), now=now)
        try:
            event = json.loads(body)
            event_id, event_type, obj = event["id"], event["type"], event["data"]["object"]
        except (ValueError, KeyError, TypeError) as error:
            raise WebhookError("The body is not a Stripe-format event.") from error
        metadata = obj.get("metadata") or {}
        if event_type == "payment_intent.succeeded":
            card = (obj.get("payment_method_details") or {}).get("card") or {}
            source = f"{card.get('brand', 'card').title()} •••• {card['last4']}" if card.get("last4") else ""
            return WebhookEvent(
                event_id=event_id,
                event_type=event_type,
                kind=EventKind.DEPOSIT_SUCCEEDED,
                merchant_reference=metadata.get("deposit", ""),
                psp_reference=metadata.get("checkout_session", ""),
                amount=_from_minor(obj.get("amount_received"), obj.get("currency")),
                currency=str(obj.get("currency", "")).upper(),
                source_label=source,
            )
        if event_type == "payment_intent.payment_failed":
            error = obj.get("last_payment_error") or {}
            return WebhookEvent(
                event_id=event_id,
                event_type=event_type,
                kind=EventKind.DEPOSIT_FAILED,
                merchant_reference=metadata.get("deposit", ""),
                psp_reference=metadata.get("checkout_session", ""),
                reason=error.get("message") or "The payment failed.",
            )
        if event_type in ("payout.paid", "payout.failed"):
            paid = event_type == "payout.paid"
            return WebhookEvent(
                event_id=event_id,
                event_type=event_type,
                kind=EventKind.PAYOUT_PAID if paid else EventKind.PAYOUT_FAILED,
                payout_reference=metadata.get("payout_reference", ""),
                psp_reference=obj.get("id", ""),
                amount=_from_minor(obj.get("amount"), obj.get("currency")),
                currency=str(obj.get("currency", "")).upper(),
                reason="" if paid else obj.get("failure_message") or "The payout failed.",
            )
        return WebhookEvent(event_id=event_id, event_type=event_type, kind=EventKind.IGNORED)

    # Payouts ----------------------------------------------------------------------------------

    def send_payout(self, withdrawal) -> str:
        """Accepted at once; the outcome follows as a signed payout.paid / payout.failed webhook."""
        payout, made_now = simulators.payout_accept(
            self.method, withdrawal, psp_reference="po_" + secrets.token_hex(12)
        )
        if made_now:
            paid = payout.status == payout.Status.PAID
            simulators.webhook_send_after_commit(
                self.method,
                {
                    "id": "evt_" + secrets.token_hex(12),
                    "object": "event",
                    "type": "payout.paid" if paid else "payout.failed",
                    "created": simulators.unix_now(),
                    "data": {
                        "object": {
                            "id": payout.psp_reference,
                            "object": "payout",
                            "amount": Money(payout.amount, payout.currency).to_minor(),
                            "currency": payout.currency.lower(),
                            "status": "paid" if paid else "failed",
                            "failure_message": payout.failure_message or None,
                            "metadata": {"payout_reference": payout.payout_reference},
                        }
                    },
                },
            )
        return payout.psp_reference


def _from_minor(value, currency) -> Decimal:
    try:
        code = str(currency).upper()
        minor_units(code)
        return Money.from_minor(int(value), code).amount
    except (TypeError, ValueError) as error:
        raise WebhookError(f"Cannot read the amount {value!r} {currency!r}.") from error


def card_number_clean(text: str) -> str:
    digits = "".join(ch for ch in text if not ch.isspace() and ch != "-")
    return digits if digits.isdigit() else ""


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return len(digits) >= 12 and total % 10 == 0
