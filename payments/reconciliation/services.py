"""Reconciliation writes: import a statement file and match it; resolve what needs a person.

An import is one database transaction: the file is parsed completely before
anything is written, every entry is stored, matched (confirming wire deposits
and settling payouts on the way) and audited, or nothing is. The same file
(by SHA-256) is refused a second time.
"""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction
from django.utils import timezone

from brokerage.audit import audit_log, snapshot
from brokerage.errors import ApplicationError
from brokerage.events import event_publish
from brokerage.money import quantize
from payments.deposits.services import deposit_confirm
from payments.models import Deposit, PaymentMethod, StatementEntry, StatementImport
from payments.reconciliation.matching import BankMatcher, PspMatcher, entry_psp_reference, normalised
from payments.reconciliation.parsers import ParsedStatement, StatementError, statement_parse

Status = StatementEntry.Status
Format = StatementImport.Format
ENTRY_FIELDS = ["status", "reason", "deposit", "withdrawal", "transaction", "resolved_by", "resolution_note"]


def statement_import(
    *, data: bytes, filename: str, format: str, method: PaymentMethod | None = None, actor=None
) -> StatementImport:
    """Parse, store and match one statement file; raises StatementError / ApplicationError with the reason."""
    parsed = statement_parse(data, format)
    digest = hashlib.sha256(data).hexdigest()
    _refuse_duplicate(digest)
    method = _method_for(parsed, method)
    with transaction.atomic():
        try:
            with transaction.atomic():
                statement = StatementImport.objects.create(
                    format=parsed.format,
                    method=method,
                    filename=filename[:255],
                    sha256=digest,
                    account=parsed.account[:64],
                    currency=parsed.currency,
                    statement_date=parsed.statement_date,
                    opening_balance=parsed.opening_balance,
                    closing_balance=parsed.closing_balance,
                    balances_agree=parsed.balances_agree,
                    balance_detail=parsed.balance_detail[:500],
                    imported_by=actor if getattr(actor, "is_authenticated", False) else None,
                )
        except IntegrityError:  # the same file, imported by a racing request
            _refuse_duplicate(digest)
            raise
        entries = _entries_matched(statement, parsed)
        StatementEntry.objects.bulk_create(entries)
        counts = statement_counts(statement)
        audit_log(
            actor=actor,
            action="payments.statement.imported",
            obj=statement,
            after={"filename": statement.filename, "format": statement.format, "sha256": digest, **counts},
        )
        event_publish("payments.statement.imported", {"statement_id": statement.pk, **counts})
    return statement


def _refuse_duplicate(digest: str) -> None:
    earlier = StatementImport.objects.filter(sha256=digest).select_related("imported_by").first()
    if earlier is not None:
        who = f" by {earlier.imported_by.email}" if earlier.imported_by else ""
        raise StatementError(
            f"This file was already imported on {timezone.localtime(earlier.imported_at):%Y-%m-%d %H:%M}{who} "
            f"(import #{earlier.pk}, {earlier.filename})."
        )


def _method_for(parsed: ParsedStatement, method: PaymentMethod | None) -> PaymentMethod | None:
    """The PSP the file comes from: as chosen, else the bank-wire method of the statement's account."""
    if parsed.format == Format.PSP_CSV:
        if method is None:
            cards = list(PaymentMethod.objects.filter(kind=PaymentMethod.Kind.CARD)[:2])
            if len(cards) != 1:
                raise ApplicationError(
                    "Choose the PSP (payment method) this settlement file comes from.",
                    fields={"method": ["Required for a PSP settlement file."]},
                )
            method = cards[0]
        return method
    if method is not None:
        return method
    wires = list(PaymentMethod.objects.filter(kind=PaymentMethod.Kind.BANK_WIRE))
    account = normalised(parsed.account)
    same_account = [m for m in wires if account and normalised(str(m.settings.get("iban", ""))) == account]
    if same_account:
        return same_account[0]
    return wires[0] if len(wires) == 1 else None


def _entries_matched(statement: StatementImport, parsed: ParsedStatement) -> list[StatementEntry]:
    entries = [
        StatementEntry(
            statement=statement,
            line_no=line_no,
            booking_date=item.booking_date,
            value_date=item.value_date,
            amount=item.amount,
            fee=item.fee,
            currency=item.currency,
            reference=item.reference[:200],
            remittance=item.remittance[:500],
            counterparty=item.counterparty[:200],
            counterparty_account=item.counterparty_account[:64],
            entry_type=item.entry_type[:40],
            status=Status.EXCEPTION,
        )
        for line_no, item in enumerate(parsed.entries, start=1)
    ]
    booked = {line_no for line_no, item in enumerate(parsed.entries, start=1) if item.is_booked}
    matcher = PspMatcher(statement) if statement.format == Format.PSP_CSV else BankMatcher(statement)
    for entry in entries:
        if entry.line_no not in booked:
            entry.status, entry.reason = Status.IGNORED, "Not booked by the bank (pending or for information)."
            continue
        matcher.match(entry)
    if isinstance(matcher, PspMatcher):
        entries += matcher.missing(entries)
    return entries


