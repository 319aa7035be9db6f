"""Taking deals and open positions from a platform into our mirror, exactly once, with their money booked.

`deals_ingest` is the one door for deals (push events, the simulator, the pull safety net):

1. Each deal is checked; a malformed one is skipped and reported (SyncProblem "malformed"), the
   others go on.
2. Symbols resolve through Symbol.name or SymbolAlias.alias, accounts through their login on this
   platform. An unknown name or login (or a login of another platform) does not stop the deal: it is
   stored with symbol / account null and a SyncProblem tells staff what to fix.
3. One INSERT ... ON CONFLICT (platform, ticket) DO NOTHING RETURNING: only deals we did not have come
   back, so replays and overlapping pulls never create a row twice nor book money twice. Rows are
   inserted in ticket order, so two batches with overlapping tickets queue instead of deadlocking.
4. The new deals' money (profit + commission + swap + fee) of live accounts that belong to a client
   is posted to the ledger in the same database transaction: one posting per account per batch,
   client trading funds <-> system TRADING_RESULT. Deal.booking says what happened:
     booked    in the ledger;
     transfer  a balance/credit deal whose comment starts with "bo-": our own wallet transfer,
               already posted by payments (posting it again would double the money);
     demo      play money;
     none      no money moved, or a credit deal (credit is the broker's money lent for margin,
               not the client's: it never enters the client's funds);
     pending   not in the ledger: the posting would overdraw the client's trading funds, or the
               deal has no known client account (see the SyncProblem raised with it).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from psycopg2.extras import execute_values

from brokerage.events import event_publish
from brokerage.money import quantize
from payments import ledger
from payments.ledger import InsufficientFunds, Line
from payments.models import LedgerAccount, LedgerTransaction
from trading.connectors.base import DealData, PositionData
from trading.models import Deal, Platform, Position, Symbol, SymbolAlias, SyncProblem, TradingAccount
from trading.sync.problems import problems_raise

logger = logging.getLogger(__name__)

Kind = SyncProblem.Kind
Booking = Deal.Booking
ACTIONS = frozenset(Deal.Action.values)
ENTRIES = frozenset(Deal.Entry.values)
TRADE_ACTIONS = frozenset({Deal.Action.BUY, Deal.Action.SELL})
# Balance-type deals whose comment starts with this are our own wallet transfers (TradingTransfer.operation_id).
TRANSFER_PREFIX = "bo-"
MAX_TICKET = 2**63 - 1
# Integer digits the columns hold: trading.models AMOUNT (30, 8), PRICE (24, 10), VOLUME (16, 4).
_MONEY_FIELDS = ("profit", "commission", "swap", "fee")
_LIMITS = {"volume": Decimal(10) ** 12, "price": Decimal(10) ** 14} | {
    name: Decimal(10) ** 22 for name in _MONEY_FIELDS
}


@dataclass(frozen=True)
class IngestResult:
    inserted: int = 0
    duplicates: int = 0
    problems: int = 0
    booked: int = 0
    pending: int = 0
    logins: tuple[str, ...] = field(default=())


class Malformed(ValueError):
    """A deal or position that cannot be stored as it came."""


# Checking ----------------------------------------------------------------------------------------------


def _whole(value, name: str, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(f"{name} must be a whole number, got {value!r}")
    if not 0 < value <= MAX_TICKET:
        raise Malformed(f"{name} {value} is out of range")
    return value


def _text(value, name: str, limit: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise Malformed(f"{name} must be text, got {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise Malformed(f"{name} is missing")
    if len(value) > limit:
        raise Malformed(f"{name} is longer than {limit} characters")
    return value


def _moment(value, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise Malformed(f"{name} is missing or not a date-time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise Malformed(f"{name} has no time zone")
    return value


def _decimal(value, name: str) -> Decimal:
    if not isinstance(value, Decimal):
        raise Malformed(f"{name} must be a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise Malformed(f"{name} is not a finite number")
    if abs(value) >= _LIMITS[name]:
        raise Malformed(f"{name} {value} is too large")
    return value


def deal_check(deal) -> DealData:
    """The deal with its fields checked and normalised, or Malformed saying what is wrong."""
    ticket = _whole(getattr(deal, "ticket", None), "ticket")
    action = getattr(deal, "action", None)
    if action not in ACTIONS:
        raise Malformed(f"unknown action {action!r} (expected one of {', '.join(sorted(ACTIONS))})")
    entry = getattr(deal, "entry", None)
    if entry not in ENTRIES:
        raise Malformed(f"unknown entry {entry!r} (expected one of {', '.join(sorted(ENTRIES))})")
    symbol = _text(getattr(deal, "symbol", ""), "symbol", 40, required=action in TRADE_ACTIONS)
    comment = getattr(deal, "comment", "")
    if not isinstance(comment, str):
        raise Malformed("comment must be text")
    return DealData(
        ticket=ticket,
        login=_text(getattr(deal, "login", None), "login", 40, required=True),
        time=_moment(getattr(deal, "time", None), "time"),
        symbol=symbol,
        action=action,
        entry=entry,
        volume=_decimal(getattr(deal, "volume", None), "volume"),
        price=_decimal(getattr(deal, "price", None), "price"),
        profit=_decimal(getattr(deal, "profit", None), "profit"),
        commission=_decimal(getattr(deal, "commission", Decimal(0)), "commission"),
        swap=_decimal(getattr(deal, "swap", Decimal(0)), "swap"),
        fee=_decimal(getattr(deal, "fee", Decimal(0)), "fee"),
        comment=comment[:64],
        order=_whole(getattr(deal, "order", None), "order", optional=True),
        position_id=_whole(getattr(deal, "position_id", None), "position_id", optional=True),
    )


def _subject_of(item) -> str:
    ticket = getattr(item, "ticket", None)
    return f"ticket {ticket}" if isinstance(ticket, int) and not isinstance(ticket, bool) else "event"


# Resolving ---------------------------------------------------------------------------------------------


def symbols_resolve(names: Iterable[str]) -> dict[str, int]:
    """Symbol id by reported name, through the symbol's own name or one of its aliases."""
    names = {name for name in names if name}
    if not names:
        return {}
    found = dict(Symbol.objects.filter(name__in=names).values_list("name", "pk"))
    found.update(SymbolAlias.objects.filter(alias__in=names - found.keys()).values_list("alias", "symbol_id"))
    return found


