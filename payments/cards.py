"""Payments' figures on the ops dashboard; each number links to the list that shows its items."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from brokerage.dashboard import Card, Figure, Reading, age_text, register_card
from brokerage.money import money_text
from payments import dashboard_figures as figures


def _url(name: str, **params) -> str:
    query = urlencode({key: value for key, value in params.items() if value not in ("", None)})
    return f"{reverse(name)}?{query}" if query else reverse(name)


def open_withdrawals() -> Reading:
    summary = figures.withdrawals_open_summary()
    subs = [
        Figure(
            label=currency,
            value=money_text(entry["total"], currency),
            # The queue has no currency filter: the link opens every request waiting for a decision.
            url=_url("ops:payments_withdrawals", status="open"),
            detail=f"{entry['count']} waiting · oldest {age_text(entry['oldest'])}",
        )
        for currency, entry in summary["review"].items()
    ]
    subs.append(Figure("Approved, not sent", summary["approved"], _url("ops:payments_withdrawals", status="approved")))
    subs.append(Figure("Sent, not paid", summary["processing"], _url("ops:payments_withdrawals", status="processing")))
    oldest = summary["oldest"]
    waited = (timezone.now() - oldest).total_seconds() if oldest else 0
    return Reading(
        value=summary["review_count"],
        url=_url("ops:payments_withdrawals", status="open"),
        detail=f"waiting for a decision · oldest {age_text(oldest)}" if oldest else "nothing waits for a decision",
        figures=subs,
        tone="alert" if waited > 48 * 3600 else "warn" if waited > 24 * 3600 else "",
    )


def _money_card(rows, url_for) -> Reading:
    subs = [
        Figure(
            label=row.currency,
            value=money_text(row.total, row.currency),
            url=url_for(row.currency),
            detail=f"{row.count} today · yesterday {money_text(row.yesterday, row.currency)}",
            trend=row.trend,
        )
        for row in rows
    ]
    return Reading(
        value=sum(row.count for row in rows),
        url=url_for(""),
        detail="" if rows else "none in the last 7 days",
        figures=subs,
    )


def deposits_today() -> Reading:
    today = timezone.localdate().isoformat()
    return _money_card(
        figures.deposits_completed_by_currency(),
        # The list filters on the day a deposit was started: one started yesterday and completed today
        # is counted here and listed under yesterday's date.
        lambda currency: _url(
            "ops:payments_deposits", status="completed", currency=currency, date_from=today, date_to=today
        ),
    )


def withdrawals_paid_today() -> Reading:
    # The withdrawal list filters by status only (no date, no currency): it opens every paid withdrawal.
    return _money_card(
        figures.withdrawals_paid_by_currency(), lambda currency: _url("ops:payments_withdrawals", status="paid")
    )


def reconciliation_exceptions() -> Reading:
    found = figures.reconciliation_exceptions()
    return Reading(
        value=found["count"],
        detail=f"oldest booked {found['oldest']:%Y-%m-%d}" if found["oldest"] else "",
        tone="warn" if found["count"] else "",
    )


register_card(
    Card(
        "Open withdrawals",
        "payments_view",
        figures.withdrawals_in_review_count,
        "ops:payments_withdrawals",
        31,
        reading=open_withdrawals,
        group="Waiting",
        help="Requests waiting for a decision, per currency, and those approved but not yet paid.",
    )
)
register_card(
    Card(
        "Deposits today",
        "payments_view",
        figures.deposits_completed_today_count,
        "ops:payments_deposits",
        30,
        reading=deposits_today,
        help="Completed deposits booked today, per currency (gross), with yesterday and the last 7 days.",
    )
)
register_card(
    Card(
        "Withdrawals paid today",
        "payments_view",
        lambda: withdrawals_paid_today().value,
        "ops:payments_withdrawals",
        32,
        reading=withdrawals_paid_today,
        help="Paid withdrawals booked today, per currency, with yesterday and the last 7 days.",
    )
)
register_card(
    Card(
        "Reconciliation exceptions",
        "payments_view",
        lambda: reconciliation_exceptions().value,
        "ops:payments_reconciliation",
        70,
        reading=reconciliation_exceptions,
        group="Needs attention",
        help="Bank and PSP statement entries nobody could match.",
    )
)
