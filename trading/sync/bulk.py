"""Back-filling a platform's deal history (millions of rows): COPY into a staging table, one upsert.

Per chunk of CHUNK rows, in one database transaction:
1. the rows are written as CSV and COPY'd into a TEMP staging table (session-local, not WAL-logged,
   no indexes: the cheapest place for PostgreSQL to take them);
2. one INSERT INTO trading_deal ... SELECT resolves symbols (name or alias) and accounts (login on
   this platform) with joins, skips rows that fail the checks (ticket, login, time, action, entry),
   and leaves deals we already hold alone (ON CONFLICT (platform, ticket) DO NOTHING);
3. what was inserted is summarised in the same statement: how many, and which symbol names and
   logins did not resolve (raised as SyncProblems with their counts).

Back-filled deals get booking = history: they are from before the ledger, their money is in the
opening balances, never posted again. So a back-fill must stop where the live sync starts: deals at or
after `backfill_end(platform)` (the pull's cursor minus its overlap, or the platform's creation when
it was never synced) are the live sync's to take and book; rows from then on are not loaded, only
counted (BulkResult.clipped). A chunk commits on its own, so a load stopped halfway is
finished by running it again (duplicates are skipped by ticket).

Values are trusted to their type: a value PostgreSQL cannot read (a price "abc") stops that chunk
with PostgreSQL's message naming the line, and nothing of the chunk is written. Times without an
offset are UTC.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import psycopg2
from django.db import DataError, connection, transaction

from brokerage.errors import ApplicationError
from trading.connectors.base import DealData
from trading.models import Deal, Platform, SyncProblem, TradingAccount
from trading.sync.ingest import unknown_symbol_message
from trading.sync.problems import problem_raise
from trading.sync.pull import OVERLAP

CHUNK = 250_000
Kind = SyncProblem.Kind
# The CSV columns of the staging table, the back-fill file and the benchmark's raw COPY, in order.
COLUMNS = (
    "ticket",
    "login",
    "time",
    "symbol",
    "action",
    "entry",
    "volume",
    "price",
    "profit",
    "commission",
    "swap",
    "fee",
    "comment",
    "order",
    "position_id",
)
STAGING_TABLE = """
    CREATE TEMP TABLE IF NOT EXISTS trading_deal_staging (
        ticket bigint, login text, time timestamptz, symbol text, action text, entry text,
        volume numeric, price numeric, profit numeric, commission numeric, swap numeric, fee numeric,
        comment text, "order" bigint, position_id bigint
    ) ON COMMIT DELETE ROWS
"""
_QUOTED = ", ".join('"%s"' % column for column in COLUMNS)  # noqa: UP031 - quoting identifiers
COPY = f"COPY trading_deal_staging ({_QUOTED}) FROM STDIN WITH (FORMAT csv)"

# Symbols resolve through their name first, then an alias; accounts only on this platform.
_UPSERT = """
    WITH inserted AS (
        INSERT INTO trading_deal (platform_id, ticket, login, account_id, time, symbol_name, symbol_id, action,
                                  entry, "order", position_id, volume, price, profit, commission, swap, fee,
                                  comment, booking, ingested_at)
        SELECT %(platform)s, s.ticket, s.login, a.id, s.time, coalesce(s.symbol, ''),
               coalesce(sym.id, alias.symbol_id), s.action, s.entry, s."order", s.position_id,
               coalesce(s.volume, 0), coalesce(s.price, 0), coalesce(s.profit, 0), coalesce(s.commission, 0),
               coalesce(s.swap, 0), coalesce(s.fee, 0), left(coalesce(s.comment, ''), 64),
               %(booking)s, now()
          FROM trading_deal_staging s
          LEFT JOIN trading_symbol sym ON sym.name = s.symbol
          LEFT JOIN trading_symbolalias alias ON alias.alias = s.symbol
          LEFT JOIN trading_tradingaccount a ON a.login = s.login AND a.platform_id = %(platform)s
         WHERE s.ticket > 0 AND s.time IS NOT NULL AND coalesce(s.login, '') <> '' AND length(s.login) <= 40
           AND length(coalesce(s.symbol, '')) <= 40
           AND s.action = ANY(%(actions)s) AND s.entry = ANY(%(entries)s)
           AND s.time < %(end)s
        ON CONFLICT (platform_id, ticket) DO NOTHING
        RETURNING symbol_name, symbol_id, login, account_id
    )
    SELECT 'inserted', '', count(*) FROM inserted
    UNION ALL
    SELECT 'symbol', symbol_name, count(*) FROM inserted
     WHERE symbol_id IS NULL AND symbol_name <> '' GROUP BY symbol_name
    UNION ALL
    SELECT 'login', login, count(*) FROM inserted WHERE account_id IS NULL GROUP BY login
"""
_STAGED = """
    SELECT count(*), count(*) FILTER (WHERE valid), count(*) FILTER (WHERE valid AND time >= %(end)s)
      FROM (SELECT time, ticket > 0 AND time IS NOT NULL AND coalesce(login, '') <> '' AND length(login) <= 40
                         AND length(coalesce(symbol, '')) <= 40
                         AND action = ANY(%(actions)s) AND entry = ANY(%(entries)s) AS valid
              FROM trading_deal_staging) checked
