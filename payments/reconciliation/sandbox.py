"""The settlement file the built-in sandbox card PSP would send for a day, so the demo can close the loop.

It lists what the sandbox PSP saw complete that day: every completed card
deposit (a `payment` row, less the sandbox PSP's own fee) and every paid card
withdrawal (a `refund` row when it went back to the card it came from, else a
`payout` row), in the format of `parsers.psp_csv`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from brokerage.errors import ApplicationError
from brokerage.money import quantize
from payments.models import PaymentMethod
from payments.reconciliation.matching import deposits_completed, withdrawals_paid
from payments.reconciliation.parsers.psp_csv import settlement_csv

SANDBOX_PROVIDER = "sandbox_card"
# What the sandbox PSP keeps of each card payment (the broker's own client fee is separate).
SANDBOX_FEE_PERCENT = Decimal("1.4")
SANDBOX_FEE_FIXED = Decimal("0.20")


def sandbox_fee(amount: Decimal, currency: str) -> Decimal:
    return quantize(amount * SANDBOX_FEE_PERCENT / 100 + SANDBOX_FEE_FIXED, currency)


def sandbox_settlement_csv(*, method: PaymentMethod, day: date) -> str:
    if method.provider != SANDBOX_PROVIDER:
        raise ApplicationError(
            f"{method} is not the sandbox card PSP: its settlement files come from the PSP itself.",
            fields={"method": ["Not a sandbox card method."]},
        )
    rows = []
    for deposit in deposits_completed(method, day).exclude(psp_reference=None).order_by("completed_at", "pk"):
        gross = quantize(deposit.amount, deposit.currency)
        fee = sandbox_fee(gross, deposit.currency)
        rows.append(_row(day, "payment", deposit.psp_reference, deposit.currency, gross, fee))
    for withdrawal in withdrawals_paid(method, day).exclude(psp_reference="").order_by("pk"):
        gross = -quantize(withdrawal.amount - withdrawal.fee, withdrawal.currency)
        kind = "refund" if withdrawal.destination.get("deposit") else "payout"
        rows.append(_row(day, kind, withdrawal.psp_reference, withdrawal.currency, gross, Decimal(0)))
    return settlement_csv(rows)


def _row(day: date, kind: str, reference: str, currency: str, gross: Decimal, fee: Decimal) -> dict[str, str]:
    fee = quantize(fee, currency)
    return {
        "settlement_date": day.isoformat(),
        "type": kind,
        "psp_reference": reference,
        "currency": currency,
        "gross": f"{gross:f}",
        "fee": f"{fee:f}",
        "net": f"{gross - fee:f}",
    }
