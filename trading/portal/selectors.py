"""What the client's trading pages read. Every query starts from the client: nobody sees another's rows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from payments.models import TradingTransfer
from trading.models import Deal, Position, TradingAccount, TradingPolicy

TRADE_ACTIONS = (Deal.Action.BUY, Deal.Action.SELL)


def state_is_stale(account: TradingAccount, policy: TradingPolicy, now: datetime | None = None) -> bool:
    """True when the platform's figures are older than the tenant allows (or were never reported)."""
    if account.state_at is None:
        return True
    now = now or timezone.now()
    return now - account.state_at > timedelta(seconds=policy.state_stale_after_seconds)


def _with_flags(accounts: list[TradingAccount], policy: TradingPolicy) -> list[TradingAccount]:
    now = timezone.now()
    for account in accounts:
        account.is_stale = state_is_stale(account, policy, now)
    return accounts


def client_accounts(client, policy: TradingPolicy) -> list[TradingAccount]:
    """The client's accounts, live first, each with its open-position count and stale flag."""
    accounts = (
        TradingAccount.objects.filter(client=client)
        .select_related("platform")
        .annotate(positions_open=Count("positions"))
        .order_by("is_demo", "-created_at", "-id")
    )
    return _with_flags(list(accounts), policy)


def client_account(client, login: str, policy: TradingPolicy) -> TradingAccount:
    """One of the client's accounts by login; any other login is a 404, whoever owns it."""
    if client is None:
        raise Http404("No such trading account.")
    account = (
        TradingAccount.objects.filter(client=client, login=login)
        .select_related("platform")
        .annotate(positions_open=Count("positions"))
        .first()
    )
    if account is None:
        raise Http404("No such trading account.")
    return _with_flags([account], policy)[0]


def account_positions(account: TradingAccount) -> list[Position]:
    return list(account.positions.select_related("symbol").order_by("-opened_at", "-ticket"))


def account_deals_recent(account: TradingAccount, limit: int = 20) -> list[Deal]:
    return list(account.deals.select_related("symbol").order_by("-time", "-ticket")[:limit])


def account_transfers_recent(client, account: TradingAccount, limit: int = 10) -> list[TradingTransfer]:
    return list(TradingTransfer.objects.filter(client=client, account_login=account.login)[:limit])


def client_deals(
    client,
    *,
    account: str = "",
    kind: str = "",
    symbol: str = "",
    type: str = "",  # noqa: A002 - the filter's name on the page
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[Deal]:
    """The client's deals across their accounts, newest first, narrowed by the history filters.

    Dates are whole days in the tenant's time zone, both ends included.
    """
    deals = Deal.objects.filter(account__client=client).select_related("account", "symbol")
    if account:
        deals = deals.filter(account__login=account)
    if kind:
        deals = deals.filter(account__is_demo=kind == "demo")
    if symbol:
        deals = deals.filter(symbol_name=symbol)
    if type == "trades":
        deals = deals.filter(action__in=TRADE_ACTIONS)
    elif type == "balance":
        deals = deals.exclude(action__in=TRADE_ACTIONS)
    zone = timezone.get_current_timezone()
    if since:
        deals = deals.filter(time__gte=datetime.combine(since, time.min, tzinfo=zone))
    if until:
        deals = deals.filter(time__lt=datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone))
    return deals.order_by("-time", "-ticket")


def deal_totals(deals: QuerySet[Deal]) -> list[dict]:
    """Sums of the filtered deals per account kind and currency: live first, then demo.

    Play money never adds up with real money, nor amounts in different currencies. Trades and
    balance operations are summed apart: a deposit to the account is not a trading profit.
    """
    trade = Q(action__in=TRADE_ACTIONS)
    rows = (
        deals.order_by()
        .values("account__is_demo", "account__currency")
        .annotate(
            n=Count("id"),
            sum_volume=Sum("volume", filter=trade),
            sum_profit=Sum("profit", filter=trade),
            sum_commission=Sum("commission"),
            sum_swap=Sum("swap"),
            sum_fee=Sum("fee"),
            sum_balance=Sum("profit", filter=~trade),
        )
        .order_by("account__is_demo", "account__currency")
    )
    totals = []
    for row in rows:
        sums = {
            name: row[f"sum_{name}"] or Decimal(0)
            for name in ("volume", "profit", "commission", "swap", "fee", "balance")
        }
        sums["net"] = sums["profit"] + sums["commission"] + sums["swap"] + sums["fee"]
        kind = "demo" if row["account__is_demo"] else "live"
        totals.append({"kind": kind, "currency": row["account__currency"], "deals": row["n"], **sums})
    return totals


def client_symbols(client) -> list[str]:
    """Symbol names that occur in the client's deals (for the history filter)."""
    names = (
        Deal.objects.filter(account__client=client)
        .exclude(symbol_name="")
        .order_by("symbol_name")
        .values_list("symbol_name", flat=True)
        .distinct()
    )
    return list(names)
