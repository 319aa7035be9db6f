"""SWIFT MT940 end-of-day statements, read with the `mt-940` package.

The package merges every statement of a file into one list and keeps only the
last statement's balances, so the file is cut at each `:20:` (transaction
reference, the first tag of a statement) and each statement is parsed on its
own: that way each one's opening + entries = closing can be checked (`:60F:` /
`:60M:` opening, `:61:` entries, `:62F:` / `:62M:` closing). The entry reference
is the `:61:` customer reference, or the bank's reference when the customer's is
NONREF; the remittance is the `:86:` details on one line.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from decimal import Decimal

import mt940

from brokerage.money import quantize
from payments.reconciliation.parsers.base import (
    ParsedEntry,
    ParsedStatement,
    StatementError,
    balance_check,
    currency_checked,
    one_line,
    statements_combined,
    text_decoded,
)

# The package logs every field it fails to read at ERROR, with its regex; our StatementError says it once.
logging.getLogger("mt940").setLevel(logging.CRITICAL)

_STATEMENT_START = re.compile(r"^:20:", re.MULTILINE)
_ENTRY_TAG = re.compile(r"^:61:", re.MULTILINE)


def parse(data: bytes) -> ParsedStatement:
    text = text_decoded(data).replace("\r\n", "\n").replace("\r", "\n")
    starts = [match.start() for match in _STATEMENT_START.finditer(text)]
    if not starts:
        raise StatementError("This is not an MT940 statement: it has no :20: tag.")
    chunks = [text[start:end] for start, end in zip(starts, [*starts[1:], len(text)], strict=True)]
    parts = [_statement(chunk, number) for number, chunk in enumerate(chunks, start=1)]
    return statements_combined(parts, "mt940")


def _statement(chunk: str, number: int) -> ParsedStatement:
    where = f"Statement {number}"
    transactions = mt940.models.Transactions()
    try:
        transactions.parse(chunk)
    except RuntimeError as error:  # (message, tag, text) when a tag's content does not parse
        tag, text = error.args[1:3] if len(error.args) >= 3 else (None, "")
        field = f":{getattr(tag, 'id', '?')}:"
        raise StatementError(
            f"{where}: the {field} field {str(text)[:40]!r} cannot be read; is the file complete?"
        ) from None
    except Exception as error:  # the package raises other kinds too on odd input
        raise StatementError(f"{where} is not valid MT940 ({type(error).__name__}: {error}).") from None
    if len(transactions) != len(_ENTRY_TAG.findall(chunk)):
        raise StatementError(f"{where}: some :61: entries could not be read; is the file complete?")
    data = transactions.data
    opening = data.get("final_opening_balance") or data.get("intermediate_opening_balance")
    closing = data.get("final_closing_balance") or data.get("intermediate_closing_balance")
    # Opening (:60a:) and closing (:62a:) balances are mandatory: a statement without them is cut short.
    if opening is None:
        raise StatementError(f"{where} has no opening balance (:60F:); is the file complete?")
    if closing is None:
        raise StatementError(f"{where} has no closing balance (:62F:); is the file complete?")
    currency = currency_checked(transactions.currency, where)
    statement = ParsedStatement(
        format="mt940",
        account=(data.get("account_identification") or "")[:64],
        currency=currency,
        statement_date=_plain_date(closing.date) if closing is not None else None,
        opening_balance=_balance(opening, currency, f"{where}, opening balance"),
        closing_balance=_balance(closing, currency, f"{where}, closing balance"),
    )
    for position, transaction in enumerate(transactions, start=1):
        statement.entries.append(_entry(transaction.data, currency, f"{where}, entry {position}"))
    balance_check(statement)
    return statement


def _balance(balance, currency: str, where: str) -> Decimal | None:
    if balance is None:
        return None
    if balance.amount.currency and balance.amount.currency.upper() != currency:
        raise StatementError(f"{where} is in {balance.amount.currency}, the statement in {currency}.")
    return _amount(balance.amount.amount, currency, where)


def _amount(value: Decimal, currency: str, where: str) -> Decimal:
    if quantize(value, currency) != value:
        raise StatementError(f"{where}: {value} has more decimals than {currency} allows.")
    return quantize(value, currency)


def _entry(data: dict, statement_currency: str, where: str) -> ParsedEntry:
    if data.get("amount") is None:
        raise StatementError(f"{where} has no amount.")
    currency = currency_checked(data.get("currency") or statement_currency, where)
    customer = (data.get("customer_reference") or "").strip()
    bank = (data.get("bank_reference") or "").strip()
    reference = bank if customer.upper() in ("", "NONREF") else customer
    details = " ".join(part for part in (data.get("transaction_details"), data.get("extra_details")) if part)
    return ParsedEntry(
        amount=_amount(data["amount"].amount, currency, where),
        currency=currency,
        booking_date=_plain_date(data.get("entry_date") or data.get("date")),
        value_date=_plain_date(data.get("date")),
        reference=reference[:200],
        remittance=one_line(details, 500),
        entry_type=(data.get("id") or "")[:40],
    )


def _plain_date(value) -> date | None:
    return date(value.year, value.month, value.day) if value else None
