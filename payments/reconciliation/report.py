"""The daily reconciliation report per PSP (payment method): expected vs settled vs differences.

For one day and one method, per currency, amounts seen from the broker's side
(money in positive, money out negative):

- expected, our items: our completed deposits and paid withdrawals of the day
  (payouts at what the client receives: amount less our fee). An item belongs
  to the day of the statement entry that settled it, else to the day it was
  completed: a wire confirmed this morning from yesterday's statement is
  yesterday's, as the bank sees it;
- expected, ledger: what our books moved through the method's PSP clearing
  account for those items (a deposit of 100 posts -100 there: 100 is owed to
  us), plus any other clearing posting of the day (a reversal, an adjustment);
- settled: what the PSP file or bank statement entries dated that day say moved
  (gross; the PSP's own fees beside it);
- difference: expected items less settled.

Then the items on each side that nothing on the other side accounts for: our
items of the day that no statement entry settles, and the day's statement
entries that still need attention.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum

from brokerage.money import quantize
from payments.models import Deposit, LedgerAccount, LedgerLine, PaymentMethod, StatementEntry, Withdrawal
from payments.reconciliation.matching import SETTLING, withdrawals_paid


@dataclass
class CurrencyTotals:
    currency: str
    ledger: Decimal = Decimal(0)
    ours: Decimal = Decimal(0)
    settled: Decimal = Decimal(0)
    psp_fees: Decimal = Decimal(0)

    @property
    def difference(self) -> Decimal:
        return self.ours - self.settled

    def rounded(self) -> CurrencyTotals:
        amounts = (quantize(a, self.currency) for a in (self.ledger, self.ours, self.settled, self.psp_fees))
        return CurrencyTotals(self.currency, *amounts)


@dataclass
class OurItem:
    kind: str  # "deposit" or "withdrawal"
    pk: int
    reference: str
    client: str
    amount: Decimal
    currency: str


@dataclass
class MethodReport:
    method: PaymentMethod
    day: date
    totals: list[CurrencyTotals] = field(default_factory=list)
    unmatched_ours: list[OurItem] = field(default_factory=list)
    unmatched_theirs: list[StatementEntry] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        return not self.unmatched_ours and not self.unmatched_theirs and all(t.difference == 0 for t in self.totals)

    @property
    def is_empty(self) -> bool:
        return not self.totals and not self.unmatched_theirs


def daily_report(day: date, *, method: PaymentMethod | None = None) -> list[MethodReport]:
    methods = [method] if method else list(PaymentMethod.objects.all())
    reports = [_method_report(each, day) for each in methods]
    return [report for report in reports if method or not report.is_empty]


def _method_report(method: PaymentMethod, day: date) -> MethodReport:
    totals: dict[str, CurrencyTotals] = {}

    def of(currency: str) -> CurrencyTotals:
        return totals.setdefault(currency, CurrencyTotals(currency))

    report = MethodReport(method=method, day=day)
    deposits = list(_deposits_of(method, day))
    withdrawals = list(_withdrawals_of(method, day))
    settled = {("deposit", pk) for pk in _settling("deposit").values_list("deposit_id", flat=True)}
    settled |= {("withdrawal", pk) for pk in _settling("withdrawal").values_list("withdrawal_id", flat=True)}
    for deposit in deposits:
        of(deposit.currency).ours += deposit.amount
        if ("deposit", deposit.pk) not in settled:
            reference = deposit.wire_reference or deposit.psp_reference or str(deposit.public_id)
            report.unmatched_ours.append(
                OurItem("deposit", deposit.pk, reference, str(deposit.client), deposit.amount, deposit.currency)
            )
    for withdrawal in withdrawals:
        amount = -(withdrawal.amount - withdrawal.fee)
        of(withdrawal.currency).ours += amount
        if ("withdrawal", withdrawal.pk) not in settled:
            reference = withdrawal.psp_reference or withdrawal.payout_reference
            report.unmatched_ours.append(
                OurItem("withdrawal", withdrawal.pk, reference, str(withdrawal.client), amount, withdrawal.currency)
            )

    # The clearing postings of those items, and any other posting to the clearing account that day
    # (a reversal, an adjustment) that belongs to no deposit or withdrawal.
    item_transactions = [item.transaction_id for item in [*deposits, *withdrawals] if item.transaction_id]
    clearing = (
        LedgerLine.objects.filter(
            account__kind=LedgerAccount.Kind.PSP_CLEARING,
            account__code__startswith=f"{LedgerAccount.Kind.PSP_CLEARING}:{method.code}:",
        )
        .filter(
            Q(transaction_id__in=item_transactions)
            | Q(
                transaction__posted_at__date=day,
                transaction__deposit__isnull=True,
                transaction__withdrawal__isnull=True,
            )
        )
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for row in clearing:
        of(row["currency"]).ledger -= row["total"]

    entries = StatementEntry.objects.filter(statement__method=method, booking_date=day, missing_in_file=False)
    for row in entries.values("currency").annotate(total=Sum("amount"), fees=Sum("fee")).order_by():
        of(row["currency"]).settled += row["total"]
        of(row["currency"]).psp_fees += row["fees"]
    report.unmatched_theirs = list(
        entries.filter(status=StatementEntry.Status.EXCEPTION)
        .select_related("statement")
        .order_by("statement", "line_no")
    )
    report.totals = [totals[currency].rounded() for currency in sorted(totals)]
    return report


def _settling(field_name: str, **filters):
    """Entries that settle a deposit (or withdrawal): matched, confirmed or resolved, dated."""
    return StatementEntry.objects.filter(
        status__in=SETTLING,
        missing_in_file=False,
        booking_date__isnull=False,
        **{f"{field_name}__isnull": False},
        **filters,
    )


def _deposits_of(method: PaymentMethod, day: date):
    """Completed deposits that belong to the day: settled by an entry of that day, or completed that day and
    settled by no entry yet (a wire confirmed today from yesterday's statement belongs to yesterday)."""
    settled_that_day = _settling("deposit", booking_date=day).values("deposit_id")
    settled_at_all = _settling("deposit").values("deposit_id")
    completed = Deposit.objects.filter(method=method, status=Deposit.Status.COMPLETED)
    return (
        completed.filter(Q(pk__in=settled_that_day) | (Q(completed_at__date=day) & ~Q(pk__in=settled_at_all)))
        .select_related("client")
        .order_by("completed_at", "pk")
    )


def _withdrawals_of(method: PaymentMethod, day: date):
    """Paid withdrawals that belong to the day, by the same rule as deposits."""
    settled_that_day = _settling("withdrawal", booking_date=day).values("withdrawal_id")
    settled_at_all = _settling("withdrawal").values("withdrawal_id")
    paid_that_day = withdrawals_paid(method, day).values("pk")
    paid = Withdrawal.objects.filter(method=method, status=Withdrawal.Status.PAID)
    return (
        paid.filter(Q(pk__in=settled_that_day) | (Q(pk__in=paid_that_day) & ~Q(pk__in=settled_at_all)))
        .select_related("client")
        .order_by("pk")
    )


def report_rows(reports: list[MethodReport]) -> list[list[str]]:
    """The report as one table: method, currency, line, reference, amount, detail."""
    rows = [["date", "method", "currency", "line", "reference", "amount", "detail"]]
    for report in reports:
        day, name = report.day.isoformat(), report.method.code
        for t in report.totals:
            for line, amount in (
                ("expected (ledger)", t.ledger),
                ("expected (our items)", t.ours),
                ("settled", t.settled),
                ("psp fees", t.psp_fees),
                ("difference", t.difference),
            ):
                rows.append([day, name, t.currency, line, "", f"{amount:f}", ""])
        for item in report.unmatched_ours:
            amount = quantize(item.amount, item.currency)
            rows.append(
                [day, name, item.currency, f"unmatched {item.kind} (ours)", item.reference, f"{amount:f}", item.client]
            )
        for entry in report.unmatched_theirs:
            amount = quantize(entry.amount, entry.currency)
            where = f"statement #{entry.statement_id} line {entry.line_no}"
            rows.append(
                [
                    day,
                    name,
                    entry.currency,
                    "unmatched entry (theirs)",
                    entry.reference,
                    f"{amount:f}",
                    f"{where}: {entry.reason}",
                ]
            )
    return rows


def report_csv(reports: list[MethodReport]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(report_rows(reports))
    return out.getvalue()


def report_text(reports: list[MethodReport], day: date) -> str:
    """For the command line."""
    if not reports:
        return f"Reconciliation {day}: no activity.\n"
    lines = []
    for report in reports:
        verdict = "reconciled" if report.is_clean else "DIFFERENCES"
        lines.append(f"Reconciliation {day} · {report.method} ({report.method.code}): {verdict}")
        lines.append(
            f"  {'currency':<8} {'ledger':>14} {'our items':>14} {'settled':>14} {'psp fees':>12} {'difference':>14}"
        )
        for t in report.totals:
            lines.append(
                f"  {t.currency:<8} {t.ledger:>14,} {t.ours:>14,} {t.settled:>14,} {t.psp_fees:>12,} {t.difference:>14,}"
            )
        for item in report.unmatched_ours:
            amount = quantize(item.amount, item.currency)
            lines.append(
                f"  not settled (ours): {item.kind} {item.reference} {amount:,} {item.currency} · {item.client}"
            )
        for entry in report.unmatched_theirs:
            amount = quantize(entry.amount, entry.currency)
            lines.append(
                f"  needs attention (theirs): statement #{entry.statement_id} line {entry.line_no} "
                f"{entry.reference or '-'} {amount:,} {entry.currency} · {entry.reason}"
            )
    return "\n".join(lines) + "\n"
