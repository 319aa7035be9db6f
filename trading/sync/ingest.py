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
     pending   not in the ledger yet: the posting would overdraw the client's trading funds, or the
               deal has no known client account (see the SyncProblem raised with it).
   Pending money is not forgotten: an account's pending deals join the posting of its next new
   deals (all of them, in ticket order, all or nothing), so they are booked with the first batch
   whose sum fits the client's funds. `pending_deals_book` retries accounts that have pending deals
   and no new ones (after a wallet transfer brought funds, or a client was given to the account),
   and `deals_attach` gives deals stored without an account (unknown login) to the account once it
   exists; the pull calls both on every run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg2.extras import execute_values

from brokerage.events import event_publish
from brokerage.money import quantize
from payments import ledger
from payments.ledger import InsufficientFunds, Line
from payments.models import LedgerAccount, LedgerTransaction
from trading.connectors.base import DealData, PositionData
from trading.models import Deal, Platform, Position, Symbol, SymbolAlias, SyncProblem, TradingAccount
from trading.sync.problems import problem_resolve, problems_raise

logger = logging.getLogger(__name__)

Kind = SyncProblem.Kind
Booking = Deal.Booking
ACTIONS = frozenset(Deal.Action.values)
ENTRIES = frozenset(Deal.Entry.values)
TRADE_ACTIONS = frozenset({Deal.Action.BUY, Deal.Action.SELL})
# Balance-type deals whose comment starts with this are our own wallet transfers (TradingTransfer.operation_id).
MAX_TICKET = 2**63 - 1
# Integer digits the columns hold: trading.models AMOUNT (30, 8), PRICE (24, 10), VOLUME (16, 4).
_MONEY_FIELDS = ("profit", "commission", "swap", "fee")
# Account states (push and pull): balance, credit, equity, margin, margin_free are AMOUNT (30, 8);
# margin_level is (14, 2).
_STATE_FIELDS = ("balance", "credit", "equity", "margin", "margin_free")
_LIMITS = (
    {"volume": Decimal(10) ** 12, "price": Decimal(10) ** 14, "margin_level": Decimal(10) ** 12}
    | {name: Decimal(10) ** 22 for name in _MONEY_FIELDS}
    | {name: Decimal(10) ** 22 for name in _STATE_FIELDS}
)


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


def decimal_check(value, name: str) -> Decimal:
    """The value if it is a finite Decimal the column `name` can hold (its integer digits), else Malformed."""
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
        volume=decimal_check(getattr(deal, "volume", None), "volume"),
        price=decimal_check(getattr(deal, "price", None), "price"),
        profit=decimal_check(getattr(deal, "profit", None), "profit"),
        commission=decimal_check(getattr(deal, "commission", Decimal(0)), "commission"),
        swap=decimal_check(getattr(deal, "swap", Decimal(0)), "swap"),
        fee=decimal_check(getattr(deal, "fee", Decimal(0)), "fee"),
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
    if deal.action == Deal.Action.BALANCE and deal.comment.startswith(Deal.TRANSFER_PREFIX):
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
                    "pending": sum(1 for deal in new if bookings[deal.ticket] == Booking.PENDING),
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


def _legs(account: TradingAccount) -> tuple[LedgerAccount, LedgerAccount]:
    """The account's two ledger legs: the client's trading funds and the system's trading results."""
    return (
        ledger.trading_funds_for(account.client, account.currency),
        ledger.system_account(LedgerAccount.Kind.TRADING_RESULT, account.currency),
    )


