"""The built-in crypto chain simulator: an address per deposit, confirmations, signed webhooks.

Addresses have the real formats (bech32 P2WPKH `bc1q...` for bitcoin, EIP-55 checksummed
`0x...` for ethereum) but come from random bytes, not keys: nothing sent there by a real
chain could ever be spent, which the instructions page says plainly.

The demo client presses "Simulate sending" (choosing the amount really sent); the
simulated transaction gains one confirmation per `chain_tick` (beat, every 10 s) and the
simulator notifies us at each step. Notifications are JSON signed over the raw body:
`X-Sim-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`; the body's `created`
(unix seconds) must be within 300 s of now, so an old body cannot be replayed.

Events: `transaction.pending` (seen, confirmations below the method's required count),
`transaction.confirmed` (reached it: the deposit is credited with `data.amount`),
`payout.confirmed` / `payout.failed` (a simulated payout, with its txid).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from decimal import Decimal, InvalidOperation

import bech32
from Crypto.Hash import keccak
from django.db import transaction
from django.db.models import F

from brokerage.money import quantize
from payments.adapters import signatures, simulators
from payments.adapters.base import (
    DepositInstructions,
    EventKind,
    NextAction,
    PaymentAdapter,
    PayoutPermanentError,
    WebhookError,
    WebhookEvent,
    header,
)
from payments.models import SimulatedChainTransaction

SIGNATURE_HEADER = "X-Sim-Signature"
DEFAULT_CONFIRMATIONS = 3


def bitcoin_address() -> str:
    program = hashlib.sha256(secrets.token_bytes(32)).digest()[:20]
    return bech32.encode("bc", 0, program)


def eip55(address: str) -> str:
    """An ethereum address with its EIP-55 checksum: letters upper-cased where keccak says so."""
    plain = address.lower().removeprefix("0x")
    digest = keccak.new(digest_bits=256, data=plain.encode()).hexdigest()
    return "0x" + "".join(char.upper() if int(digest[i], 16) >= 8 else char for i, char in enumerate(plain))


def ethereum_address() -> str:
    return eip55(secrets.token_bytes(20).hex())


ADDRESS_MAKERS = {"bitcoin": bitcoin_address, "ethereum": ethereum_address}


def _txid(network: str) -> str:
    return ("0x" if network == "ethereum" else "") + secrets.token_hex(32)


class CryptoSimAdapter(PaymentAdapter):
    provider = "crypto_sim"
    label = "Crypto chain simulator (built in)"
    is_simulator = True

    @property
    def network(self) -> str:
        return self.method.settings.get("network", "bitcoin")

    @property
    def required_confirmations(self) -> int:
        return max(1, int(self.method.settings.get("confirmations", DEFAULT_CONFIRMATIONS)))

    # Deposits ---------------------------------------------------------------------------------

    def deposit_start(self, deposit, *, return_url: str) -> DepositInstructions:
        from payments.models import Deposit

        make = ADDRESS_MAKERS.get(self.network)
        if make is None:
            raise ValueError(f"The chain simulator has no network {self.network!r}.")
        address = make()
        while Deposit.objects.filter(crypto_address=address).exists():
            address = make()
        return DepositInstructions(
            next_action=NextAction.CRYPTO,
            crypto_address=address,
            required_confirmations=self.required_confirmations,
        )

    def transaction_send(self, *, address: str, amount: Decimal, currency: str, merchant_reference: str):
        """Someone sent coins to a deposit address: the chain sees it with no confirmation yet."""
        with transaction.atomic():
            sent = SimulatedChainTransaction.objects.create(
                method=self.method,
                network=self.network,
                txid=_txid(self.network),
                address=address,
                merchant_reference=merchant_reference,
                amount=amount,
                currency=currency,
                required_confirmations=self.required_confirmations,
            )
            simulators.webhook_send_after_commit(self.method, self.transaction_event(sent))
        return sent

    def transaction_event(self, sent: SimulatedChainTransaction) -> dict:
        confirmed = sent.confirmations >= sent.required_confirmations
        return {
            "id": "evt_" + secrets.token_hex(12),
            "type": "transaction.confirmed" if confirmed else "transaction.pending",
            "created": simulators.unix_now(),
            "data": {
                "order_id": sent.merchant_reference,
                "network": sent.network,
                "address": sent.address,
                "txid": sent.txid,
                "amount": f"{sent.amount:f}",
                "currency": sent.currency,
                "confirmations": sent.confirmations,
                "required_confirmations": sent.required_confirmations,
            },
        }

    # Webhooks ---------------------------------------------------------------------------------

    def webhook_headers(self, body: bytes, *, now: float | None = None) -> dict[str, str]:
        return {"Content-Type": "application/json", SIGNATURE_HEADER: signatures.body_signature(self.secret, body)}

    def webhook_parse(self, *, headers: dict[str, str], body: bytes, now: float | None = None) -> WebhookEvent:
        signatures.body_verify(self.secret, body, header(headers, SIGNATURE_HEADER))
        try:
            event = json.loads(body)
            event_id, event_type, created, data = event["id"], event["type"], int(event["created"]), event["data"]
        except (ValueError, KeyError, TypeError) as error:
            raise WebhookError("The body is not a chain simulator event.") from error
        signatures.timestamp_check(created, now=now)
        if event_type in ("transaction.pending", "transaction.confirmed"):
            confirmed = event_type == "transaction.confirmed"
            return WebhookEvent(
                event_id=event_id,
                event_type=event_type,
                kind=EventKind.DEPOSIT_SUCCEEDED if confirmed else EventKind.DEPOSIT_CONFIRMING,
                merchant_reference=str(data.get("order_id", "")),
                psp_reference=str(data.get("txid", "")),
                amount=_amount(data),
                currency=str(data.get("currency", "")),
                confirmations=int(data.get("confirmations") or 0),
                source_label=str(data.get("address", "")),
            )
        if event_type in ("payout.confirmed", "payout.failed"):
            paid = event_type == "payout.confirmed"
            return WebhookEvent(
                event_id=event_id,
                event_type=event_type,
                kind=EventKind.PAYOUT_PAID if paid else EventKind.PAYOUT_FAILED,
                payout_reference=str(data.get("payout_reference", "")),
                psp_reference=str(data.get("txid", "")),
                amount=_amount(data),
                currency=str(data.get("currency", "")),
                reason="" if paid else str(data.get("reason") or "The payout failed."),
            )
        return WebhookEvent(event_id=event_id, event_type=event_type, kind=EventKind.IGNORED)

    # Payouts ----------------------------------------------------------------------------------

    def send_payout(self, withdrawal) -> str:
        """Broadcast at once (a txid); the outcome follows as a signed payout.* webhook."""
        address = (withdrawal.destination or {}).get("address")
        if not address:
            raise PayoutPermanentError("A crypto payout needs a destination address.")
        payout, made_now = simulators.payout_accept(self.method, withdrawal, psp_reference=_txid(self.network))
        if made_now:
            paid = payout.status == payout.Status.PAID
            simulators.webhook_send_after_commit(
                self.method,
                {
                    "id": "evt_" + secrets.token_hex(12),
                    "type": "payout.confirmed" if paid else "payout.failed",
                    "created": simulators.unix_now(),
                    "data": {
                        "payout_reference": payout.payout_reference,
                        "network": self.network,
                        "address": address,
                        "txid": payout.psp_reference,
                        "amount": f"{payout.amount:f}",
                        "currency": payout.currency,
                        "reason": payout.failure_message,
                    },
                },
            )
        return payout.psp_reference


def chain_tick() -> int:
    """One block: every unconfirmed simulated transaction gains a confirmation (and we are told)."""
    from payments.adapters.registry import adapter_for

    moved = 0
    with transaction.atomic():
        pending = (
            SimulatedChainTransaction.objects.select_for_update(skip_locked=True)
            .select_related("method")
            .filter(confirmations__lt=F("required_confirmations"))
            .order_by("pk")
        )
        for sent in pending:
            sent.confirmations += 1
            sent.save(update_fields=["confirmations"])
            simulators.webhook_send_after_commit(sent.method, adapter_for(sent.method).transaction_event(sent))
            moved += 1
    return moved


def _amount(data: dict) -> Decimal:
    try:
        amount = Decimal(str(data["amount"]))
        quantize(amount, str(data["currency"]))
    except (KeyError, InvalidOperation, ValueError) as error:
        raise WebhookError("The event's amount or currency cannot be read.") from error
    return amount
