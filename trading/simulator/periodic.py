"""What the simulator's tick does besides moving prices: stop-outs, rollover swaps, revaluation."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from trading import fxmath
from trading.models import Platform, SimAccount, SimDeal, SimPosition, TradingAccount
from trading.services import account_state_store
from trading.simulator.engine import COMMENT_LIMIT, close_at_market, push_on_commit
from trading.simulator.market import Market, account_figures, state_of

# Margin level (equity / margin, percent) at or below which positions are closed, biggest loser first.
STOP_OUT_LEVEL = Decimal(50)


def _running(prefix: str = "account__platform__") -> Q:
    """Simulator platforms the tick works on: active ones; live ones only where the live simulator is on.

    A platform switched off (or a live simulator where settings.TRADING_LIVE_SIMULATOR is False, as
    on production) must not stop out, charge or revalue anybody; demo simulators always run.
    """
    running = Q(**{f"{prefix}kind": Platform.Kind.SIMULATOR, f"{prefix}is_active": True})
    if not settings.TRADING_LIVE_SIMULATOR:
        running &= Q(**{f"{prefix}environment": Platform.Environment.DEMO})
    return running


def _open_positions_by_account(platform: Platform | None) -> dict[int, list[SimPosition]]:
    positions = SimPosition.objects.select_related("account", "account__platform").order_by("pk")
    positions = positions.filter(_running() if platform is None else Q(account__platform=platform))
    grouped: dict[int, list[SimPosition]] = {}
    for position in positions:
        grouped.setdefault(position.account_id, []).append(position)
    return grouped


def stop_outs(platform: Platform | None = None, *, market: Market | None = None) -> list[SimDeal]:
    """Close positions of accounts at or below STOP_OUT_LEVEL, biggest loser first, until above it."""
    market = market or Market.load()
    closed: list[SimDeal] = []
    for positions in _open_positions_by_account(platform).values():
        account = positions[0].account
        level = account_figures(account, positions, market).margin_level
        if level is None or level > STOP_OUT_LEVEL:
            continue
        with transaction.atomic():
            account = SimAccount.objects.select_for_update().select_related("platform").get(pk=account.pk)
            open_now = list(account.positions.all())
            booked = []
            while open_now:
                figures = account_figures(account, open_now, market)
                if figures.margin_level is None or figures.margin_level > STOP_OUT_LEVEL:
                    break
                loser = min(open_now, key=lambda position: (figures.profits[position.pk], position.pk))
                if market.quote(loser.symbol) is None:
                    break
                comment = f"[so {figures.margin_level}%/{figures.equity}/{figures.margin}]"[:COMMENT_LIMIT]
                booked.append(close_at_market(account, loser, market, comment=comment))
                open_now.remove(loser)
            if booked:
                push_on_commit(account.platform, account, booked)
                closed.extend(booked)
    return closed


def accounts_revalue(platform: Platform | None = None, *, market: Market | None = None) -> int:
    """Report the figures of every account with open positions to its mirrored trading account."""
    market = market or Market.load()
    grouped = _open_positions_by_account(platform)
    if not grouped:
        return 0
    accounts = {position_list[0].account for position_list in grouped.values()}
    mirrors = {
        (mirror.platform_id, mirror.login): mirror
        for mirror in TradingAccount.objects.filter(login__in=[account.login for account in accounts])
    }
    reported = 0
    for positions in grouped.values():
        account = positions[0].account
        mirror = mirrors.get((account.platform_id, account.login))
        if mirror is not None:
            account_state_store(mirror, state_of(account, account_figures(account, positions, market)))
            reported += 1
    return reported


def rollover_day(now: datetime) -> date:
    """The last trading day whose rollover (00:00 UTC at its end) has passed at `now`."""
    return now.astimezone(UTC).date() - timedelta(days=1)


def swaps_rollover(now: datetime | None = None, *, market: Market | None = None) -> int:
    """Charge each open position the swaps of rollovers it was held across and has not paid yet.

    The rollover is at 00:00 UTC; a position pays for every trading day from the day it was opened
    (or the day after its last charge) to the last rollover, with fxmath.swap_nights (triple on the
    symbol's triple-swap day, nothing at weekends). SimPosition.swap_charged_to is the marker, so
    repeated ticks charge a rollover once. Returns how many positions were charged.
    """
    now = now or timezone.now()
    last = rollover_day(now)
    cutoff = datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC)
    due = Q(opened_at__lt=cutoff) & (Q(swap_charged_to__isnull=True) | Q(swap_charged_to__lt=last))
    account_ids = set(SimPosition.objects.filter(due, _running()).values_list("account_id", flat=True))
    if not account_ids:
        return 0
    market = market or Market.load()
    charged = 0
    for account_id in sorted(account_ids):
        with transaction.atomic():
            account = SimAccount.objects.select_for_update().get(pk=account_id)
            for position in account.positions.filter(due):
                quote = market.quote(position.symbol)
                if quote is None:
                    continue
                symbol = quote.symbol
                first = (
                    position.swap_charged_to + timedelta(days=1)
                    if position.swap_charged_to
                    else position.opened_at.astimezone(UTC).date()
                )
                nights = fxmath.nights_between(symbol, first, last)
                amount = fxmath.swap(symbol, position.side, position.volume, (quote.bid + quote.ask) / 2, nights)
                position.swap += market.to_account(amount, fxmath.swap_currency(symbol), account.currency)
                position.swap_charged_to = last
                position.save(update_fields=["swap", "swap_charged_to"])
                charged += 1
    return charged
