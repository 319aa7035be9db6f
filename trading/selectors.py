"""Reads of trading data shared by the ops pages, the API and (later) the CRM's client page.

Everything here only reads. Figures the platform reported (balance, profit, swap...) are summed as
stored, never recomputed; only the notional value of deals is derived, from the contract terms.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from brokerage.money import quantize
from trading.models import Deal, Platform, Position, Symbol, SymbolAlias, SyncProblem, TradingAccount, TradingPolicy

TRADE_ACTIONS = (Deal.Action.BUY, Deal.Action.SELL)
ZERO = Decimal(0)


# Accounts ------------------------------------------------------------------------------------------


def stale_cutoff(policy: TradingPolicy | None = None) -> datetime:
    """Account state reported before this moment is shown as stale."""
    policy = policy or TradingPolicy.current()
    return timezone.now() - timedelta(seconds=policy.state_stale_after_seconds)


def account_search_q(search: str) -> Q:
    """Accounts by login (digits: exact or prefix), or by words of the client's name or email."""
    search = search.strip()
    if search.isdigit():
        return Q(login=search) | Q(login__startswith=search)
    words = Q()
    for word in search.split():
        words &= (
            Q(client__first_name__icontains=word)
            | Q(client__last_name__icontains=word)
            | Q(client__email__icontains=word)
            | Q(login__iexact=word)
        )
    return words


