"""The one shape every statement parser returns, and the checks they share.

A parser reads bytes and returns a `ParsedStatement`, or raises `StatementError`
naming what is wrong; it never touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from brokerage.errors import ApplicationError
from brokerage.money import MINOR_UNITS, quantize


class StatementError(ApplicationError):
    """The file cannot be imported: the message says why, on the `file` field."""

    code = "bad_statement"

    def __init__(self, message: str):
        super().__init__(message, fields={"file": [message]})


@dataclass
class ParsedEntry:
    amount: Decimal  # signed: credits positive, debits negative
    currency: str
    booking_date: date | None = None
    value_date: date | None = None
    reference: str = ""
    remittance: str = ""
    counterparty: str = ""
    counterparty_account: str = ""
    entry_type: str = ""
    fee: Decimal = Decimal(0)
    # False for entries the bank lists but has not booked (camt status PDNG / INFO).
    is_booked: bool = True


@dataclass
class ParsedStatement:
    format: str  # a StatementImport.Format value: what the content turned out to be
    account: str = ""
    currency: str = ""
    statement_date: date | None = None
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    entries: list[ParsedEntry] = field(default_factory=list)
    balances_agree: bool | None = None
    balance_detail: str = ""


def currency_checked(code: str | None, where: str) -> str:
    code = (code or "").strip().upper()
    if not code:
        raise StatementError(f"{where} has no currency.")
    if code not in MINOR_UNITS:
        raise StatementError(f"{where} is in {code}, a currency this system does not know.")
    return code


def amount_checked(text: str | None, currency: str, where: str) -> Decimal:
    """A non-negative amount with no more decimals than its currency has (statements carry signs apart)."""
    text = (text or "").strip().replace(",", ".")
    if not text:
        raise StatementError(f"{where} has no amount.")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise StatementError(f"{where}: {text!r} is not an amount.") from None
    if not amount.is_finite():
        raise StatementError(f"{where}: {text!r} is not an amount.")
    if quantize(amount, currency) != amount:
        raise StatementError(f"{where}: {text} has more decimals than {currency} allows.")
    return amount


def balance_check(statement: ParsedStatement) -> None:
    """Fill balances_agree and balance_detail: opening + booked entries should equal closing."""
    if statement.opening_balance is None or statement.closing_balance is None:
        statement.balances_agree = None
        statement.balance_detail = "The file carries no opening and closing balance to check."
        return
    total = sum((e.amount for e in statement.entries if e.is_booked), Decimal(0))
    expected = statement.opening_balance + total
    statement.balances_agree = expected == statement.closing_balance
    verdict = "agree" if statement.balances_agree else f"differ by {statement.closing_balance - expected:f}"
    statement.balance_detail = (
        f"Opening {statement.opening_balance:f} + entries {total:f} = {expected:f}; "
        f"closing {statement.closing_balance:f}: {verdict}."
    )


def statements_combined(parts: list[ParsedStatement], fmt: str) -> ParsedStatement:
    """One import from a file holding several statements of one account (MT940 and camt allow it)."""
    if not parts:
        raise StatementError("The file holds no statement.")
    accounts = sorted({p.account for p in parts})
    currencies = sorted({p.currency for p in parts if p.currency})
    if len(accounts) > 1 or len(currencies) > 1:
        held = ", ".join(f"{a or '?'}" for a in accounts) + " / " + ", ".join(currencies)
        raise StatementError(
            f"The file holds statements of more than one account or currency ({held}): import them one by one."
        )
    if len(parts) == 1:
        return parts[0]
    combined = ParsedStatement(
        format=fmt,
        account=accounts[0],
        currency=currencies[0] if currencies else "",
        statement_date=max((p.statement_date for p in parts if p.statement_date), default=None),
        opening_balance=parts[0].opening_balance,
        closing_balance=parts[-1].closing_balance,
        entries=[entry for part in parts for entry in part.entries],
    )
    verdicts = [p.balances_agree for p in parts]
    combined.balances_agree = None if None in verdicts else all(verdicts)
    combined.balance_detail = " ".join(
        f"Statement {number}: {part.balance_detail}" for number, part in enumerate(parts, start=1)
    )[:500]
    return combined


def text_decoded(data: bytes, *, fallback: str = "latin-1") -> str:
    """UTF-8 (with or without a byte-order mark), else the fallback: MT940 files are often Latin-1."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode(fallback)


def one_line(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]
