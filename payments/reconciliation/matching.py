"""Matching statement entries to our deposits and withdrawals.

Bank statements: a credit is a client's wire, found by the deposit's ISO 11649
`wire_reference` anywhere in what the client wrote or the bank's reference
(`payments.adapters.bank_wire.wire_references_in`; case, spaces and punctuation
do not matter). Its check digits make a typo match nothing rather than someone
else's deposit, and such a near miss is named in the reason. The exact amount
in the same currency confirms a waiting deposit (`deposit_confirm`); anything
else goes to a person with the reason. A debit is one of our bank-wire payouts,
found by its `payout_reference`, and settles it (`withdrawal_payout_settled`).

PSP settlement files: each row is found by the PSP's reference and must agree
in amount, currency and date; our completed items of the file's dates that no
file lists are added as exceptions too ("missing on the PSP's side").

Every matcher locks the deposit or withdrawal row before it reads its state, so
two imports racing for the same reference confirm it once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from brokerage.errors import ApplicationError
from brokerage.money import quantize
from payments.adapters.bank_wire import REFERENCE_ALPHABET, REFERENCE_BODY_LENGTH, wire_references_in
from payments.deposits.services import deposit_confirm
from payments.models import Deposit, PaymentMethod, StatementEntry, StatementImport, Withdrawal
from payments.withdrawals.services import withdrawal_payout_settled

Status = StatementEntry.Status
ACTOR_LABEL = "reconciliation"
# Entries that tie a deposit or withdrawal to money that really moved.
SETTLING = (Status.MATCHED, Status.AUTO_CONFIRMED, Status.RESOLVED)
# Shorter references are too likely to appear by chance inside other text.
MIN_REFERENCE_LENGTH = 6
# Payouts settled longer ago than this are not looked for in new statements.
RECENT_PAYOUTS = timedelta(days=90)
# An ISO 11649 reference shape ("RF" + 2 digits + 8 characters) whose check digits failed.
_NEAR_MISS = re.compile(rf"RF[0-9]{{2}}[{REFERENCE_ALPHABET}]{{{REFERENCE_BODY_LENGTH}}}")


def normalised(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", text.upper())


class ReferenceIndex:
    """Our references, found anywhere inside the free text of a statement entry."""

    def __init__(self, pairs: Iterable[tuple[str | None, int]]):
        self._ids: dict[str, int] = {}
        for reference, pk in pairs:
            key = normalised(reference or "")
            if len(key) >= MIN_REFERENCE_LENGTH:
                self._ids[key] = pk
        self._lengths = sorted({len(key) for key in self._ids}, reverse=True)

    def find(self, *texts: str) -> int | None:
        for text in texts:
            haystack = normalised(text)
            for length in self._lengths:
                for start in range(len(haystack) - length + 1):
                    found = self._ids.get(haystack[start : start + length])
                    if found is not None:
                        return found
        return None


def paid_on(withdrawal: Withdrawal) -> date:
    moment = withdrawal.transaction.posted_at if withdrawal.transaction_id else withdrawal.updated_at
    return timezone.localdate(moment)


def _money(amount: Decimal, currency: str) -> str:
    return f"{quantize(amount, currency):f} {currency}"


def settled_by(*, exclude: StatementEntry | None = None, **subject) -> StatementEntry | None:
    """An entry that already settled this deposit or withdrawal (in any statement), other than `exclude`."""
    others = StatementEntry.objects.filter(status__in=SETTLING, missing_in_file=False, **subject)
    if exclude is not None and exclude.pk:
        others = others.exclude(pk=exclude.pk)
    return others.order_by("pk").first()


def _exception(entry: StatementEntry, reason: str) -> None:
    entry.status = Status.EXCEPTION
    entry.reason = reason[:300]


class _Matcher:
    """Remembers what this import settled so far: its entries are written only after matching."""

    def __init__(self, statement: StatementImport):
        self.statement = statement
        self._settled: dict[tuple[str, int], StatementEntry] = {}

    def _settled_before(self, entry: StatementEntry, **subject) -> str:
        """Where this deposit or withdrawal was settled already ("" if nowhere)."""
        ((field, row),) = subject.items()
        other = self._settled.get((field, row.pk)) or settled_by(exclude=entry, **subject)
        if other is None:
            return ""
        if other.statement_id == self.statement.pk:
            return f"line {other.line_no} of this file"
        return f"statement #{other.statement_id} line {other.line_no}"

    def _settle(self, entry: StatementEntry, status: str, **subject) -> None:
        ((field, row),) = subject.items()
        entry.status, entry.reason, entry.transaction_id = status, "", row.transaction_id
        self._settled[(field, row.pk)] = entry


# Bank statements ----------------------------------------------------------------------------------


class BankMatcher(_Matcher):
    def __init__(self, statement: StatementImport):
        super().__init__(statement)
        # Open payouts, and those paid lately (to tell a second debit for the same payout).
        recent = timezone.now() - RECENT_PAYOUTS
        payouts = Withdrawal.objects.filter(method__kind=PaymentMethod.Kind.BANK_WIRE).filter(
            ~Q(status__in=Withdrawal.FINAL) | Q(updated_at__gte=recent)
        )
        self.payouts = ReferenceIndex(payouts.values_list("payout_reference", "pk"))

    def match(self, entry: StatementEntry) -> None:
        if entry.amount > 0:
            self._credit(entry)
        elif entry.amount < 0:
            self._debit(entry)
        else:
            entry.status, entry.reason = Status.IGNORED, "Zero amount: nothing to match."

    def _credit(self, entry: StatementEntry) -> None:
        text = normalised(f"{entry.remittance} {entry.reference}")
        references = wire_references_in(text)
        deposit = (
            Deposit.objects.select_for_update()
            .filter(wire_reference__in=references, method__kind=PaymentMethod.Kind.BANK_WIRE)
            .order_by("pk")
            .first()
        )
        if deposit is None:
            if references:
                return _exception(entry, f"Reference {' '.join(references)} belongs to no deposit of ours.")
            if near := _NEAR_MISS.search(text):
                return _exception(
                    entry, f"{near.group(0)} looks like a deposit reference but its check digits are wrong."
                )
            return _exception(entry, "No deposit reference found in the remittance text.")
        entry.deposit = deposit
        ref = deposit.wire_reference
        if deposit.currency != entry.currency:
            return _exception(entry, f"Deposit {ref} is in {deposit.currency}; the wire came in {entry.currency}.")
        if deposit.status == Deposit.Status.COMPLETED:
            where = self._settled_before(entry, deposit=deposit)
            by = f" by {where}" if where else ""
            return _exception(entry, f"Deposit {ref} was already completed{by}: this is a second payment.")
        if deposit.status in Deposit.FINAL:
            status = deposit.get_status_display().lower()
            return _exception(
                entry, f"Deposit {ref} is {status}: confirm it from the queue if the money is the client's."
            )
        if entry.amount != deposit.amount:
            return _exception(
                entry,
                f"Received {_money(entry.amount, entry.currency)}, expected {_money(deposit.amount, deposit.currency)}.",
            )
        try:
            with transaction.atomic():
                deposit_confirm(
                    deposit,
                    amount=entry.amount,
                    actor=None,
                    actor_label=ACTOR_LABEL,
                    psp_reference=entry_psp_reference(entry),
                )
        except ApplicationError as error:
            return _exception(entry, f"Deposit {ref} could not be confirmed: {error.message}")
        deposit.refresh_from_db()
        self._settle(entry, Status.AUTO_CONFIRMED, deposit=deposit)

    def _debit(self, entry: StatementEntry) -> None:
        withdrawal_id = self.payouts.find(entry.remittance, entry.reference)
        if withdrawal_id is None:
            return _exception(entry, "No payout reference found in the remittance text.")
        withdrawal = Withdrawal.objects.select_for_update().get(pk=withdrawal_id)
        entry.withdrawal = withdrawal
        ref = withdrawal.payout_reference
        expected = withdrawal.amount - withdrawal.fee
        if withdrawal.currency != entry.currency:
            return _exception(entry, f"Payout {ref} is in {withdrawal.currency}; the bank paid {entry.currency}.")
        if withdrawal.status == Withdrawal.Status.PAID:
            where = self._settled_before(entry, withdrawal=withdrawal)
            by = f" by {where}" if where else ""
            return _exception(entry, f"Payout {ref} was already paid{by}: the bank paid it again?")
        if withdrawal.status != Withdrawal.Status.PROCESSING:
            status = withdrawal.get_status_display().lower()
            return _exception(entry, f"Payout {ref} is {status}, not sent for payment.")
        if -entry.amount != expected:
            return _exception(
                entry,
                f"Paid {_money(-entry.amount, entry.currency)}, expected {_money(expected, withdrawal.currency)}.",
            )
        try:
            with transaction.atomic():
                withdrawal_payout_settled(
                    withdrawal, paid=True, psp_reference=entry_psp_reference(entry), actor_label=ACTOR_LABEL
                )
        except ApplicationError as error:
            return _exception(entry, f"Payout {ref} could not be settled: {error.message}")
        withdrawal.refresh_from_db()
        self._settle(entry, Status.MATCHED, withdrawal=withdrawal)


def entry_psp_reference(entry: StatementEntry) -> str:
    """What the deposit or payout records as the provider's id: the statement line, unique per entry."""
    return f"stmt{entry.statement_id}-{entry.line_no}"


