"""The one small interface every payment provider sits behind.

A provider is one subclass of `PaymentAdapter`, registered under the key that
`PaymentMethod.provider` names (payments.adapters.registry). It does three things:

- `deposit_start(deposit)`: open the payment at the provider and say what the client
  must do next (`DepositInstructions`): follow a redirect (cards), send a wire with a
  reference (bank wire), or send coins to an address (crypto);
- `webhook_parse(headers, body)`: check the provider's signature over the RAW body and
  turn the notification into a `WebhookEvent` (`SignatureError` / `WebhookError` if not);
- `send_payout(withdrawal)`: pay a withdrawal out, idempotently towards the provider by
  `withdrawal.payout_reference` (a second call for the same reference never pays twice),
  returning the provider's reference; `PayoutTransientError` means "try again later",
  `PayoutPermanentError` means "this payout cannot be made".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from payments.models import Deposit, PaymentMethod, Withdrawal

# A signed webhook older or newer than this (seconds) is refused: a replay, or a clock gone wrong.
TIMESTAMP_TOLERANCE = 300


class WebhookError(Exception):
    """The notification cannot be read (not JSON, fields missing, a currency we do not know)."""


class SignatureError(WebhookError):
    """The signature is missing, wrong, or too old: nothing in the body may be trusted."""


class PayoutError(Exception):
    """A payout was not made."""


class PayoutTransientError(PayoutError):
    """The provider could not take the payout now (timeout, outage, rate limit): retry later."""


class PayoutPermanentError(PayoutError):
    """The provider refused the payout for good (bad destination, unsupported currency)."""


class NextAction(enum.StrEnum):
    REDIRECT = "redirect"
    BANK_WIRE = "bank_wire"
    CRYPTO = "crypto"


@dataclass(frozen=True)
class DepositInstructions:
    """What the provider gave back for a new deposit, and so what the client must do next."""

    next_action: NextAction
    psp_reference: str = ""
    checkout_url: str = ""
    wire_reference: str = ""
    crypto_address: str = ""
    required_confirmations: int = 0


class EventKind(enum.StrEnum):
    DEPOSIT_CONFIRMING = "deposit.confirming"  # seen, not final yet (chain confirmations)
    DEPOSIT_SUCCEEDED = "deposit.succeeded"
    DEPOSIT_FAILED = "deposit.failed"
    PAYOUT_PAID = "payout.paid"
    PAYOUT_FAILED = "payout.failed"
    IGNORED = "ignored"  # a notification we do not act on (it is still stored)


@dataclass(frozen=True)
class WebhookEvent:
    """A provider's notification in our terms, whatever its wire format."""

    event_id: str
    event_type: str  # the provider's own name for it, for the record
    kind: EventKind
    # Our deposit's public id, which the provider echoes back (deposits).
    merchant_reference: str = ""
    # Our withdrawal's payout reference (payouts).
    payout_reference: str = ""
    psp_reference: str = ""
    amount: Decimal | None = None
    currency: str = ""
    confirmations: int = 0
    reason: str = ""
    # What the client paid with, for return-to-source ("Visa •••• 4242").
    source_label: str = ""
    extra: dict = field(default_factory=dict)


class PaymentAdapter:
    """Base of every provider adapter. One instance serves one PaymentMethod."""

    provider: ClassVar[str]
    label: ClassVar[str]
    # True for the built-in simulators: they sign and deliver their own webhooks.
    is_simulator: ClassVar[bool] = False

    def __init__(self, method: PaymentMethod):
        self.method = method

    @property
    def secret(self) -> str:
        return self.method.webhook_secret or ""

    def deposit_start(self, deposit: Deposit, *, return_url: str) -> DepositInstructions:
        raise NotImplementedError

    def webhook_parse(self, *, headers: dict[str, str], body: bytes, now: float | None = None) -> WebhookEvent:
        raise NotImplementedError

    def send_payout(self, withdrawal: Withdrawal) -> str:
        raise NotImplementedError

    def webhook_headers(self, body: bytes, *, now: float | None = None) -> dict[str, str]:
        """Simulators only: the signature headers the provider would send with `body`."""
        raise NotImplementedError


def header(headers: dict[str, str], name: str) -> str:
    """A header's value whatever its case ("" if absent)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""
