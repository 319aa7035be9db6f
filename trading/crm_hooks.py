"""Trading on the client 360 page (accounts with balances, the trading summary, alerts) and on the client
timeline (accounts opened and changed, deals arrived), plus the client's trading activity. Registered
on import by trading.apps.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from brokerage.events import subscribe
from crm.activity import client_trade_record
from crm.panels import Panel, register_panel
from crm.timeline import timeline_line_locked, timeline_line_update, timeline_record
from trading.display import plain
from trading.models import Deal, Platform, SyncProblem, TradingAccount
from trading.selectors import TRADE_ACTIONS, client_trading_summary

logger = logging.getLogger(__name__)

SUMMARY_DAYS = 30
CLOSING = (Deal.Entry.OUT, Deal.Entry.INOUT, Deal.Entry.OUT_BY)
# How far back the deals of one ingest batch are looked for (they are stamped just before the event).
BATCH_WINDOW = timedelta(hours=1)


def _account_url(login: str) -> str:
    return reverse("ops:trading_account", args=[login])


def _account_record(event, account: TradingAccount, *, title: str, detail: str = "") -> None:
    if account.client_id is None:
        return
    timeline_record(
        client_id=account.client_id,
        kind="trading",
        topic=event.topic,
        title=title,
        detail=detail,
        url=_account_url(account.login),
        occurred_at=event.created_at,
        source=f"outbox:{event.pk}",
    )


def _account(event) -> TradingAccount | None:
    return TradingAccount.objects.select_related("platform").filter(pk=event.payload.get("account_id")).first()


@subscribe("trading.account_opened")
def account_opened(event) -> None:
    account = _account(event)
    if account is None:
        return
    kind = "demo" if account.is_demo else "live"
    _account_record(
        event,
        account,
        title=f"Opened {kind} trading account {account.login} ({account.currency}, 1:{account.leverage})",
        detail=f"{account.platform.name}, group {account.group}",
    )


@subscribe("trading.leverage_changed")
def leverage_changed(event) -> None:
    if account := _account(event):
        _account_record(event, account, title=f"Leverage of {account.login} set to 1:{event.payload['leverage']}")


@subscribe("trading.group_changed")
def group_changed(event) -> None:
    if account := _account(event):
        _account_record(event, account, title=f"Group of {account.login} set to {event.payload['group']}")


@subscribe("trading.account_enabled")
@subscribe("trading.account_disabled")
def account_status_changed(event) -> None:
    if account := _account(event):
        word = "enabled" if event.topic == "trading.account_enabled" else "disabled"
        _account_record(event, account, title=f"Trading account {account.login} {word}")


def _batch_stamp(platform: Platform, logins: list[str], inserted: int, before):
    """The `ingested_at` the batch behind a deals_ingested event gave its deals.

    Every deal of a batch carries the same stamp, taken just before the event was written; when batches
    of the same logins ran side by side, the one whose deal count matches the event's is it.
    """
    stamps = (
        Deal.objects.filter(platform=platform, login__in=logins, ingested_at__lte=before)
        .filter(ingested_at__gte=before - BATCH_WINDOW)
        .values("ingested_at")
        .annotate(count=Count("id"))
        .order_by("-ingested_at")[:5]
    )
    stamps = list(stamps)
    for row in stamps:
        if row["count"] == inserted:
            return row["ingested_at"]
    return stamps[0]["ingested_at"] if stamps else None


def _signed(amount: Decimal) -> str:
    return ("+" if amount > 0 else "") + plain(amount)


@dataclass(frozen=True)
class DealDay:
    """The figures of one account's deals of one day, kept in its timeline line's `detail`."""

    count: int
    closed: int
    pnl: Decimal  # of the closing deals, in the account's currency
    currency: str

    _DETAIL = re.compile(r"Deals: (\d+)\nClosed: (\d+)\nP/L: (-?\d+(?:\.\d+)?) ([A-Z]{3})")

    def __add__(self, other: DealDay) -> DealDay:
        if other.currency != self.currency:
            raise ValueError(f"P/L in {self.currency} and {other.currency} cannot be added")
        return DealDay(self.count + other.count, self.closed + other.closed, self.pnl + other.pnl, self.currency)

    def detail(self) -> str:
        return f"Deals: {self.count}\nClosed: {self.closed}\nP/L: {plain(self.pnl)} {self.currency}"

    @classmethod
    def parse(cls, detail: str) -> DealDay | None:
        match = cls._DETAIL.fullmatch(detail)
        if match is None:
            return None
        return DealDay(int(match[1]), int(match[2]), Decimal(match[3]), match[4])

    def title(self, login: str, day: date) -> str:
        parts = [f"{self.closed} closed", f"P/L {_signed(self.pnl)} {self.currency}"] if self.closed else []
        return f"{self.count} deal{'s' if self.count != 1 else ''} on {login}, {day.isoformat()} UTC" + (
            f" ({', '.join(parts)})" if parts else ""
        )


def _deal_day_add(event, account: TradingAccount, day: date, batch: DealDay, *, at) -> None:
    """Add one batch to the account's line of `day` (a UTC date), writing the line if it is the first."""
    source = f"deals:{account.pk}:{day.isoformat()}"
    with transaction.atomic():
        line = timeline_line_locked(source)
        if line is None:
            written = timeline_record(
                client_id=account.client_id,
                kind="trading",
                topic=event.topic,
                title=batch.title(account.login, day),
                detail=batch.detail(),
                url=reverse("ops:trading_deals") + f"?login={account.login}",
                occurred_at=at,
                source=source,
            )
            if written is not None:
                return
            # Another worker wrote it first (and has committed: the insert waited for it).
            line = timeline_line_locked(source)
        stored = DealDay.parse(line.detail)
        if stored is None:
            logger.warning("timeline line %s has unreadable deal figures; they start again", line.pk)
            total = batch
        else:
            total = stored + batch
        timeline_line_update(line, title=total.title(account.login, day), detail=total.detail(), occurred_at=at)