def unknown_symbol_message(name: str, platform: Platform) -> str:
    return (
        f"{platform.name} reports symbol {name!r}, which is neither a symbol nor an alias here. "
        f"Add it as an alias of the right symbol in /ops/ (Trading > Symbols); deals keep the name meanwhile."
    )


def _accounts_resolve(platform: Platform, logins: set[str]) -> tuple[dict[str, TradingAccount], dict[str, tuple]]:
    """Accounts of this platform by login, and for the rest the problem (kind, message) to raise."""
    accounts = TradingAccount.objects.filter(login__in=logins).select_related("client", "platform")
    mine, problems = {}, {}
    for account in accounts:
        if account.platform_id == platform.pk:
            mine[account.login] = account
        else:
            problems[account.login] = (
                Kind.WRONG_PLATFORM,
                f"{platform.name} reports deals for login {account.login}, which is an account on "
                f"{account.platform.name}. Stored without an account; check the platforms' login ranges.",
            )
    for login in logins - mine.keys() - problems.keys():
        problems[login] = (
            Kind.UNKNOWN_LOGIN,
            f"{platform.name} reports login {login}, which is no trading account here. "
            f"Stored without an account; open or import the account to attach its deals.",
        )
    return mine, problems


# Deals -------------------------------------------------------------------------------------------------


def _money(deal: DealData) -> Decimal:
    return deal.profit + deal.commission + deal.swap + deal.fee


def _booking_for(deal: DealData, account: TradingAccount | None, platform: Platform) -> str:
    if deal.action == Deal.Action.CREDIT or _money(deal) == 0:
        return Booking.NONE
    if platform.is_demo or (account is not None and account.is_demo):
        return Booking.DEMO
    if deal.action == Deal.Action.BALANCE and deal.comment.startswith(TRANSFER_PREFIX):
        return Booking.TRANSFER
    if account is None or account.client_id is None:
        return Booking.PENDING
    return Booking.BOOKED


_INSERT = """
    INSERT INTO trading_deal (platform_id, ticket, login, account_id, time, symbol_name, symbol_id, action, entry,
                              "order", position_id, volume, price, profit, commission, swap, fee, comment, booking,
                              ingested_at)
    VALUES %s
    ON CONFLICT (platform_id, ticket) DO NOTHING
    RETURNING ticket
"""


