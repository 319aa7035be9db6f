"""Figures for the ops dashboard's payment cards: one indexed query each (the past days' series cached).

Completed deposits and paid withdrawals are dated by their ledger posting (`posted_at` is indexed;
it is written in the same transaction that completes the deposit or pays the withdrawal).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Min, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from brokerage.dashboard import DayTotals, past_series, per_currency, today_range
from payments.models import Deposit, StatementEntry, Withdrawal
from payments.withdrawals.services import IN_REVIEW


def _deposits_completed(start: datetime, end: datetime):
    return Deposit.objects.filter(
        status=Deposit.Status.COMPLETED, transaction__posted_at__gte=start, transaction__posted_at__lt=end
    )


def _withdrawals_paid(start: datetime, end: datetime):
    return Withdrawal.objects.filter(
        status=Withdrawal.Status.PAID, transaction__posted_at__gte=start, transaction__posted_at__lt=end
    )


def _today(queryset) -> list[dict]:
    return list(queryset.order_by().values("currency").annotate(count=Count("id"), total=Sum("amount")))


def _by_day(queryset) -> dict[tuple[str, str], Decimal]:
    rows = (
        queryset.order_by()
        .annotate(day=TruncDate("transaction__posted_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "currency")
        .annotate(total=Sum("amount"))
    )
    return {(row["day"].isoformat(), row["currency"]): row["total"] for row in rows}


def deposits_completed_by_currency() -> list[DayTotals]:
    """Completed deposits per currency: today (count, gross amount), yesterday and the last 7 days."""
    past = past_series("deposits_completed", lambda start, end: _by_day(_deposits_completed(start, end)))
    return per_currency(_today(_deposits_completed(*today_range())), past)


def withdrawals_paid_by_currency() -> list[DayTotals]:
    """Paid withdrawals per currency, as for deposits."""
    past = past_series("withdrawals_paid", lambda start, end: _by_day(_withdrawals_paid(start, end)))
    return per_currency(_today(_withdrawals_paid(*today_range())), past)


def deposits_completed_today_count() -> int:
    return _deposits_completed(*today_range()).count()


def withdrawals_in_review_count() -> int:
    return Withdrawal.objects.filter(status__in=IN_REVIEW).count()


def withdrawals_open_summary() -> dict:
    """Open withdrawals by stage: `review` (waiting for a decision) per currency with the oldest
    request, and counts of `approved` (not yet sent) and `processing` (sent, not yet paid). One query."""
    open_statuses = (*IN_REVIEW, Withdrawal.Status.APPROVED, Withdrawal.Status.PROCESSING)
    rows = (
        Withdrawal.objects.filter(status__in=open_statuses)
        .order_by()
        .values("status", "currency")
        .annotate(count=Count("id"), total=Sum("amount"), oldest=Min("created_at"))
    )
    review: dict[str, dict] = {}
    summary = {"review": review, "review_count": 0, "oldest": None, "approved": 0, "processing": 0}
    for row in rows:
        if row["status"] in IN_REVIEW:
            entry = review.setdefault(row["currency"], {"count": 0, "total": Decimal(0), "oldest": row["oldest"]})
            entry["count"] += row["count"]
            entry["total"] += row["total"]
            entry["oldest"] = min(entry["oldest"], row["oldest"])
            summary["review_count"] += row["count"]
            summary["oldest"] = min(filter(None, (summary["oldest"], row["oldest"])))
        else:
            summary[row["status"]] += row["count"]
    summary["review"] = dict(sorted(review.items()))
    return summary


def reconciliation_exceptions() -> dict:
    """Statement entries that need a person: how many and the oldest booking date (status index)."""
    return StatementEntry.objects.filter(status=StatementEntry.Status.EXCEPTION).aggregate(
        count=Count("id"), oldest=Min("booking_date")
    )