def _ledger_lock(ids: Iterable[int]) -> None:
    # Ledger accounts locked at once, in id order, before any pending deal row: postings of
    # concurrent batches and retries (which share the system account) then queue, never deadlock.
    list(LedgerAccount.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk").values_list("pk"))


def _pending_of(platform: Platform, account_ids: Iterable[int]) -> dict[int, list[tuple[int, Decimal]]]:
    """Per account, its pending deals as (ticket, money) in ticket order, locked.

    Locked FOR UPDATE with `booking = pending` re-checked by PostgreSQL after any wait: a batch that
    waited for another one which booked them meanwhile no longer sees them, so none is booked twice.
    """
    rows = (
        Deal.objects.select_for_update()
        .filter(platform=platform, account_id__in=list(account_ids), booking=Booking.PENDING)
        .order_by("ticket")
        .values_list("account_id", "ticket", "profit", "commission", "swap", "fee")
    )
    found: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for account_id, ticket, *money in rows:
        found[account_id].append((ticket, sum(money, Decimal(0))))
    return found


def _post(platform: Platform, account: TradingAccount, legs, deals: list[tuple[int, Decimal]]) -> bool:
    """Post the money of these (ticket, money) deals, in ticket order, as one posting; False if it would overdraw.

    The reference is made of the lowest and highest ticket posted. A deal is booked at most once, so
    the ticket sets of an account's postings are disjoint; two disjoint sets cannot share both their
    lowest and their highest member (each would hold both), so the reference never repeats (and
    transaction_post, which answers a repeated reference with the first posting, never skips money).
    """
    total = quantize(sum((money for _, money in deals), Decimal(0)), account.currency)
    if total == 0:
        return True  # they net to nothing: the ledger already agrees
    funds, results = legs
    tickets = [ticket for ticket, _ in deals]
    low, high = min(tickets), max(tickets)
    try:
        with transaction.atomic():
            ledger.transaction_post(
                kind=LedgerTransaction.Kind.TRADING_RESULT,
                reference=f"trading:{platform.code}:{account.login}:{low}-{high}",
                lines=[Line(funds, total), Line(results, -total)],
                description=f"Trading result of account {account.login}: {len(deals)} deal(s)",
                client=account.client,
                metadata={"platform": platform.code, "login": account.login, "tickets": tickets},
            )
    except InsufficientFunds:
        return False
    return True


def _book(
    platform: Platform, new: list[DealData], accounts: dict[str, TradingAccount], bookings: dict[int, str]
) -> tuple[int, dict[str, list[int]]]:
    """Post each account's new money together with its earlier pending deals.

    Returns how many deals were booked (earlier pending ones included) and, per login, the tickets
    left pending because the posting would overdraw (the earlier pending ones and the new ones).
    """
    by_login: dict[str, list[DealData]] = defaultdict(list)
    for deal in new:
        if bookings[deal.ticket] == Booking.BOOKED:
            by_login[deal.login].append(deal)
    if not by_login:
        return 0, {}
    legs = {login: _legs(accounts[login]) for login in by_login}
    _ledger_lock(leg.pk for pair in legs.values() for leg in pair)
    earlier = _pending_of(platform, (accounts[login].pk for login in by_login))
    booked, pending, settled = 0, {}, []
    for login in sorted(by_login):
        account = accounts[login]
        old = earlier.get(account.pk, [])
        deals = sorted(old + [(deal.ticket, _money(deal)) for deal in by_login[login]])
        if not _post(platform, account, legs[login], deals):
            pending[login] = [ticket for ticket, _ in deals]
            continue
        booked += len(deals)
        if old:
            settled.append(login)
            Deal.objects.filter(platform=platform, ticket__in=[ticket for ticket, _ in old]).update(
                booking=Booking.BOOKED
            )
    if pending:
        new_pending = [deal.ticket for login in pending for deal in by_login[login]]
        Deal.objects.filter(platform=platform, ticket__in=new_pending).update(booking=Booking.PENDING)
        for ticket in new_pending:
            bookings[ticket] = Booking.PENDING
    for login in settled:
        problem_resolve(platform, Kind.BOOKING, login)
    return booked, pending


def _overdraw_message(login: str, tickets: list[int], currency: str) -> str:
    return (
        f"Deals {tickets[0]}-{tickets[-1]} of account {login} would take the client's {currency} trading funds "
        f"below zero; not booked (booking = pending). They are booked with the first deals or transfer that "
        f"make them fit; check the account's transfers."
    )


def _overdraw_problems(pending: dict[str, list[int]], accounts: dict[str, TradingAccount]):
    for login, tickets in pending.items():
        yield (Kind.BOOKING, login, _overdraw_message(login, tickets, accounts[login].currency))


def deals_attach(platform: Platform) -> list[str]:
    """Give deals stored without an account (login unknown when they came) to the account that now has that login.

    Their booking stays what it was (pending for live money), so `pending_deals_book` books them once
    the account has a client. The open unknown-login / wrong-platform problems of those logins are
    resolved. Returns the logins whose deals were attached.
    """
    logins = TradingAccount.objects.filter(platform=platform).values("login")
    orphans = Deal.objects.filter(platform=platform, account__isnull=True, login__in=logins)
    found = sorted(set(orphans.values_list("login", flat=True)))
    if not found:
        return []
    with transaction.atomic():
        accounts = TradingAccount.objects.filter(platform=platform, login__in=found)
        for account in accounts.order_by("login"):
            rows = Deal.objects.filter(platform=platform, account__isnull=True, login=account.login)
            if account.is_demo:
                rows.filter(booking=Booking.PENDING).update(account=account, booking=Booking.DEMO)
            rows.update(account=account)
            problem_resolve(platform, Kind.UNKNOWN_LOGIN, account.login)
            problem_resolve(platform, Kind.WRONG_PLATFORM, account.login)
    return found


def pending_deals_book(platform: Platform) -> int:
    """Book the pending deals of this platform's accounts that now fit (a transfer came, a client was given).

    Each account on its own transaction, all its pending deals in one posting or none. A booked
    account's booking problem is resolved; one that still does not fit keeps (or gets) an open one.
    Returns how many deals were booked.
    """
    if platform.is_demo:
        return 0
    waiting = Deal.objects.filter(platform=platform, booking=Booking.PENDING, account__isnull=False)
    account_ids = sorted(set(waiting.values_list("account_id", flat=True)))
    booked = 0
    for account in TradingAccount.objects.filter(pk__in=account_ids).select_related("client").order_by("pk"):
        if account.client_id is None:
            continue  # its open problem says it needs a client
        if account.is_demo:
            Deal.objects.filter(platform=platform, account=account, booking=Booking.PENDING).update(
                booking=Booking.DEMO
            )
            continue
        with transaction.atomic():
            legs = _legs(account)
            _ledger_lock(leg.pk for leg in legs)
            deals = _pending_of(platform, [account.pk]).get(account.pk, [])
            if not deals:
                continue  # a concurrent batch booked them
            tickets = [ticket for ticket, _ in deals]
            if not _post(platform, account, legs, deals):
                message = _overdraw_message(account.login, tickets, account.currency)
                open_problem = SyncProblem.objects.filter(
                    platform=platform, kind=Kind.BOOKING, subject=account.login, resolved_at__isnull=True
                )
                # Kept current but not counted up: the retry runs every few seconds.
                if not open_problem.update(message=message[:500]):
                    problems_raise(platform, [(Kind.BOOKING, account.login, message)])
                continue
            Deal.objects.filter(platform=platform, ticket__in=tickets).update(booking=Booking.BOOKED)
            problem_resolve(platform, Kind.BOOKING, account.login)
            booked += len(tickets)
    if booked:
        logger.info("booked %s pending deal(s) of %s", booked, platform.code)
    return booked


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
        volume=decimal_check(getattr(position, "volume", None), "volume"),
        open_price=decimal_check(getattr(position, "open_price", None), "price"),
        current_price=decimal_check(getattr(position, "current_price", None), "price"),
        profit=decimal_check(getattr(position, "profit", None), "profit"),
        swap=decimal_check(getattr(position, "swap", None), "swap"),
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
        # Every row this call may delete or update is locked first, in ticket order, before any is
        # written: a whole-platform snapshot and a per-login push then take their common rows in the
        # same order and queue instead of deadlocking (the upsert below also goes in ticket order).
        scope = Position.objects.filter(platform=platform)
        if wanted is not None:
            scope = scope.filter(Q(login__in=wanted) | Q(ticket__in=list(checked)))
        held = scope.select_for_update().order_by("ticket").values_list("pk", "ticket", "login")
        stale = [pk for pk, ticket, login in held if ticket not in checked and (wanted is None or login in wanted)]
        if stale:
            Position.objects.filter(pk__in=stale).delete()
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
