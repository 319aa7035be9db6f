"""ISO 20022 bank-to-customer messages: camt.053 (statement), camt.052 (intraday report), camt.054 (notification).

Read with defusedxml (no DTDs, no entity expansion: an XML bomb is refused) and
namespace-agnostic, so every version from .001.02 to .001.08 (and later) reads
alike. Where the versions differ the parser accepts both spellings: status as
`<Sts>BOOK</Sts>` or `<Sts><Cd>BOOK</Cd></Sts>`, a party's name as `Dbtr/Nm`
or `Dbtr/Pty/Nm`, a transaction amount as `TxDtls/Amt` or `TxDtls/AmtDtls/TxAmt/Amt`.

An entry (`Ntry`) with several `TxDtls` that each carry an amount (a batch)
becomes one entry per transaction, so each transfer can be matched on its own.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from payments.reconciliation.parsers.base import (
    ParsedEntry,
    ParsedStatement,
    StatementError,
    amount_checked,
    balance_check,
    currency_checked,
    one_line,
    statements_combined,
)

# Message root -> (statement element, our format)
_MESSAGES = {
    "BkToCstmrStmt": ("Stmt", "camt053"),
    "BkToCstmrAcctRpt": ("Rpt", "camt052"),
    "BkToCstmrDbtCdtNtfctn": ("Ntfctn", "camt054"),
}
_OPENING = ("OPBD", "PRCD")  # opening booked, or the previous day's closing
_CLOSING = ("CLBD",)


def parse(data: bytes) -> ParsedStatement:
    root = _document(data)
    message = next((child for child in root if child.tag in _MESSAGES), None)
    if message is None:
        raise StatementError(
            f"This XML is not a camt.052, camt.053 or camt.054 bank message (its root holds {_child_names(root)})."
        )
    statement_tag, fmt = _MESSAGES[message.tag]
    parts = [_statement(element, fmt, number) for number, element in enumerate(message.findall(statement_tag), 1)]
    if not parts:
        raise StatementError(f"The {fmt[:4]}.{fmt[4:]} message holds no <{statement_tag}> statement.")
    return statements_combined(parts, fmt)


def _document(data: bytes) -> Element:
    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as error:
        raise StatementError(
            f"The XML was refused as unsafe ({type(error).__name__}): bank statements never carry DTDs or entities."
        ) from None
    except ParseError as error:
        raise StatementError(f"The file is not well-formed XML ({error}); is it complete?") from None
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    if root.tag != "Document":
        raise StatementError(f"This XML is not an ISO 20022 document (its root is <{root.tag}>).")
    return root


def _child_names(element: Element) -> str:
    return ", ".join(f"<{child.tag}>" for child in element) or "nothing"


def _text(element: Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path)
    return (found.text or "").strip() if found is not None and found.text else ""


def _first(element: Element | None, *paths: str) -> str:
    for path in paths:
        if value := _text(element, path):
            return value
    return ""


def _date(element: Element | None, path: str, where: str) -> date | None:
    """`<BookgDt><Dt>` or `<BookgDt><DtTm>` (the date part of a timestamp)."""
    value = _first(element, f"{path}/Dt", f"{path}/DtTm") if element is not None else ""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise StatementError(f"{where}: {value!r} is not a date.") from None


def _signed(amount: Decimal, indicator: str, where: str) -> Decimal:
    if indicator == "CRDT":
        return amount
    if indicator == "DBIT":
        return -amount
    raise StatementError(f"{where} has no credit/debit indicator (CdtDbtInd CRDT or DBIT), got {indicator!r}.")


def _statement(element: Element, fmt: str, number: int) -> ParsedStatement:
    where = f"Statement {number}"
    account = _first(element, "Acct/Id/IBAN", "Acct/Id/Othr/Id")
    currency = _text(element, "Acct/Ccy")
    statement = ParsedStatement(format=fmt, account=account)
    for balance in element.findall("Bal"):
        code = _first(balance, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry")
        if code not in _OPENING + _CLOSING:
            continue
        amount_element = balance.find("Amt")
        ccy = currency_checked(
            amount_element.get("Ccy") if amount_element is not None else "", f"{where}, balance {code}"
        )
        currency = currency or ccy
        amount = _signed(
            amount_checked(_text(balance, "Amt"), ccy, f"{where}, balance {code}"),
            _text(balance, "CdtDbtInd"),
            f"{where}, balance {code}",
        )
        if code in _CLOSING:
            statement.closing_balance = amount
            statement.statement_date = _date(balance, "Dt", f"{where}, balance {code}")
        elif statement.opening_balance is None or code == "OPBD":
            statement.opening_balance = amount
    for position, entry in enumerate(element.findall("Ntry"), start=1):
        statement.entries += _entries(entry, f"{where}, entry {position}")
    if not currency and statement.entries:
        currency = statement.entries[0].currency
    statement.currency = currency_checked(currency, where) if currency else ""
    if statement.statement_date is None:
        statement.statement_date = _iso_date(_first(element, "FrToDt/ToDtTm", "CreDtTm"))
    balance_check(statement)
    return statement


def _iso_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _entries(entry: Element, where: str) -> list[ParsedEntry]:
    amount_element = entry.find("Amt")
    currency = currency_checked(amount_element.get("Ccy") if amount_element is not None else "", where)
    amount = _signed(amount_checked(_text(entry, "Amt"), currency, where), _text(entry, "CdtDbtInd"), where)
    status = _first(entry, "Sts/Cd", "Sts") or "BOOK"
    entry_type = _bank_code(entry)
    if _text(entry, "RvslInd").lower() == "true":
        entry_type = f"reversal {entry_type}".strip()
    reference = _first(entry, "AcctSvcrRef", "NtryRef")
    extra = _first(entry, "AddtlNtryInf")
    details = entry.findall("NtryDtls/TxDtls")
    parts = _split(entry, details, currency, where) if len(details) > 1 else []
    if not parts or sum((part.amount for part in parts), Decimal(0)) != amount:
        # One transaction, or a batch whose parts carry no amounts (or do not add up): one entry.
        detail = details[0] if len(details) == 1 else None
        remittance = " ".join(_remittance(d) for d in details).strip() or extra
        parts = [
            ParsedEntry(
                amount=amount,
                currency=currency,
                reference=reference or _detail_reference(detail),
                remittance=one_line(remittance, 500),
                **_parties(detail, amount),
            )
        ]
    for part in parts:
        part.booking_date = _date(entry, "BookgDt", where)
        part.value_date = _date(entry, "ValDt", where)
        part.entry_type = entry_type
        part.is_booked = status == "BOOK"
        part.reference = (part.reference or reference)[:200]
        part.remittance = part.remittance or one_line(extra, 500)
    return parts


def _split(entry: Element, details: list[Element], currency: str, where: str) -> list[ParsedEntry]:
    """One entry per TxDtls of a batch, when every one carries its amount in the entry's currency."""
    parts = []
    for position, detail in enumerate(details, start=1):
        amount_element = _detail_amount(detail)
        if amount_element is None or (amount_element.get("Ccy") or "").upper() != currency:
            return []
        spot = f"{where}, transaction {position}"
        indicator = _text(detail, "CdtDbtInd") or _text(entry, "CdtDbtInd")
        amount = _signed(amount_checked(amount_element.text, currency, spot), indicator, spot)
        parts.append(
            ParsedEntry(
                amount=amount,
                currency=currency,
                reference=_detail_reference(detail),
                remittance=one_line(_remittance(detail), 500),
                **_parties(detail, amount),
            )
        )
    return parts


