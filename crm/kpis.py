"""Sales KPIs for a period: the lead pipeline, new clients, first-time deposits and conversion,
per agent, per source and per campaign, over the clients the viewer may see.

Every figure comes from GROUP BY queries on indexed columns (status, created_at, first_deposit_at,
sales_agent), never from a loop over clients; each links to the client list filtered the same way.

Definitions (shown on the page too):
- Pipeline: clients whose status is still "lead", by lead stage, now (not limited to the period).
- Created: client records (leads included) created in the period.
- Converted / lost: of the clients created in the period, those whose lead stage is now converted / lost.
- FTD: clients whose first deposit happened in the period; amounts per currency, never summed across.
- Conversion: FTDs in the period / clients created in the period. A client created earlier who
  deposits now counts as an FTD, so the rate can exceed 100 %.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone

from brokerage.dates import day_start
from brokerage.errors import ApplicationError
from brokerage.models import User
from brokerage.money import CurrencyError, money_text, quantize
from crm.links import person_label
from crm.models import Client
from crm.visibility import clients_visible_to

PRESETS = {
    "today": "Today",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "month": "This month",
    "custom": "Custom",
}
OPEN_STAGES = [
    Client.LeadStage.NEW,
    Client.LeadStage.CONTACTED,
    Client.LeadStage.QUALIFIED,
    Client.LeadStage.NEGOTIATION,
]
MAX_CAMPAIGN_ROWS = 50


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date  # inclusive
    preset: str = "month"

    @property
    def starts_at(self) -> datetime:
        return day_start(self.first_day)

    @property
    def ends_before(self) -> datetime:
        return day_start(self.last_day + timedelta(days=1))

    @property
    def label(self) -> str:
        if self.first_day == self.last_day:
            return self.first_day.strftime("%d %b %Y")
        return f"{self.first_day:%d %b %Y} – {self.last_day:%d %b %Y}"


def period_from(
    preset: str = "",
    first_day: str | date | None = None,
    last_day: str | date | None = None,
    *,
    today: date | None = None,
) -> Period:
    """The period of a preset (default: this month), or a custom one from two dates (inclusive)."""
    today = today or timezone.localdate()
    preset = preset or ("custom" if first_day or last_day else "month")
    if preset == "today":
        return Period(today, today, preset)
    if preset == "7d":
        return Period(today - timedelta(days=6), today, preset)
    if preset == "30d":
        return Period(today - timedelta(days=29), today, preset)
    if preset == "month":
        return Period(today.replace(day=1), today.replace(day=calendar.monthrange(today.year, today.month)[1]), preset)
    if preset != "custom":
        raise ApplicationError("Pick a period.", fields={"period": ["Unknown period."]})

    def parse(value, name: str) -> date | None:
        if not value:
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ApplicationError("Dates are YYYY-MM-DD.", fields={name: ["Enter a date as YYYY-MM-DD."]}) from None

    start, end = parse(first_day, "date_from"), parse(last_day, "date_to")
    start, end = start or end or today, end or today
    if end < start:
        raise ApplicationError(
            "The period ends before it starts.", fields={"date_to": ["Pick a date after the start."]}
        )
    if (end - start).days > 3660:
        raise ApplicationError("Pick a period of at most ten years.", fields={"date_from": ["Too long a period."]})
    return Period(start, end, "custom")


@dataclass
class KpiRow:
    label: str
    params: dict  # the client-list filters that select this row's clients
    counts: dict = field(default_factory=dict)
    amounts: list = field(default_factory=list)  # [(currency, Decimal)], one line per currency
    links: dict = field(default_factory=dict)

    @property
    def conversion(self) -> Decimal | None:
        created = self.counts.get("created", 0)
        if not created:
            return None
        return (Decimal(self.counts.get("ftds", 0)) * 100 / created).quantize(Decimal("0.1"))

    @property
    def amount_texts(self) -> list[str]:
        """The amounts as people read them: "15,500.00 USD", one per currency."""
        return [money_text(amount, currency) for currency, amount in self.amounts]


@dataclass
class SalesKpis:
    period: Period
    total: KpiRow
    pipeline: list  # [(stage value, label, count, link)] over the stages a lead can be in (not converted)
    by_agent: list
    by_source: list
    by_campaign: list
    campaigns_cut: bool = False


def _aggregates(period: Period) -> dict:
    created = Q(created_at__gte=period.starts_at, created_at__lt=period.ends_before)
    ftd = Q(first_deposit_at__gte=period.starts_at, first_deposit_at__lt=period.ends_before)
    lead = Q(status=Client.Status.LEAD)
    aggregates = {f"open_{stage}": Count("pk", filter=lead & Q(lead_stage=stage)) for stage in Client.LeadStage.values}
    aggregates.update(
        open=Count("pk", filter=lead & Q(lead_stage__in=OPEN_STAGES)),
        created=Count("pk", filter=created),
        converted=Count("pk", filter=created & Q(lead_stage=Client.LeadStage.CONVERTED)),
        lost=Count("pk", filter=created & Q(lead_stage=Client.LeadStage.LOST)),
        ftds=Count("pk", filter=ftd),
    )
    return aggregates


def _money(amount: Decimal, currency: str) -> Decimal:
    try:
        return quantize(amount, currency)
    except CurrencyError:
        return amount.normalize()


def _links(row: KpiRow, period: Period) -> None:
    base = reverse("ops:crm_client_list")
    created = {"created_from": period.first_day.isoformat(), "created_to": period.last_day.isoformat()}
    ftd = {"ftd_from": period.first_day.isoformat(), "ftd_to": period.last_day.isoformat()}

    def url(**params) -> str:
        return f"{base}?{urlencode({**row.params, **params})}"

    row.links = {f"open_{stage}": url(status="lead", lead_stage=stage) for stage in Client.LeadStage.values}
    row.links.update(
        open=url(status="lead"),
        created=url(**created),
        converted=url(**created, lead_stage="converted"),
        lost=url(**created, lead_stage="lost"),
        ftds=url(**ftd),
    )


def _grouped(clients, period: Period, keys: list[str], aggregates: dict, ftd: Q):
    """{group key tuple: counts} and {group key tuple: [(currency, unrounded sum)]}."""
    counts = {
        tuple(values[k] for k in keys): {name: values[name] for name in aggregates}
        for values in clients.values(*keys).annotate(**aggregates).order_by()
    }
    amounts: dict[tuple, list] = {}
    for values in (
        clients.filter(ftd)
        .order_by()
        .values(*keys, "first_deposit_currency")
        .annotate(total=Sum("first_deposit_amount"))
        .order_by("first_deposit_currency")
    ):
        currency = values["first_deposit_currency"] or "?"
        amounts.setdefault(tuple(values[k] for k in keys), []).append((currency, values["total"] or Decimal(0)))
    return counts, amounts


def _rolled_up(fine_counts: dict, fine_amounts: dict, key_of) -> tuple[dict, dict]:
    """Sum the finest groups (agent, source, campaign) into coarser ones: per group, not per client."""
    counts: dict[tuple, dict] = {}
    for fine, figures in fine_counts.items():
        into = counts.setdefault(key_of(fine), dict.fromkeys(figures, 0))
        for name, value in figures.items():
            into[name] += value
    amounts: dict[tuple, dict] = {}
    for fine, lines in fine_amounts.items():
        into = amounts.setdefault(key_of(fine), {})
        for currency, amount in lines:
            into[currency] = into.get(currency, Decimal(0)) + amount
    rounded = {key: [(c, _money(amount, c)) for c, amount in sorted(lines.items())] for key, lines in amounts.items()}
    return counts, rounded


def sales_kpis(user, period: Period) -> SalesKpis:
    visible = clients_visible_to(user, Client.objects.all())
    created = Q(created_at__gte=period.starts_at, created_at__lt=period.ends_before)
    ftd = Q(first_deposit_at__gte=period.starts_at, first_deposit_at__lt=period.ends_before)
    # Only the clients some figure counts: three indexed conditions, OR-ed into one bitmap scan.
    clients = visible.filter(Q(status=Client.Status.LEAD) | created | ftd)
    aggregates = _aggregates(period)
    # Two GROUP BY queries at the finest grain; every breakdown and the totals are sums of those groups.
    fine_counts, fine_amounts = _grouped(
        clients, period, ["sales_agent_id", "source", "source_detail"], aggregates, ftd
    )

    def rows(key_of, label_of, params_of) -> list[KpiRow]:
        counts, amounts = _rolled_up(fine_counts, fine_amounts, key_of)
        result = []
        for key, figures in counts.items():
            row = KpiRow(label_of(key), params_of(key), figures, amounts.get(key, []))
            _links(row, period)
            result.append(row)
        return result

    totals = rows(lambda fine: (), lambda key: "All", lambda key: {})
    if totals:
        total = totals[0]
    else:
        total = KpiRow("All", {}, dict.fromkeys(aggregates, 0), [])
        _links(total, period)
    pipeline = [
        (stage, label, total.counts[f"open_{stage}"], total.links[f"open_{stage}"])
        for stage, label in Client.LeadStage.choices
        if stage != Client.LeadStage.CONVERTED  # a converted lead is a client: its status is no longer lead
    ]

    agents = User.objects.in_bulk({fine[0] for fine in fine_counts if fine[0]})
    by_agent = rows(
        lambda fine: (fine[0],),
        lambda key: person_label(agents[key[0]]) if key[0] in agents else "Unassigned",
        lambda key: {"agent": key[0] or "none"},
    )
    by_agent.sort(key=lambda r: (r.label == "Unassigned", -r.counts["ftds"], r.label.lower()))

    source_labels = dict(Client.Source.choices)
    by_source = rows(
        lambda fine: (fine[1],), lambda key: source_labels.get(key[0], key[0]), lambda key: {"source": key[0]}
    )
    by_source.sort(key=lambda r: (-r.counts["ftds"], -r.counts["created"], r.label))

    by_campaign = rows(
        lambda fine: (fine[1], fine[2]),
        lambda key: f"{source_labels.get(key[0], key[0])} · {key[1] or '(none)'}",
        lambda key: {"source": key[0], "source_detail": key[1]},
    )
    by_campaign.sort(key=lambda r: (-r.counts["ftds"], -r.counts["created"], r.label))
    return SalesKpis(
        period=period,
        total=total,
        pipeline=pipeline,
        by_agent=by_agent,
        by_source=by_source,
        by_campaign=by_campaign[:MAX_CAMPAIGN_ROWS],
        campaigns_cut=len(by_campaign) > MAX_CAMPAIGN_ROWS,
    )