"""


@dataclass
class BulkResult:
    inserted: int = 0
    duplicates: int = 0
    malformed: int = 0
    clipped: int = 0  # at or after backfill_end: left to the live sync
    unknown_symbols: Counter = field(default_factory=Counter)
    unknown_logins: Counter = field(default_factory=Counter)
    wrong_platform: Counter = field(default_factory=Counter)

    @property
    def rows(self) -> int:
        return self.inserted + self.duplicates + self.malformed + self.clipped

    def add(self, other: BulkResult) -> None:
        """Count another load (a chunk, a day) into this one."""
        self.inserted += other.inserted
        self.duplicates += other.duplicates
        self.malformed += other.malformed
        self.clipped += other.clipped
        self.unknown_symbols.update(other.unknown_symbols)
        self.unknown_logins.update(other.unknown_logins)
        self.wrong_platform.update(other.wrong_platform)


def backfill_end(platform: Platform) -> datetime:
    """Where history ends and the live sync's deals begin: its cursor minus the overlap it re-reads.

    The pull asks for deals from `deals_synced_to - OVERLAP` (or the platform's creation, never
    synced yet) and books them; a back-fill that stored them first, as history, would keep their
    money out of the ledger for good.
    """
    synced_to, created_at = Platform.objects.filter(pk=platform.pk).values_list("deals_synced_to", "created_at").get()
    return (synced_to or created_at) - OVERLAP


def _cell(value) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _as_tuple(row) -> tuple:
    if isinstance(row, DealData):
        values = (
            row.ticket, row.login, row.time, row.symbol, row.action, row.entry, row.volume, row.price, row.profit,
            row.commission, row.swap, row.fee, row.comment, row.order, row.position_id,
        )  # fmt: skip
    elif isinstance(row, Mapping):
        values = tuple(row.get(column) for column in COLUMNS)
    else:
        raise TypeError(f"rows are DealData or mappings, not {type(row).__name__}")
    return tuple(map(_cell, values))


def csv_chunk(rows: Iterable) -> io.StringIO:
    """Rows as COPY's CSV: None is an empty unquoted field (NULL); texts are quoted as needed."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(map(_as_tuple, rows))
    buffer.seek(0)
    return buffer


def _chunks(rows: Iterable, size: int) -> Iterator[list]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def deals_bulk_load(
    platform: Platform,
    rows: Iterable,
    *,
    chunk_size: int = CHUNK,
    progress: Callable[[BulkResult], None] | None = None,
) -> BulkResult:
    """Load historical deals (DealData or mappings with COLUMNS as keys); see the module docstring.

    `progress` is called with the running totals after each chunk (each is committed on its own)."""
    result = BulkResult()
    params = {
        "end": backfill_end(platform),
        "platform": platform.pk,
        "booking": Deal.Booking.HISTORY,
        "actions": list(Deal.Action.values),
        "entries": list(Deal.Entry.values),
    }
    for number, chunk in enumerate(_chunks(rows, chunk_size)):
        buffer = csv_chunk(chunk)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(STAGING_TABLE)
                cursor.execute("TRUNCATE trading_deal_staging")  # a savepoint rollback may have left rows
                cursor.copy_expert(COPY, buffer)
                # Without statistics the planner takes the fresh temp table for a few rows and joins by
                # nested loops: 6x slower on 50,000 rows.
                cursor.execute("ANALYZE trading_deal_staging")
                cursor.execute(_STAGED, params)
                staged, valid, clipped = cursor.fetchone()
                cursor.execute(_UPSERT, params)
                summary = cursor.fetchall()
                inserted = next(count for kind, _, count in summary if kind == "inserted")
                symbols = Counter({name: count for kind, name, count in summary if kind == "symbol"})
                logins = Counter({name: count for kind, name, count in summary if kind == "login"})
                elsewhere = set(
                    TradingAccount.objects.filter(login__in=list(logins))
                    .exclude(platform=platform)
                    .values_list("login", flat=True)
                )
                wrong = Counter({login: count for login, count in logins.items() if login in elsewhere})
                unknown = logins - wrong
                _problems_raise(platform, symbols, unknown, wrong, staged - valid)
        except (DataError, psycopg2.DataError) as error:
            first = chunk_size * number + 1
            line = re.search(r"line (\d+)", str(error))
            where = f"row {first + int(line.group(1)) - 1:,}: " if line else ""
            reason = str(error).strip().splitlines()[0]
            raise ApplicationError(
                f"Rows {first:,}-{first + len(chunk) - 1:,} were not loaded ({where}{reason}). Earlier rows are "
                f"in; fix the row and run the load again (deals already loaded are skipped).",
                code="bulk_bad_value",
            ) from error
        result.add(
            BulkResult(
                inserted=inserted,
                duplicates=valid - clipped - inserted,
                malformed=staged - valid,
                clipped=clipped,
                unknown_symbols=symbols,
                unknown_logins=unknown,
                wrong_platform=wrong,
            )
        )
        if progress is not None:
            progress(result)
    return result


def _problems_raise(platform: Platform, symbols: Counter, unknown: Counter, wrong: Counter, malformed: int) -> None:
    problems = [(Kind.UNKNOWN_SYMBOL, name, unknown_symbol_message(name, platform), n) for name, n in symbols.items()]
    for login, count in unknown.items():
        message = f"Back-filled deals of login {login}, which is no trading account here; stored without an account."
        problems.append((Kind.UNKNOWN_LOGIN, login, message, count))
    for login, count in wrong.items():
        message = f"Back-filled deals of login {login} on {platform.name}, but that login is on another platform."
        problems.append((Kind.WRONG_PLATFORM, login, message, count))
    if malformed:
        message = (
            f"{malformed} back-filled row(s) skipped: missing ticket, login or time, or an unknown action or entry."
        )
        problems.append((Kind.MALFORMED, "bulk load", message, malformed))
    for kind, subject, message, count in sorted(problems):
        problem_raise(platform, kind, subject, message, count=count)
