"""PSP settlement CSV: what a card PSP says it settled, one row per balance movement.

The format (ours; the sandbox card PSP writes it, and a real PSP's report maps onto it):

    settlement_date,type,psp_reference,currency,gross,fee,net
    2026-03-02,payment,cs_9f2c41d0,USD,100.00,1.60,98.40
    2026-03-02,payout,po_51aa0e7b,USD,-50.00,0.00,-50.00
    2026-03-02,fee,,USD,0.00,10.00,-10.00

- UTF-8 (a byte-order mark is fine), comma separated, a header row naming at
  least these columns in any order; other columns are ignored.
- `settlement_date`: ISO date, the day the PSP booked the movement (the day we
  completed the deposit or payout).
- `type`: `payment` (a card deposit), `refund` and `payout` (money we sent out:
  a withdrawal), `fee` (a charge of the PSP's own), `chargeback` (a payment
  taken back).
- `psp_reference`: the PSP's id of the payment or payout: our
  `Deposit.psp_reference` / `Withdrawal.psp_reference`. Empty only on `fee` rows.
- Amounts are signed from the merchant account's side, like a PSP's balance
  report: `gross` is positive for `payment`, negative for `refund`, `payout` and
  `chargeback`, zero for `fee`; `fee` is what the PSP kept (not negative);
  `net = gross - fee` on every row.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from payments.reconciliation.parsers.base import (
    ParsedEntry,
    ParsedStatement,
    StatementError,
    amount_checked,
    balance_check,
    currency_checked,
    text_decoded,
)

COLUMNS = ("settlement_date", "type", "psp_reference", "currency", "gross", "fee", "net")
TYPES = ("payment", "refund", "payout", "fee", "chargeback")
_GROSS_SIGN = {"payment": 1, "refund": -1, "payout": -1, "chargeback": -1, "fee": 0}


def parse(data: bytes) -> ParsedStatement:
    text = text_decoded(data)
    rows = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in rows.fieldnames or []]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise StatementError(
            f"This is not a PSP settlement CSV: the header lacks {', '.join(missing)} "
            f"(expected columns: {', '.join(COLUMNS)})."
        )
    rows.fieldnames = header
    statement = ParsedStatement(format="psp_csv")
    try:
        for row in rows:
            if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
                continue  # a blank line
            statement.entries.append(_entry(row, f"Line {rows.line_num}"))
    except csv.Error as error:
        raise StatementError(f"Line {rows.line_num}: the CSV cannot be read ({error}).") from None
    if not statement.entries:
        raise StatementError("The settlement file has a header but no rows.")
    currencies = {entry.currency for entry in statement.entries}
    statement.currency = currencies.pop() if len(currencies) == 1 else ""
    statement.statement_date = max(entry.booking_date for entry in statement.entries)
    balance_check(statement)
    return statement


def _entry(row: dict, where: str) -> ParsedEntry:
    if None in row:
        raise StatementError(f"{where} has more values than the header has columns.")
    values = {column: (row.get(column) or "").strip() for column in COLUMNS}
    try:
        booked = date.fromisoformat(values["settlement_date"])
    except ValueError:
        raise StatementError(
            f"{where}: settlement_date {values['settlement_date']!r} is not a date (YYYY-MM-DD)."
        ) from None
    kind = values["type"].lower()
    if kind not in TYPES:
        raise StatementError(f"{where}: type {values['type']!r} is not one of {', '.join(TYPES)}.")
    currency = currency_checked(values["currency"], where)
    gross = _signed(values["gross"], currency, f"{where}, gross")
    fee = _signed(values["fee"], currency, f"{where}, fee")
    net = _signed(values["net"], currency, f"{where}, net")
    sign = _GROSS_SIGN[kind]
    if (sign > 0 and gross <= 0) or (sign < 0 and gross >= 0) or (sign == 0 and gross != 0):
        expected = {1: "positive", -1: "negative", 0: "zero"}[sign]
        raise StatementError(f"{where}: the gross of a {kind} row is {expected}, not {gross}.")
    if fee < 0:
        raise StatementError(f"{where}: fee {fee} is negative; it is what the PSP kept.")
    if net != gross - fee:
        raise StatementError(f"{where}: net {net} is not gross {gross} minus fee {fee}.")
    if not values["psp_reference"] and kind != "fee":
        raise StatementError(f"{where}: a {kind} row needs its psp_reference.")
    return ParsedEntry(
        amount=gross,
        fee=fee,
        currency=currency,
        booking_date=booked,
        value_date=booked,
        reference=values["psp_reference"][:200],
        entry_type=kind,
    )


def _signed(text: str, currency: str, where: str) -> Decimal:
    negative = text.startswith("-")
    amount = amount_checked(text.lstrip("+-"), currency, where)
    return -amount if negative else amount


def settlement_csv(rows: list[dict]) -> str:
    """Write rows (dicts with the COLUMNS as keys) in this format."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