def account_list(
    *,
    search: str = "",
    platform: Platform | None = None,
    is_demo: bool | None = None,
    status: str = "",
    client_id: int | None = None,
) -> QuerySet[TradingAccount]:
    """Accounts with their platform and client, each annotated with `state_is_stale`."""
    accounts = TradingAccount.objects.select_related("platform", "client")
    if search.strip():
        accounts = accounts.filter(account_search_q(search))
    if platform is not None:
        accounts = accounts.filter(platform=platform)
    if is_demo is not None:
        accounts = accounts.filter(is_demo=is_demo)
    if status:
        accounts = accounts.filter(status=status)
    if client_id is not None:
        accounts = accounts.filter(client_id=client_id)
    cutoff = stale_cutoff()
    return accounts.annotate(
        state_is_stale=Case(
            When(Q(state_at__isnull=True) | Q(state_at__lt=cutoff), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    ).order_by("-created_at", "-id")


def account_is_stale(account: TradingAccount, policy: TradingPolicy | None = None) -> bool:
    return account.state_at is None or account.state_at < stale_cutoff(policy)


@dataclass
class LeverageProjection:
    """What an account's margin would be at another leverage, its open positions unchanged."""

    leverage: int
    open_positions: int
    margin: Decimal  # in the account currency
    margin_level: Decimal | None  # equity / margin in %, 2 decimals; None without margin in use


def leverage_projection(account: TradingAccount, leverage: int) -> LeverageProjection:
    """The account's margin and margin level if its leverage became `leverage`.

    Margin of forex and CFD-leverage positions scales by old/new leverage; the other modes do not use
    leverage. The reported margin is split between the two by each position's margin at today's
    leverage (trading.fxmath.margin at the current price, converted at today's rate). When a position
    cannot be priced (unknown symbol, no rate) all margin is treated as leveraged: that errs towards
    the lower (safer) level when leverage goes down.
    """
    from trading.fxmath import LEVERAGED_MODES, RateBook, RateMissing, convert, margin

    positions = list(Position.objects.filter(account=account).select_related("symbol"))
    factor = Decimal(account.leverage) / Decimal(leverage)
    leveraged = fixed = ZERO
    unsplit = False
    symbols = [position.symbol for position in positions if position.symbol is not None]
    book = RateBook.load({symbol.margin_currency for symbol in symbols} | {account.currency}) if symbols else None
    for position in positions:
        symbol = position.symbol
        if symbol is None:
            unsplit = True
            continue
        price = position.current_price or position.open_price
        amount = margin(symbol, position.volume, price, account.leverage)
        try:
            amount = convert(
                amount, symbol.margin_currency, account.currency, book.rate(symbol.margin_currency, account.currency)
            )
        except RateMissing:
            unsplit = True
            continue
        if symbol.calc_mode in LEVERAGED_MODES:
            leveraged += amount
        else:
            fixed += amount
    computed = leveraged + fixed
    base = account.margin if account.margin > 0 else computed
    share = Decimal(1) if unsplit or computed <= 0 else leveraged / computed
    projected = base * (share * factor + (1 - share)) if positions else account.margin
    level = (account.equity / projected * 100).quantize(Decimal("0.01")) if projected > 0 else None
    return LeverageProjection(
        leverage=leverage,
        open_positions=len(positions),
        margin=quantize(projected, account.currency),
        margin_level=level,
    )


# Deals and positions -------------------------------------------------------------------------------


def symbol_resolve(name: str) -> Symbol | None:
    """The instrument a name or alias stands for ("EURUSD.pro" -> EURUSD)."""
    name = name.strip()
    if not name:
        return None
    symbol = Symbol.objects.filter(name__iexact=name).first()
    if symbol is None:
        alias = SymbolAlias.objects.select_related("symbol").filter(alias__iexact=name).first()
        symbol = alias.symbol if alias else None
    return symbol


def symbol_match_q(text: str) -> Q:
    """Deals/positions of an instrument under any of its names, or of an unresolved name as reported."""
    symbol = symbol_resolve(text)
    by_name = Q(symbol_name__iexact=text.strip())
    return by_name | Q(symbol=symbol) if symbol else by_name


def deal_search(
    *,
    login: str = "",
    ticket: int | None = None,
    symbol: str = "",
    action: str = "",
    booking: str = "",
    platform: Platform | None = None,
    is_demo: bool | None = None,
    time_from: datetime | None = None,
    time_to: datetime | None = None,
) -> QuerySet[Deal]:
    """Deals matching the filters, newest first. Every filter here can use an index or narrows one
    that does (login and time have their own; a ticket goes through the (platform, ticket) key)."""
    deals = Deal.objects.all()
    if login:
        deals = deals.filter(login=login.strip())
    if ticket is not None:
        # The unique key starts with the platform: name them all so the key's index serves the lookup.
        platforms = [platform.pk] if platform else list(Platform.objects.values_list("pk", flat=True))
        deals = deals.filter(platform_id__in=platforms, ticket=ticket)
    if platform is not None:
        deals = deals.filter(platform=platform)
    if is_demo is not None:
        environment = Platform.Environment.DEMO if is_demo else Platform.Environment.LIVE
        deals = deals.filter(
            platform_id__in=list(Platform.objects.filter(environment=environment).values_list("pk", flat=True))
        )
    if symbol:
        deals = deals.filter(symbol_match_q(symbol))
    if action:
        deals = deals.filter(action=action)
    if booking:
        deals = deals.filter(booking=booking)
    if time_from is not None:
        deals = deals.filter(time__gte=time_from)
    if time_to is not None:
        deals = deals.filter(time__lt=time_to)
    return deals.order_by("-time", "-id")


def live_q() -> Q:
    """Deals or positions of live money: a live account, or an unknown login on a live platform."""
    return Q(account__is_demo=False) | Q(account__isnull=True, platform__environment=Platform.Environment.LIVE)


def demo_q() -> Q:
    """The rest: a demo account, or an unknown login on a demo platform."""
    return Q(account__is_demo=True) | Q(account__isnull=True, platform__environment=Platform.Environment.DEMO)


def position_search(
    *,
    login: str = "",
    symbol: str = "",
    side: str = "",
    platform: Platform | None = None,
    is_demo: bool | None = None,
):
    """Open positions matching the filters; `is_demo` False = live money only, True = demo only, None = both."""
    positions = Position.objects.select_related("platform", "account", "symbol")
    if is_demo is False:
        positions = positions.filter(live_q())
    elif is_demo is True:
        positions = positions.filter(demo_q())
    if login:
        positions = positions.filter(login=login.strip())
    if symbol:
        positions = positions.filter(symbol_match_q(symbol))
    if side:
        positions = positions.filter(side=side)
    if platform is not None:
        positions = positions.filter(platform=platform)
    return positions.order_by("-opened_at", "-ticket")


def floating_by_currency(positions: QuerySet[Position]) -> list[dict]:
    """Floating P&L (profit + swap as reported) of these positions per account currency, live and
    demo apart (`is_demo`; play money is never added to real money).

    Positions of logins we do not know have no account currency: they are summed under "?".
    """
    rows = (
        positions.order_by()
        .values("account__is_demo", "account__currency")
        .annotate(profit=Sum("profit"), swap=Sum("swap"), count=Count("id"))
        .order_by("account__is_demo", "account__currency")
    )
    return [
        {
            "currency": row["account__currency"] or "?",
            "is_demo": bool(row["account__is_demo"]),
            "floating": (row["profit"] or ZERO) + (row["swap"] or ZERO),
            "count": row["count"],
        }
        for row in rows
    ]


# Platforms -----------------------------------------------------------------------------------------


def platform_overview() -> list[Platform]:
    """Platforms with `account_count` and `open_problems` (a list) attached."""
    platforms = list(Platform.objects.annotate(account_count=Count("accounts")).order_by("-is_active", "name"))
    problems = defaultdict(list)
    for problem in SyncProblem.objects.filter(resolved_at__isnull=True).order_by("-last_seen_at"):
        problems[problem.platform_id].append(problem)
    for platform in platforms:
        platform.open_problems = problems[platform.pk]
    return platforms


def platforms_with_problems_count() -> int:
    """Active platforms whose last check failed or that have unresolved sync problems (one query)."""
    return (
        Platform.objects.filter(is_active=True)
        .filter(Q(health=Platform.Health.ERROR) | Q(problems__resolved_at__isnull=True, problems__isnull=False))
        .distinct()
        .count()
    )


def volume_today_lots(*, is_demo: bool = False) -> Decimal:
    """Lots traded since midnight (local time): buy and sell deals of live accounts (demo ones with
    `is_demo=True`; play money never inflates the live figure). One query."""
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    deals = Deal.objects.filter(time__gte=midnight, action__in=TRADE_ACTIONS)
    deals = deals.filter(demo_q() if is_demo else live_q())
    total = deals.aggregate(lots=Sum("volume"))["lots"]
    return (total or ZERO).quantize(Decimal("0.01"))


# A client's trading summary ------------------------------------------------------------------------


@dataclass
class AccountSummary:
    account: TradingAccount
    is_stale: bool
    deal_count: int = 0
    volume_lots: Decimal = ZERO
    # In the account's currency; None when a symbol's currency could not be converted (no rate).
    notional: Decimal | None = ZERO
    realised_pnl: Decimal = ZERO
    floating_pnl: Decimal = ZERO
    open_positions: int = 0
    notional_gaps: list[str] = field(default_factory=list)


@dataclass
class ClientTradingSummary:
    client: object
    since: datetime | None
    accounts: list[AccountSummary]

    @property
    def deal_count(self) -> int:
        """Deals of live accounts only (demo: `demo_deal_count`)."""
        return sum(row.deal_count for row in self.accounts if not row.account.is_demo)

    @property
    def volume_lots(self) -> Decimal:
        """Lots of live accounts only (demo: `demo_volume_lots`)."""
        return sum((row.volume_lots for row in self.accounts if not row.account.is_demo), ZERO)

    @property
    def demo_deal_count(self) -> int:
        return sum(row.deal_count for row in self.accounts if row.account.is_demo)

    @property
    def demo_volume_lots(self) -> Decimal:
        return sum((row.volume_lots for row in self.accounts if row.account.is_demo), ZERO)

    @property
    def has_demo(self) -> bool:
        return any(row.account.is_demo for row in self.accounts)

    @property
    def totals(self) -> list[dict]:
        """Money figures per account currency (live and demo apart: play money is not money)."""
        by_key: dict[tuple[bool, str], dict] = {}
        for row in self.accounts:
            key = (row.account.is_demo, row.account.currency)
            total = by_key.setdefault(
                key,
                {
                    "is_demo": key[0],
                    "currency": key[1],
                    "notional": ZERO,
                    "realised_pnl": ZERO,
                    "floating_pnl": ZERO,
                    "complete": True,
                },
            )
            if row.notional is None:
                total["complete"] = False
            else:
                total["notional"] += row.notional
            total["realised_pnl"] += row.realised_pnl
            total["floating_pnl"] += row.floating_pnl
        return [by_key[key] for key in sorted(by_key)]


def client_trading_summary(client, *, since: datetime | None = None) -> ClientTradingSummary:
    """A client's trading: per account its state, deals (count, lots, notional, realised P&L) since
    `since` (all time when None) and its open positions' floating P&L.

    - Volume: lots of buy and sell deals (opening and closing both count, as platforms report turnover).
    - Notional: per instrument, trading.fxmath.notional at the volume-weighted price (notional is linear
      in volume × price), in the instrument's profit currency, converted to the account currency at
      today's mid rate (trading.fxmath.RateBook: platform quotes first, then payments' rates).
    - Realised P&L: profit + swap + commission + fee of the trade deals, as the platform booked them.
    - Floating P&L: profit + swap of the open positions as last reported.
    Queries: accounts, one deal aggregate, the symbols used, one position aggregate, plus rate lookups.
    """
    from trading.fxmath import RateBook, RateMissing, convert, notional

    accounts = list(account_list(client_id=client.pk).order_by("is_demo", "login"))
    rows = {account.pk: AccountSummary(account=account, is_stale=account.state_is_stale) for account in accounts}
    if not rows:
        return ClientTradingSummary(client=client, since=since, accounts=[])

    deals = Deal.objects.filter(account_id__in=rows, action__in=TRADE_ACTIONS)
    if since is not None:
        deals = deals.filter(time__gte=since)
    money = ExpressionWrapper(
        F("profit") + F("swap") + F("commission") + F("fee"), output_field=DecimalField(max_digits=30, decimal_places=8)
    )
    turnover = ExpressionWrapper(F("volume") * F("price"), output_field=DecimalField(max_digits=40, decimal_places=14))
    groups = list(
        deals.order_by()
        .values("account_id", "symbol_id", "symbol_name")
        .annotate(count=Count("id"), lots=Sum("volume"), turnover=Sum(turnover), money=Sum(money))
    )
    symbols = Symbol.objects.in_bulk({group["symbol_id"] for group in groups if group["symbol_id"]})
    currencies = {symbol.profit_currency for symbol in symbols.values()} | {a.currency for a in accounts}
    book = RateBook.load(currencies) if symbols else None
    for group in groups:
        row = rows[group["account_id"]]
        row.deal_count += group["count"]
        row.volume_lots += group["lots"] or ZERO
        row.realised_pnl += group["money"] or ZERO
        symbol = symbols.get(group["symbol_id"])
        if row.notional is None or not group["lots"]:
            continue
        if symbol is None:
            row.notional = None
            row.notional_gaps.append(f"unknown symbol {group['symbol_name']}")
            continue
        value = notional(symbol, group["lots"], group["turnover"] / group["lots"])
        try:
            rate = book.rate(symbol.profit_currency, row.account.currency)
        except RateMissing:
            row.notional = None
            row.notional_gaps.append(f"{symbol.profit_currency}/{row.account.currency}")
            continue
        row.notional += convert(value, symbol.profit_currency, row.account.currency, rate)

    open_positions = (
        Position.objects.filter(account_id__in=rows)
        .order_by()
        .values("account_id")
        .annotate(count=Count("id"), profit=Sum("profit"), swap=Sum("swap"))
    )
    for group in open_positions:
        row = rows[group["account_id"]]
        row.open_positions = group["count"]
        row.floating_pnl = (group["profit"] or ZERO) + (group["swap"] or ZERO)

    for row in rows.values():
        if row.notional is not None:
            row.notional = quantize(row.notional, row.account.currency)
    return ClientTradingSummary(client=client, since=since, accounts=list(rows.values()))