# PSP settlement files -----------------------------------------------------------------------------


class PspMatcher(_Matcher):
    def __init__(self, statement: StatementImport):
        super().__init__(statement)
        self.method = statement.method

    def match(self, entry: StatementEntry) -> None:
        kind = entry.entry_type
        if kind == "fee":
            fee = _money(entry.fee, entry.currency)
            return _exception(entry, f"A charge of the PSP's own ({fee}): nothing of ours matches it.")
        if kind in ("payment", "chargeback"):
            return self._deposit(entry)
        return self._withdrawal(entry)

    def _deposit(self, entry: StatementEntry) -> None:
        deposit = Deposit.objects.select_for_update().filter(method=self.method, psp_reference=entry.reference).first()
        if deposit is None:
            return _exception(entry, f"No {self.method} deposit with PSP reference {entry.reference} on our side.")
        entry.deposit = deposit
        if entry.entry_type == "chargeback":
            return _exception(entry, f"Chargeback: the PSP took back {_money(-entry.amount, entry.currency)}.")
        if deposit.currency != entry.currency:
            return _exception(entry, f"Our deposit is in {deposit.currency}; the PSP settled {entry.currency}.")
        if deposit.status != Deposit.Status.COMPLETED:
            status = deposit.get_status_display().lower()
            return _exception(entry, f"The PSP settled this payment, but our deposit is {status}.")
        if entry.amount != deposit.amount:
            return _exception(
                entry,
                f"Settled {_money(entry.amount, entry.currency)}, expected {_money(deposit.amount, deposit.currency)}.",
            )
        ours = timezone.localdate(deposit.completed_at) if deposit.completed_at else None
        if ours != entry.booking_date:
            return _exception(entry, f"We completed it on {ours}; the PSP settled it on {entry.booking_date}.")
        if where := self._settled_before(entry, deposit=deposit):
            return _exception(entry, f"Already settled by {where}.")
        self._settle(entry, Status.MATCHED, deposit=deposit)

    def _withdrawal(self, entry: StatementEntry) -> None:
        withdrawal = (
            Withdrawal.objects.select_for_update(of=("self",))
            .select_related("transaction")
            .filter(method=self.method, psp_reference=entry.reference)
            .first()
        )
        if withdrawal is None:
            return _exception(entry, f"No {self.method} withdrawal with PSP reference {entry.reference} on our side.")
        entry.withdrawal = withdrawal
        expected = withdrawal.amount - withdrawal.fee
        if withdrawal.currency != entry.currency:
            return _exception(entry, f"Our withdrawal is in {withdrawal.currency}; the PSP paid {entry.currency}.")
        if withdrawal.status != Withdrawal.Status.PAID:
            status = withdrawal.get_status_display().lower()
            return _exception(entry, f"The PSP paid this out, but our withdrawal is {status}.")
        if -entry.amount != expected:
            return _exception(
                entry,
                f"Paid {_money(-entry.amount, entry.currency)}, expected {_money(expected, withdrawal.currency)}.",
            )
        if (ours := paid_on(withdrawal)) != entry.booking_date:
            return _exception(entry, f"We recorded it paid on {ours}; the PSP paid it on {entry.booking_date}.")
        if where := self._settled_before(entry, withdrawal=withdrawal):
            return _exception(entry, f"Already settled by {where}.")
        self._settle(entry, Status.MATCHED, withdrawal=withdrawal)

    def missing(self, entries: list[StatementEntry]) -> list[StatementEntry]:
        """Our completed items of the file's dates that no statement mentions (this file, an earlier one,
        or an earlier "missing" line: a second file for the same day does not repeat the same gap)."""
        listed = {entry.reference for entry in entries if entry.reference}
        days = sorted({entry.booking_date for entry in entries if entry.booking_date})
        mentioned = StatementEntry.objects.filter(statement__method=self.method)
        missing = []
        line_no = len(entries)
        for day in days:
            deposits = deposits_completed(self.method, day).exclude(psp_reference__in=listed)
            for deposit in deposits.exclude(pk__in=mentioned.values("deposit_id")).order_by("completed_at", "pk"):
                line_no += 1
                missing.append(self._missing_entry(line_no, day, deposit.amount, deposit.currency, deposit=deposit))
            withdrawals = withdrawals_paid(self.method, day).exclude(psp_reference__in=listed)
            for withdrawal in withdrawals.exclude(pk__in=mentioned.values("withdrawal_id")).order_by("pk"):
                line_no += 1
                amount = -(withdrawal.amount - withdrawal.fee)
                missing.append(self._missing_entry(line_no, day, amount, withdrawal.currency, withdrawal=withdrawal))
        return missing

    def _missing_entry(self, line_no: int, day: date, amount: Decimal, currency: str, **subject) -> StatementEntry:
        subject_row = subject.get("deposit") or subject.get("withdrawal")
        what = "deposit" if "deposit" in subject else "withdrawal"
        done = "completed" if what == "deposit" else "paid"
        return StatementEntry(
            statement=self.statement,
            line_no=line_no,
            booking_date=day,
            amount=amount,
            currency=currency,
            reference=subject_row.psp_reference or "",
            entry_type="payment" if what == "deposit" else "payout",
            missing_in_file=True,
            status=Status.EXCEPTION,
            reason=f"Our {what} {done} on {day} is missing from the PSP's settlement.",
            transaction_id=subject_row.transaction_id,
            **subject,
        )


def deposits_completed(method: PaymentMethod, day: date):
    return Deposit.objects.filter(method=method, status=Deposit.Status.COMPLETED, completed_at__date=day)


def withdrawals_paid(method: PaymentMethod, day: date):
    return Withdrawal.objects.filter(method=method, status=Withdrawal.Status.PAID).filter(
        Q(transaction__posted_at__date=day) | Q(transaction__isnull=True, updated_at__date=day)
    )
