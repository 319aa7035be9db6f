"""Bank wire: instructions with a reference the client types, confirmed by reconciliation.

Each deposit gets an ISO 11649 structured creditor reference ("RF" + two check digits +
8 characters, shown as `RF47 KQMX TBWA`): banks carry it in the remittance field. New
references are letters only, without I, L and O (nothing to mistake for 1 or 0), so each
character counts as two digits in the mod-97 check: every single mistyped letter and every
swap of two neighbours is caught. Bodies with the digits 2-9 are still read as valid
(`REFERENCE_ALPHABET`, the first format): a digit typed where a letter belongs may pass
the check (about 1 in 97) but can never match a deposit, whose references hold no digits.

There are no webhooks: the deposit waits until reconciliation finds the reference on a
bank statement credit and calls `payments.deposits.services.deposit_confirm` (or finance
confirms it by hand in /ops/). Payouts: `send_payout` only records that the wire is to be
sent under the withdrawal's payout reference (finance sends it from the bank); the final
state comes from reconciliation when the statement debit with that reference arrives.
"""

from __future__ import annotations

import secrets

from payments.adapters.base import DepositInstructions, NextAction, PaymentAdapter, PayoutPermanentError, WebhookError

# What a reference body may hold when read; new ones are made of the letters alone.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
GENERATED_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_BODY_LENGTH = 8
REFERENCE_LENGTH = 4 + REFERENCE_BODY_LENGTH


def _mod97(text: str) -> int:
    """ISO 7064 MOD 97-10 over letters as numbers (A=10 ... Z=35), as for IBANs."""
    return int("".join(str(int(char, 36)) for char in text)) % 97


def wire_reference_for(body: str) -> str:
    check = 98 - _mod97(body + "RF00")
    return f"RF{check:02d}{body}"


def wire_reference_new() -> str:
    return wire_reference_for("".join(secrets.choice(GENERATED_ALPHABET) for _ in range(REFERENCE_BODY_LENGTH)))


def wire_reference_is_valid(text: str) -> bool:
    reference = "".join(text.split()).upper()
    return (
        len(reference) == REFERENCE_LENGTH
        and reference.startswith("RF")
        and reference[2:4].isdigit()
        and all(char in REFERENCE_ALPHABET for char in reference[4:])
        and _mod97(reference[4:] + reference[:4]) == 1
    )


def wire_references_in(text: str) -> list[str]:
    """Every valid reference of ours in free text (a statement's remittance), however spaced."""
    squeezed = "".join(text.split()).upper()
    found = []
    start = squeezed.find("RF")
    while start != -1:
        candidate = squeezed[start : start + REFERENCE_LENGTH]
        if wire_reference_is_valid(candidate) and candidate not in found:
            found.append(candidate)
        start = squeezed.find("RF", start + 1)
    return found


def wire_reference_display(reference: str) -> str:
    return " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))


class BankWireAdapter(PaymentAdapter):
    provider = "bank_wire"
    label = "Bank wire (matched by reconciliation)"

    def deposit_start(self, deposit, *, return_url: str) -> DepositInstructions:
        from payments.models import Deposit

        reference = wire_reference_new()
        while Deposit.objects.filter(wire_reference=reference).exists():
            reference = wire_reference_new()
        return DepositInstructions(next_action=NextAction.BANK_WIRE, wire_reference=reference)

    def bank_details(self) -> dict[str, str]:
        """What the client needs to send the wire (PaymentMethod.settings)."""
        keys = ("beneficiary", "bank", "iban", "bic", "account_number", "sort_code", "address")
        return {key: str(self.method.settings[key]) for key in keys if self.method.settings.get(key)}

    def webhook_parse(self, *, headers, body, now=None):
        raise WebhookError("Bank wires send no webhooks: they are matched by reconciliation.")

    def send_payout(self, withdrawal) -> str:
        """Nothing leaves here: the payout reference is what the wire must carry, for reconciliation."""
        if not (withdrawal.destination or {}).get("iban"):
            raise PayoutPermanentError("A bank wire payout needs an IBAN.")
        return withdrawal.payout_reference