def deals_ingest(platform: Platform, deals: Sequence[DealData]) -> IngestResult:
    """Store the deals we do not have yet and book their money; see the module docstring."""
    problems: list[tuple[str, str, str]] = []
    checked: dict[int, DealData] = {}
    repeats = 0
    for raw in deals:
        try:
            deal = deal_check(raw)
        except Malformed as error:
            problems.append((Kind.MALFORMED, _subject_of(raw), f"Deal skipped: {error}."))
            continue
        if deal.ticket in checked:
            repeats += 1  # the same ticket twice in one batch: the first one counts
            continue
        checked[deal.ticket] = deal

    with transaction.atomic():
        if not checked:
            count = problems_raise(platform, problems)
            return IngestResult(duplicates=repeats, problems=count)
        symbols = symbols_resolve(deal.symbol for deal in checked.values())
        accounts, login_problems = _accounts_resolve(platform, {deal.login for deal in checked.values()})
        now = timezone.now()
        bookings: dict[int, str] = {}
        rows = []
        for ticket in sorted(checked):
            deal = checked[ticket]
            account = accounts.get(deal.login)
            bookings[ticket] = _booking_for(deal, account, platform)
            rows.append(
                (
                    platform.pk,
                    ticket,
                    deal.login,
                    account.pk if account else None,
                    deal.time,
                    deal.symbol,
                    symbols.get(deal.symbol),
                    deal.action,
                    deal.entry,
                    deal.order,
                    deal.position_id,
                    deal.volume,
                    deal.price,
                    deal.profit,
                    deal.commission,
                    deal.swap,
                    deal.fee,
                    deal.comment,
                    bookings[ticket],
                    now,
                )
            )
        with connection.cursor() as cursor:
            new_tickets = {row[0] for row in execute_values(cursor, _INSERT, rows, page_size=1000, fetch=True)}
        new = [checked[ticket] for ticket in sorted(new_tickets)]

        # Problems are raised for new deals only: the pull's overlap re-reads deals every few seconds.
        for deal in new:
            if deal.symbol and deal.symbol not in symbols:
                problems.append((Kind.UNKNOWN_SYMBOL, deal.symbol, unknown_symbol_message(deal.symbol, platform)))
            if deal.login in login_problems:
                kind, message = login_problems[deal.login]
                problems.append((kind, deal.login, message))
            account = accounts.get(deal.login)
            if bookings[deal.ticket] == Booking.PENDING and account is not None:
                problems.append(
                    (
                        Kind.BOOKING,
                        deal.login,
                        f"Account {deal.login} has no client: money of its deals is not booked in the ledger.",
                    )
                )
        booked, pending = _book(platform, new, accounts, bookings)
        problems.extend(_overdraw_problems(pending, accounts))
        count = problems_raise(platform, problems)
        logins = tuple(sorted({deal.login for deal in new}))
        if new:
            event_publish(
                "trading.deals_ingested",
                {
                    "platform": platform.code,
                    "inserted": len(new),
                    "duplicates": len(checked) - len(new) + repeats,
                    "booked": booked,
                    "pending": sum(len(tickets) for tickets in pending.values()),
                    "problems": count,
                    "logins": list(logins),
                },
            )
    return IngestResult(
        inserted=len(new),
        duplicates=len(checked) - len(new) + repeats,
        problems=count,
        booked=booked,
        pending=sum(1 for deal in new if bookings[deal.ticket] == Booking.PENDING),
        logins=logins,
    )


def _book(
    platform: Platform, new: list[DealData], accounts: dict[str, TradingAccount], bookings: dict[int, str]
) -> tuple[int, dict[str, list[int]]]:
    """Post each account's new money; returns deals booked, and per login the tickets that would overdraw."""
    by_login: dict[str, list[DealData]] = defaultdict(list)
    for deal in new:
        if bookings[deal.ticket] == Booking.BOOKED:
            by_login[deal.login].append(deal)
    if not by_login:
        return 0, {}
    legs = {}
    for login in by_login:
        account = accounts[login]
        legs[login] = (
            ledger.trading_funds_for(account.client, account.currency),
            ledger.system_account(LedgerAccount.Kind.TRADING_RESULT, account.currency),
        )
    # Every ledger account of the batch locked at once, in id order: postings of concurrent batches
    # (which share the system account) then queue instead of deadlocking.
    ids = {leg.pk for pair in legs.values() for leg in pair}
    list(LedgerAccount.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))
    booked, pending = 0, {}
    for login in sorted(by_login):
        deals, account = by_login[login], accounts[login]
        funds, results = legs[login]
        total = quantize(sum((_money(deal) for deal in deals), Decimal(0)), account.currency)
        if total == 0:
            booked += len(deals)  # they net to nothing: the ledger already agrees
            continue
        # New tickets are new exactly once per platform, so first-last of this batch never repeats.
        reference = f"trading:{platform.code}:{login}:{deals[0].ticket}-{deals[-1].ticket}"
        try:
            with transaction.atomic():
                ledger.transaction_post(
                    kind=LedgerTransaction.Kind.TRADING_RESULT,
                    reference=reference,
                    lines=[Line(funds, total), Line(results, -total)],
                    description=f"Trading result of account {login}: {len(deals)} deal(s)",
                    client=account.client,
                    metadata={"platform": platform.code, "login": login, "tickets": [d.ticket for d in deals]},
                )
        except InsufficientFunds:
            pending[login] = [deal.ticket for deal in deals]
            continue
        booked += len(deals)
    if pending:
        tickets = [ticket for group in pending.values() for ticket in group]
        Deal.objects.filter(platform=platform, ticket__in=tickets).update(booking=Booking.PENDING)
        for tickets_of in pending.values():
            for ticket in tickets_of:
                bookings[ticket] = Booking.PENDING
    return booked, pending