@subscribe("trading.deals_ingested")
def deals_ingested(event) -> None:
    """Adds the batch to one line per live client account per UTC day (deals arrive one by one in real
    time): "12 deals on 500123, 2026-11-24 UTC (5 closed, P/L +136.50 USD)".

    Each event is handled once (brokerage.events: a ProcessedEvent row in this handler's transaction),
    so adding the batch's figures to the line's is exactly-once; the line is locked while it is added to.
    """
    p = event.payload
    platform = Platform.objects.filter(code=p.get("platform")).first()
    logins = p.get("logins") or []
    if platform is None or not logins:
        return
    accounts = {
        account.pk: account
        for account in TradingAccount.objects.filter(
            platform=platform, login__in=logins, client__isnull=False, is_demo=False
        )
    }
    if not accounts:
        return
    stamp = _batch_stamp(platform, logins, int(p.get("inserted") or 0), event.created_at)
    if stamp is None:
        return
    money = ExpressionWrapper(
        F("profit") + F("swap") + F("commission") + F("fee"), output_field=DecimalField(max_digits=30, decimal_places=8)
    )
    rows = (
        Deal.objects.filter(
            platform=platform,
            login__in=[a.login for a in accounts.values()],
            ingested_at=stamp,
            action__in=TRADE_ACTIONS,
        )
        .annotate(day=TruncDate("time", tzinfo=UTC))
        .values("account_id", "day")
        .annotate(
            count=Count("id"),
            closed=Count("id", filter=Q(entry__in=CLOSING)),
            pnl=Sum(money, filter=Q(entry__in=CLOSING)),
            last=Max("time"),
        )
        .order_by("account_id", "day")
    )
    found = [(accounts[row["account_id"]], row) for row in rows if row["account_id"] in accounts]
    # Locks in one order (client, account, day) in every worker, so two batches cannot deadlock.
    found.sort(key=lambda item: (item[0].client_id, item[0].pk, item[1]["day"]))
    for account, row in found:
        batch = DealDay(row["count"], row["closed"], row["pnl"] or Decimal(0), account.currency)
        _deal_day_add(event, account, row["day"], batch, at=row["last"])
        client_trade_record(client_id=account.client_id, at=row["last"], source=f"outbox:{event.pk}:{account.pk}")


# Client 360 panel ----------------------------------------------------------------------------------


def _trading_context(client) -> dict:
    since = timezone.now() - timedelta(days=SUMMARY_DAYS)
    summary = client_trading_summary(client, since=since)
    logins = [row.account.login for row in summary.accounts]
    alerts = [
        {
            "text": f"Figures of {row.account.login} are stale"
            + (
                f" (last reported {row.account.state_at:%Y-%m-%d %H:%M})"
                if row.account.state_at
                else " (never reported)"
            ),
            "url": _account_url(row.account.login),
        }
        for row in summary.accounts
        if row.is_stale and not row.account.is_demo and row.account.status == TradingAccount.Status.ACTIVE
    ]
    if logins:
        problems = SyncProblem.objects.filter(resolved_at__isnull=True, subject__in=logins).order_by("-last_seen_at")[
            :10
        ]
        alerts += [{"text": f"Sync problem on {problem.subject}: {problem.message}", "url": ""} for problem in problems]
    return {"summary": summary, "summary_days": SUMMARY_DAYS, "alerts": alerts, "client": client}


register_panel(
    Panel("trading", "Trading accounts", "trading_view", "trading/crm/_trading.html", _trading_context, order=30)
)
