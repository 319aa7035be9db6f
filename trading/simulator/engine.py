"""The simulator's trading server: accounts, market orders, balance operations.

Works on the platform-side tables (SimAccount / SimPosition / SimDeal) and prices from trading.Quote
(written by the feed). Accounts are hedging accounts: every order opens its own position. Margin,
profit and swaps come from trading.fxmath, converted to the account currency at the quotes' cross
rates. Every change to an account happens under its row lock, so concurrent orders on one account
are serialised and cannot both spend the same free margin. Stop-out, swaps and revaluation, run by
the tick, are in trading.simulator.periodic.

Refusals carry MT5-style retcodes in the message ("10019 No money", "13 Not found") so they read the
same as the MT5 connector's.

After a deal is booked, the back office is told at once (the "push" path): on commit the deal goes to
trading.sync.ingest.deals_ingest, the login's open positions to positions_store, and the account's
figures to trading.services.account_state_store. The pull sync is the safety net if that fails.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.db import transaction
from django.db.models import BigIntegerField, Max, Q
from django.db.models.functions import Cast
from django.utils import timezone

from brokerage.money import MINOR_UNITS, quantize
from trading import fxmath
from trading.connectors.base import (
    AccountState,
    BalanceKind,
    DealData,
    InvalidLogin,
    NewAccount,
    NotEnoughMargin,
    PositionData,
    TradingGatewayError,
)
from trading.models import Platform, SimAccount, SimDeal, SimPosition, Symbol, TradingAccount
from trading.services import account_state_store
from trading.simulator.market import (
    BUY,
    SELL,
    Market,
    account_figures,
    close_price_side,
    open_price_side,
    state_of,
)

logger = logging.getLogger(__name__)

# Commission per lot and per side (charged on open and again on close), in the account currency.
# FX symbols pay it; CFDs, indices, metals and crypto trade on the spread only.
COMMISSION_PER_LOT = {
    Symbol.CalcMode.FOREX: Decimal("3.50"),
    Symbol.CalcMode.FOREX_NO_LEVERAGE: Decimal("3.50"),
}
VOLUME_MIN, VOLUME_STEP, VOLUME_MAX = Decimal("0.01"), Decimal("0.01"), Decimal(100)
LEVERAGE_MAX = 3000
# MT5 keeps deal comments to 32 characters.
COMMENT_LIMIT = 32
BALANCE_ACTIONS = {
    BalanceKind.BALANCE: "balance",
    BalanceKind.CREDIT: "credit",
    BalanceKind.CHARGE: "charge",
    BalanceKind.CORRECTION: "correction",
    BalanceKind.BONUS: "bonus",
}


# Accounts --------------------------------------------------------------------------------------------


def _account(platform: Platform, login: str, *, lock: bool = False) -> SimAccount:
    accounts = SimAccount.objects.filter(platform=platform, login=str(login))
    if lock:
        accounts = accounts.select_for_update()
    account = accounts.first()
    if account is None:
        raise InvalidLogin(f"13 Not found: no account {login} on {platform.name}.")
    return account


def _leverage_check(leverage) -> int:
    if not isinstance(leverage, int) or not 1 <= leverage <= LEVERAGE_MAX:
        raise TradingGatewayError(f"3 Invalid parameters: leverage must be 1 to {LEVERAGE_MAX}, not {leverage!r}.")
    return leverage


def account_open(platform: Platform, new: NewAccount) -> str:
    """Create an account (with the asked login, or the next free one in the platform's range)."""
    _leverage_check(new.leverage)
    if new.currency not in MINOR_UNITS:
        raise TradingGatewayError(f"3 Invalid parameters: unknown currency {new.currency!r}.")
    if not new.group:
        raise TradingGatewayError("3 Invalid parameters: a group is required.")
    with transaction.atomic():
        login = str(new.login).strip() or _next_login(platform)
        if SimAccount.objects.filter(platform=platform, login=login).exists():
            raise TradingGatewayError(f"3004 Login {login} is taken on {platform.name}.")
        SimAccount.objects.create(
            platform=platform,
            login=login,
            name=new.name[:200],
            group=new.group,
            leverage=new.leverage,
            currency=new.currency,
        )
    return login


def _next_login(platform: Platform) -> str:
    highest = SimAccount.objects.filter(platform=platform, login__regex=r"^[0-9]+$").aggregate(
        top=Max(Cast("login", BigIntegerField()))
    )["top"]
    return str(max(highest or 0, platform.login_range_start - 1) + 1)


def account_update(
    platform: Platform,
    login: str,
    *,
    leverage: int | None = None,
    group: str | None = None,
    enabled: bool | None = None,
) -> None:
    with transaction.atomic():
        account = _account(platform, login, lock=True)
        if leverage is not None:
            account.leverage = _leverage_check(leverage)
        if group is not None:
            if not group.strip():
                raise TradingGatewayError("3 Invalid parameters: a group is required.")
            account.group = group.strip()
        if enabled is not None:
            account.enabled = bool(enabled)
        account.save(update_fields=["leverage", "group", "enabled"])


def account_state(platform: Platform, login: str, *, market: Market | None = None) -> AccountState:
    account = _account(platform, login)
    figures = account_figures(account, list(account.positions.all()), market or Market.load())
    return state_of(account, figures)


def balance_operation(
    platform: Platform,
    login: str,
    amount: Decimal,
    *,
    kind: int = BalanceKind.BALANCE,
    comment: str = "",
    check_margin: bool = True,
) -> int:
    """Book a balance, credit, charge, correction or bonus operation; returns the deal ticket.

    With check_margin a withdrawal (negative amount) must leave free margin at or above zero, else it
    is refused with NotEnoughMargin ("10019 No money") and nothing is booked. Credit goes to the credit
    line, which cannot go below zero; everything else goes to the balance.
    """
    action = BALANCE_ACTIONS.get(kind)
    if action is None:
        raise TradingGatewayError(f"3 Invalid parameters: unknown balance operation type {kind!r}.")
    amount = _amount(amount)
    if len(comment) > COMMENT_LIMIT:
        raise TradingGatewayError(f"3 Invalid parameters: comment longer than {COMMENT_LIMIT} characters.")
    with transaction.atomic():
        account = _account(platform, login, lock=True)
        amount = quantize(amount, account.currency)
        if amount == 0:
            raise TradingGatewayError(f"3 Invalid parameters: amount rounds to zero {account.currency}.")
        if kind == BalanceKind.CREDIT and account.credit + amount < 0:
            raise TradingGatewayError(
                f"3 Invalid parameters: credit of {login} is {quantize(account.credit, account.currency)} "
                f"{account.currency}, "
                f"cannot take {-amount}."
            )
        if check_margin and amount < 0:
            figures = account_figures(account, list(account.positions.all()), Market.load())
            if figures.margin_free + amount < 0:
                raise NotEnoughMargin(
                    f"10019 No money: {login} has {figures.margin_free} {account.currency} free margin, "
                    f"cannot take {-amount}."
                )
        if kind == BalanceKind.CREDIT:
            account.credit += amount
        else:
            account.balance += amount
        account.save(update_fields=["balance", "credit"])
        deal = _deal_book(account, action=action, profit=amount, comment=comment)
        push_on_commit(platform, account, [deal])
    return deal.pk


def _amount(amount) -> Decimal:
    if isinstance(amount, float):
        raise TradingGatewayError("3 Invalid parameters: amounts are Decimal, not float.")
    try:
        amount = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise TradingGatewayError(f"3 Invalid parameters: {amount!r} is not an amount.") from None
    if not amount.is_finite() or amount == 0:
        raise TradingGatewayError("3 Invalid parameters: the amount must be a number other than zero.")
    return amount


# Orders ---------------------------------------------------------------------------------------------


def symbol_resolve(name: str) -> Symbol:
    """A tradable symbol by its name or one of its aliases."""
    symbol = Symbol.objects.filter(Q(name=name) | Q(aliases__alias=name), is_active=True).distinct().first()
    if symbol is None:
        raise TradingGatewayError(f"10013 Invalid request: unknown symbol {name!r}.")
    return symbol


def volume_clean(volume) -> Decimal:
    try:
        volume = Decimal(str(volume)) if not isinstance(volume, Decimal) else volume
    except InvalidOperation:
        raise TradingGatewayError(f"10014 Invalid volume: {volume!r}.") from None
    if (
        not volume.is_finite()
        or not VOLUME_MIN <= volume <= VOLUME_MAX
        or volume.quantize(VOLUME_STEP, rounding=ROUND_DOWN) != volume
    ):
        raise TradingGatewayError(
            f"10014 Invalid volume: {volume} lots (from {VOLUME_MIN} to {VOLUME_MAX} in steps of {VOLUME_STEP})."
        )
    return volume


def commission_for(symbol: Symbol, volume: Decimal, currency: str) -> Decimal:
    """The commission one side of a trade costs (negative), in the account currency."""
    per_lot = COMMISSION_PER_LOT.get(symbol.calc_mode, Decimal(0))
    return -quantize(per_lot * volume, currency)


def order_market(platform: Platform, login: str, symbol_name: str, side: str, volume, *, comment: str = "") -> SimDeal:
    """Open a position at the feed's price (buy at ask, sell at bid); returns the "in" deal.

    Refused with NotEnoughMargin when the free margin after the commission does not cover the new
    position's margin; with TradingGatewayError for a disabled account, unknown symbol, no price or a
    bad volume. Nothing is booked when refused.
    """
    if side not in (BUY, SELL):
        raise TradingGatewayError(f"10013 Invalid request: side is 'buy' or 'sell', not {side!r}.")
    volume = volume_clean(volume)
    symbol = symbol_resolve(symbol_name)
    with transaction.atomic():
        account = _account(platform, login, lock=True)
        if not account.enabled:
            raise TradingGatewayError(f"64 Account disabled: {login} cannot trade.")
        market = Market.load()
        quote = market.quote(symbol.name)
        if quote is None:
            raise TradingGatewayError(f"10021 No prices: {symbol.name} has no quote yet.")
        price = open_price_side(side, quote)
        figures = account_figures(account, list(account.positions.all()), market)
        needed = market.to_account(
            fxmath.margin(symbol, volume, price, account.leverage), symbol.margin_currency, account.currency
        )
        commission = commission_for(symbol, volume, account.currency)
        if figures.margin_free + commission < needed:
            raise NotEnoughMargin(
                f"10019 No money: {volume} {symbol.name} needs {needed} {account.currency} margin, "
                f"{login} has {figures.margin_free} {account.currency} free."
            )
        now = timezone.now()
        position = SimPosition.objects.create(
            account=account, symbol=symbol.name, side=side, volume=volume, open_price=price, opened_at=now
        )
        deal = _deal_book(
            account,
            symbol=symbol.name,
            action=side,
            entry="in",
            volume=volume,
            price=price,
            commission=commission,
            order=position.pk,
            position_id=position.pk,
            comment=comment[:COMMENT_LIMIT],
            time=now,
        )
        account.balance += commission
        account.save(update_fields=["balance"])
        push_on_commit(platform, account, [deal])
    return deal


def position_close(platform: Platform, ticket: int, *, comment: str = "") -> SimDeal:
    """Close an open position at the feed's price; returns the "out" deal with its profit."""
    with transaction.atomic():
        login = (
            SimPosition.objects.filter(pk=ticket, account__platform=platform)
            .values_list("account__login", flat=True)
            .first()
        )
        if login is None:
            raise TradingGatewayError(f"13 Not found: no open position {ticket}.")
        account = _account(platform, login, lock=True)
        if not account.enabled:
            raise TradingGatewayError(f"64 Account disabled: {login} cannot trade.")
        position = account.positions.filter(pk=ticket).first()
        if position is None:  # closed by a racing call while we waited for the lock
            raise TradingGatewayError(f"13 Not found: no open position {ticket}.")
        market = Market.load()
        if market.quote(position.symbol) is None:
            raise TradingGatewayError(f"10021 No prices: {position.symbol} has no quote.")
        deal = close_at_market(account, position, market, comment=comment[:COMMENT_LIMIT])
        push_on_commit(platform, account, [deal])
    return deal


def close_at_market(account: SimAccount, position: SimPosition, market: Market, *, comment: str) -> SimDeal:
    """Book the out deal: profit by fxmath in the account currency, commission, accumulated swap.

    The caller holds the account's row lock and has checked the market quotes the position's symbol.
    """
    quote = market.quote(position.symbol)
    symbol = quote.symbol
    price = close_price_side(position.side, quote)
    gained = fxmath.profit(symbol, position.side, position.volume, position.open_price, price)
    gained = market.to_account(gained, symbol.profit_currency, account.currency)
    commission = commission_for(symbol, position.volume, account.currency)
    deal = _deal_book(
        account,
        symbol=position.symbol,
        action=SELL if position.side == BUY else BUY,
        entry="out",
        volume=position.volume,
        price=price,
        profit=gained,
        commission=commission,
        swap=position.swap,
        position_id=position.pk,
        comment=comment,
    )
    account.balance += gained + commission + position.swap
    account.save(update_fields=["balance"])
    position.delete()
    return deal


def _deal_book(account: SimAccount, *, action: str, time: datetime | None = None, **values) -> SimDeal:
    money = dict.fromkeys(("volume", "price", "profit", "commission", "swap", "fee"), Decimal(0))
    return SimDeal.objects.create(account=account, action=action, time=time or timezone.now(), **{**money, **values})


# Reports (the connector's reads) -----------------------------------------------------------------------


def deal_data(deal: SimDeal, login: str) -> DealData:
    return DealData(
        ticket=deal.pk,
        login=login,
        time=deal.time,
        symbol=deal.symbol,
        action=deal.action,
        entry=deal.entry,
        volume=deal.volume,
        price=deal.price,
        profit=deal.profit,
        commission=deal.commission,
        swap=deal.swap,
        fee=deal.fee,
        comment=deal.comment,
        order=deal.order,
        position_id=deal.position_id,
    )


def deals(platform: Platform, start: datetime, end: datetime, logins: list[str] | None = None) -> list[DealData]:
    found = SimDeal.objects.filter(account__platform=platform, time__gte=start, time__lt=end)
    if logins is not None:
        found = found.filter(account__login__in=[str(login) for login in logins])
    return [deal_data(deal, deal.account.login) for deal in found.select_related("account").order_by("time", "pk")]


def positions(
    platform: Platform, logins: list[str] | None = None, *, market: Market | None = None
) -> list[PositionData]:
    market = market or Market.load()
    found = SimPosition.objects.filter(account__platform=platform).select_related("account").order_by("pk")
    if logins is not None:
        found = found.filter(account__login__in=[str(login) for login in logins])
    grouped: dict[int, list[SimPosition]] = {}
    for position in found:
        grouped.setdefault(position.account_id, []).append(position)
    result = []
    for account_positions in grouped.values():
        account = account_positions[0].account
        figures = account_figures(account, account_positions, market)
        result.extend(
            PositionData(
                ticket=position.pk,
                login=account.login,
                symbol=position.symbol,
                side=position.side,
                volume=position.volume,
                open_price=position.open_price,
                current_price=figures.prices[position.pk],
                profit=figures.profits[position.pk],
                swap=position.swap,
                opened_at=position.opened_at,
            )
            for position in account_positions
        )
    return sorted(result, key=lambda position: position.ticket)


# Push -------------------------------------------------------------------------------------------------


def push_on_commit(platform: Platform, account: SimAccount, booked: list[SimDeal]) -> None:
    """Tell the back office about booked deals once they are committed (see the module docstring)."""
    login = account.login
    data = [deal_data(deal, login) for deal in booked]
    transaction.on_commit(lambda: push(platform, login, data))


def push(platform: Platform, login: str, booked: list[DealData]) -> None:
    """The real-time path: deals, the login's positions and the account's state to the back office.

    A failure is logged, never raised: the deal is booked on the platform already, and the pull sync
    (trading.sync) brings it over on its next run.
    """
    try:
        from trading.sync.ingest import deals_ingest, positions_store
    except ImportError:
        logger.warning("trading.sync.ingest is not available: deals of %s wait for the pull sync", login)
        return
    market = Market.load()
    steps = (
        ("deals", lambda: deals_ingest(platform, booked)),
        ("positions", lambda: positions_store(platform, positions(platform, [login], market=market), logins=[login])),
        ("state", lambda: _state_push(platform, login, market)),
    )
    for name, step in steps:
        try:
            with transaction.atomic():  # each step on its own: a failed one leaves the others done
                step()
        except Exception:
            logger.warning("simulator push (%s) for %s failed; the sync will catch up", name, login, exc_info=True)


def _state_push(platform: Platform, login: str, market: Market) -> None:
    mirror = TradingAccount.objects.filter(platform=platform, login=login).first()
    if mirror is not None:
        account_state_store(mirror, account_state(platform, login, market=market))