def statement_summary(statement: StatementImport) -> str:
    """ "Imported 5 entries: 2 deposits confirmed, 1 matched, 2 need attention." """
    counts = statement_counts(statement)

    def n(count: int, one: str, many: str) -> str:
        return f"{count} {one if count == 1 else many}"

    parts = [
        n(counts["auto_confirmed"], "deposit confirmed", "deposits confirmed"),
        f"{counts['matched']} matched",
        n(counts["exception"], "needs attention", "need attention"),
    ]
    if counts["ignored"]:
        parts.append(f"{counts['ignored']} ignored")
    return f"Imported {n(counts['entries'], 'entry', 'entries')}: {', '.join(parts)}."


def statement_counts(statement: StatementImport) -> dict[str, int]:
    counts = dict.fromkeys(Status.values, 0)
    for status in statement.entries.values_list("status", flat=True):
        counts[status] += 1
    return {"entries": sum(counts.values()), **counts}


# Resolving exceptions -----------------------------------------------------------------------------


def _locked_exception(entry: StatementEntry) -> StatementEntry:
    entry = StatementEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status != Status.EXCEPTION:
        raise ApplicationError(
            f"This entry is {entry.get_status_display().lower()} already; only entries needing attention are resolved.",
            code="entry_not_open",
        )
    return entry


def entry_resolve(*, entry: StatementEntry, ignore: bool = False, note: str, actor) -> StatementEntry:
    """Close an exception with a note: resolved (dealt with elsewhere) or ignored (not ours to match)."""
    note = note.strip()
    if not note:
        raise ApplicationError("Say what was done or why it is ignored.", fields={"note": ["Required."]})
    with transaction.atomic():
        entry = _locked_exception(entry)
        before = snapshot(entry, ENTRY_FIELDS)
        entry.status = Status.IGNORED if ignore else Status.RESOLVED
        _closed_by(entry, actor, note)
        audit_log(
            actor=actor,
            action="payments.statement_entry." + ("ignored" if ignore else "resolved"),
            obj=entry,
            before=before,
            after=snapshot(entry, ENTRY_FIELDS),
        )
    return entry


def entry_link_deposit(*, entry: StatementEntry, deposit: Deposit, note: str = "", actor) -> StatementEntry:
    """Confirm a waiting deposit with what this credit brought in, and close the exception."""
    with transaction.atomic():
        entry = _locked_exception(entry)
        deposit = Deposit.objects.select_for_update().get(pk=deposit.pk)
        if entry.amount <= 0:
            raise ApplicationError("Only money received (a credit) can confirm a deposit.", code="not_a_credit")
        if deposit.currency != entry.currency:
            raise ApplicationError(
                f"The deposit is in {deposit.currency}; the money came in {entry.currency}.",
                fields={"deposit": ["Another currency."]},
            )
        if deposit.status == Deposit.Status.COMPLETED:
            raise ApplicationError(
                "That deposit is completed already: confirming it again would credit the client twice. "
                "Mark this entry resolved with a note instead.",
                fields={"deposit": ["Already completed."]},
            )
        before = snapshot(entry, ENTRY_FIELDS)
        deposit_confirm(
            deposit, amount=entry.amount, actor=actor, actor_label="staff", psp_reference=entry_psp_reference(entry)
        )
        deposit.refresh_from_db()
        entry.status = Status.RESOLVED
        entry.deposit = deposit
        entry.transaction_id = deposit.transaction_id
        label = deposit.wire_reference or deposit.psp_reference or str(deposit.public_id)
        received = f"{quantize(entry.amount, entry.currency):f} {entry.currency}"
        _closed_by(entry, actor, note.strip() or f"Confirmed deposit {label} with {received}.")
        audit_log(
            actor=actor,
            action="payments.statement_entry.linked",
            obj=entry,
            before=before,
            after=snapshot(entry, ENTRY_FIELDS),
        )
        event_publish(
            "payments.statement_entry.linked",
            {"entry_id": entry.pk, "deposit_id": deposit.pk, "amount": str(entry.amount), "currency": entry.currency},
        )
    return entry


def _closed_by(entry: StatementEntry, actor, note: str) -> None:
    entry.resolved_by = actor
    entry.resolved_at = timezone.now()
    entry.resolution_note = note[:500]
    entry.save(update_fields=["status", "deposit", "transaction", "resolved_by", "resolved_at", "resolution_note"])