def _overdraw_problems(pending: dict[str, list[int]], accounts: dict[str, TradingAccount]):
    for login, tickets in pending.items():
        account = accounts[login]
        yield (
            Kind.BOOKING,
            login,
            f"Deals {tickets[0]}-{tickets[-1]} of account {login} would take the client's {account.currency} "
            f"trading funds below zero; not booked (booking = pending). Check the account's transfers.",
        )


# Positions ---------------------------------------------------------------------------------------------


def position_check(position) -> PositionData:
    side = getattr(position, "side", None)
    if side not in Position.Side.values:
        raise Malformed(f"unknown side {side!r}")
    opened_at = _moment(getattr(position, "opened_at", None), "opened_at")
    return PositionData(
        ticket=_whole(getattr(position, "ticket", None), "ticket"),
        login=_text(getattr(position, "login", None), "login", 40, required=True),
        symbol=_text(getattr(position, "symbol", None), "symbol", 40, required=True),
        side=side,
        volume=_decimal(getattr(position, "volume", None), "volume"),
        open_price=_decimal(getattr(position, "open_price", None), "price"),
        current_price=_decimal(getattr(position, "current_price", None), "price"),
        profit=_decimal(getattr(position, "profit", None), "profit"),
        swap=_decimal(getattr(position, "swap", None), "swap"),
        opened_at=opened_at,
    )


_POSITION_UPSERT = """
    INSERT INTO trading_position (platform_id, ticket, login, account_id, symbol_name, symbol_id, side, volume,
                                  open_price, current_price, profit, swap, opened_at, updated_at)
    VALUES %s
    ON CONFLICT (platform_id, ticket) DO UPDATE SET
        login = EXCLUDED.login, account_id = EXCLUDED.account_id, symbol_name = EXCLUDED.symbol_name,
        symbol_id = EXCLUDED.symbol_id, side = EXCLUDED.side, volume = EXCLUDED.volume,
        open_price = EXCLUDED.open_price, current_price = EXCLUDED.current_price, profit = EXCLUDED.profit,
        swap = EXCLUDED.swap, opened_at = EXCLUDED.opened_at, updated_at = EXCLUDED.updated_at
"""


def positions_store(platform: Platform, positions: Sequence[PositionData], logins: list[str] | None) -> int:
    """Make our open positions of these logins (or of the whole platform, logins=None) what the platform says.

    Positions no longer reported are removed (closed); the rest are upserted. Positions of logins outside
    `logins` are ignored: a partial answer must not touch other accounts. Returns how many are open.
    """
    problems: list[tuple[str, str, str]] = []
    wanted = None if logins is None else {str(login) for login in logins}
    checked: dict[int, PositionData] = {}
    for raw in positions:
        try:
            position = position_check(raw)
        except Malformed as error:
            problems.append((Kind.MALFORMED, _subject_of(raw), f"Position skipped: {error}."))
            continue
        if wanted is None or position.login in wanted:
            checked[position.ticket] = position
    with transaction.atomic():
        symbols = symbols_resolve(p.symbol for p in checked.values())
        accounts, _ = _accounts_resolve(platform, {p.login for p in checked.values()})
        # Reported once per position, not on every pull of the same open position.
        known = set(
            Position.objects.filter(platform=platform, ticket__in=list(checked)).values_list("ticket", flat=True)
        )
        for name in sorted({p.symbol for p in checked.values() if p.ticket not in known} - symbols.keys()):
            problems.append((Kind.UNKNOWN_SYMBOL, name, unknown_symbol_message(name, platform)))
        stale = Position.objects.filter(platform=platform).exclude(ticket__in=list(checked))
        if wanted is not None:
            stale = stale.filter(login__in=wanted)
        stale.delete()
        now = timezone.now()
        rows = [
            (
                platform.pk,
                p.ticket,
                p.login,
                accounts[p.login].pk if p.login in accounts else None,
                p.symbol,
                symbols.get(p.symbol),
                p.side,
                p.volume,
                p.open_price,
                p.current_price,
                p.profit,
                p.swap,
                p.opened_at,
                now,
            )
            for _, p in sorted(checked.items())
        ]
        if rows:
            with connection.cursor() as cursor:
                execute_values(cursor, _POSITION_UPSERT, rows, page_size=1000)
        problems_raise(platform, problems)
    return len(rows)
