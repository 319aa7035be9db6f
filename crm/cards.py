"""The CRM's figures on the ops dashboard, counted over the clients the viewer may see."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from brokerage.dashboard import (
    Card,
    Figure,
    Reading,
    cached_figure,
    past_series,
    register_card,
    today_range,
    trend_days,
)
from brokerage.money import money_text
from crm.links import client_list_url
from crm.models import Client
from crm.visibility import clients_visible_to, visibility_filter


def _scope(user) -> str:
    """Cache scope of a series: shared by everyone who sees every client, per person otherwise."""
    return "all" if visibility_filter(user) is None else f"user{user.pk}"


def _series(user, key: str, field: str) -> list[tuple[date, int]]:
    """Clients per day by `field` (created_at, first_deposit_at) for the last 7 days, today last."""

    def compute(start: datetime, end: datetime) -> dict[str, int]:
        rows = (
            clients_visible_to(user)
            .filter(**{f"{field}__gte": start, f"{field}__lt": end})
            .order_by()
            .annotate(day=TruncDate(field, tzinfo=timezone.get_current_timezone()))
            .values("day")
            .annotate(count=Count("id"))
        )
        return {row["day"].isoformat(): row["count"] for row in rows}

    past = past_series(f"{key}:{_scope(user)}", compute)
    return [(day, past.get(day.isoformat(), 0)) for day in trend_days()[:-1]]


def clients_total(user) -> int:
    """Clients past the lead stage (leads have their own pipeline page)."""
    return cached_figure(
        f"crm_clients:{_scope(user)}",
        lambda: clients_visible_to(user).exclude(status=Client.Status.LEAD).count(),
    )


def new_clients_today(user) -> Reading:
    start, end = today_range()
    today = timezone.localdate().isoformat()
    counts = (
        clients_visible_to(user)
        .filter(created_at__gte=start, created_at__lt=end)
        .aggregate(total=Count("id"), leads=Count("id", filter=Q(status=Client.Status.LEAD)))
    )
    trend = [*_series(user, "crm_new", "created_at"), (timezone.localdate(), counts["total"])]
    return Reading(
        value=counts["total"],
        url=client_list_url(created_from=today, created_to=today),
        detail=f"yesterday {trend[-2][1]}",
        figures=[
            Figure(
                "Leads",
                counts["leads"],
                client_list_url(status=Client.Status.LEAD, created_from=today, created_to=today),
            ),
            # Everyone else created today (registered and beyond): the list filters one status at a time.
            Figure("Sign-ups", counts["total"] - counts["leads"]),
        ],
        trend=trend,
    )


def _ftd_list_url(day: str) -> str:
    """The client list of first deposits of a day."""
    return client_list_url(ftd_from=day, ftd_to=day)


def first_deposits_today(user) -> Reading:
    start, end = today_range()
    rows = list(
        clients_visible_to(user)
        .filter(first_deposit_at__gte=start, first_deposit_at__lt=end)
        .order_by()
        .values("first_deposit_currency")
        .annotate(count=Count("id"), total=Sum("first_deposit_amount"))
        .order_by("first_deposit_currency")
    )
    total = sum(row["count"] for row in rows)
    trend = [*_series(user, "crm_ftd", "first_deposit_at"), (timezone.localdate(), total)]
    url = _ftd_list_url(timezone.localdate().isoformat())
    return Reading(
        value=total,
        url=url,
        detail=f"yesterday {trend[-2][1]}",
        figures=[
            Figure(
                row["first_deposit_currency"] or "?",
                money_text(row["total"] or Decimal(0), row["first_deposit_currency"]),
                detail=f"{row['count']} client{'s' if row['count'] != 1 else ''}",
            )
            for row in rows
        ],
        trend=trend,
    )


register_card(
    Card("Clients", "crm_view_client", clients_total, "ops:crm_client_list", 10, needs_user=True, group="Overview")
)
register_card(
    Card(
        "New clients today",
        "crm_view_client",
        lambda user: new_clients_today(user).value,
        "ops:crm_client_list",
        11,
        reading=new_clients_today,
        needs_user=True,
        help="Clients created since midnight (sign-ups and leads), with the last 7 days.",
    )
)
register_card(
    Card(
        "First deposits today",
        "crm_view_client",
        lambda user: first_deposits_today(user).value,
        "ops:crm_client_list",
        12,
        reading=first_deposits_today,
        needs_user=True,
        help="Clients whose first deposit arrived since midnight (FTDs), with the amount per currency.",
    )
)