def _detail_amount(detail: Element) -> Element | None:
    for path in ("Amt", "AmtDtls/TxAmt/Amt"):
        found = detail.find(path)
        if found is not None and (found.text or "").strip():
            return found
    return None


def _detail_reference(detail: Element | None) -> str:
    return (
        _first(detail, "Refs/AcctSvcrRef", "Refs/EndToEndId", "Refs/InstrId", "Refs/TxId") if detail is not None else ""
    )


def _remittance(detail: Element) -> str:
    """What the payer wrote: unstructured lines, then structured creditor references and notes."""
    parts = [(e.text or "").strip() for e in detail.findall("RmtInf/Ustrd")]
    for structured in detail.findall("RmtInf/Strd"):
        parts.append(_text(structured, "CdtrRefInf/Ref"))
        parts += [(e.text or "").strip() for e in structured.findall("AddtlRmtInf")]
    text = " ".join(part for part in parts if part)
    return text or _text(detail, "AddtlTxInf")


def _parties(detail: Element | None, amount: Decimal) -> dict[str, str]:
    """The other side: the debtor of a credit, the creditor of a debit."""
    if detail is None:
        return {"counterparty": "", "counterparty_account": ""}
    party = "Dbtr" if amount >= 0 else "Cdtr"
    name = _first(detail, f"RltdPties/{party}/Nm", f"RltdPties/{party}/Pty/Nm")
    account = _first(detail, f"RltdPties/{party}Acct/Id/IBAN", f"RltdPties/{party}Acct/Id/Othr/Id")
    return {"counterparty": one_line(name, 200), "counterparty_account": account[:64]}


def _bank_code(entry: Element) -> str:
    domain = "/".join(
        part
        for part in (
            _text(entry, "BkTxCd/Domn/Cd"),
            _text(entry, "BkTxCd/Domn/Fmly/Cd"),
            _text(entry, "BkTxCd/Domn/Fmly/SubFmlyCd"),
        )
        if part
    )
    return (domain or _text(entry, "BkTxCd/Prtry/Cd"))[:40]
