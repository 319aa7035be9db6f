"""Trading sync benchmark: the bulk back-fill path and the real-time path, each beside a baseline.

Each figure is printed beside a baseline measured in the same run on the same machine:
  - bulk: trading.sync.bulk.deals_bulk_load of N deals (default 1,000,000; 1,000 accounts, 10 symbols
    by name or alias, 1% unknown symbols) into an empty trading_deal, vs. COPY of the same rows, written
    by the same CSV code, into a plain table with the same columns (no indexes, no constraints, logged),
    and the Python side alone (making the rows and their CSV, no database): deals/s. Rows are made on the
    fly from the ticket number by every path (a million DealData would not fit in memory), so every
    path pays the same Python cost; the "Python alone" line shows how much of each figure it is.
  - real time: from a deal pushed to its row being visible from ANOTHER database connection (polled),
    p50/p95/p99 over P pushes (default 2,000), for (1) a signed POST to /trading/push/<platform>/
    through Django's test Client (in-process: signature check, JSON, deals_ingest, ledger posting,
    outbox event), (2) deals_ingest called directly with one DealData (the simulator's path), vs.
    (3) a bare INSERT of one row + commit, polled the same way.

Run: `.venv/bin/python bench/trading.py [bulk] [realtime] [--deals N] [--pushes P] [--rounds R]`
(both parts by default; uses DATABASE_URL like the demo). It creates a throwaway tenant `benchtrade`
and drops it again at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")
os.environ.setdefault("BROKERAGE_DEMO", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

import psycopg2  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402

from bench.support import bench_tenant, deal_terms, outbox_mode, percentiles  # noqa: E402
from crm.models import Client  # noqa: E402
from payments import ledger  # noqa: E402
from payments.adapters.signatures import stripe_signature  # noqa: E402
from payments.ledger import Line  # noqa: E402
from payments.models import LedgerAccount  # noqa: E402
from trading.connectors.base import DealData  # noqa: E402
from trading.defaults import trading_defaults_ensure  # noqa: E402
from trading.models import Platform, TradingAccount  # noqa: E402
from trading.sync.bulk import COLUMNS, csv_chunk, deals_bulk_load  # noqa: E402
from trading.sync.ingest import deals_ingest  # noqa: E402

SLUG = "benchtrade"
HOST = f"{SLUG}.localhost"
QUEUE = "bench-trading"
ACCOUNTS = 1000
CHUNK = 250_000
SECRET = "bench-push-secret"  # noqa: S105 - a throwaway tenant's value
SYMBOLS = ["EURUSD", "GBPUSD", "USDJPY", "GOLD", "XAUUSD.m", "US500", "DE40.cash", "BTCUSD", "EURGBP", "AUDUSD.pro"]
T0 = datetime(2024, 1, 1, tzinfo=UTC)


# Bulk ---------------------------------------------------------------------------------------------------


def rows(count: int):
    """The same deals every time, made from the ticket number (cheap, deterministic, varied)."""
    for ticket in range(1, count + 1):
        symbol = SYMBOLS[ticket % 10] if ticket % 100 else "UNKNOWN.x"
        yield DealData(
            ticket=ticket,
            login=str(500000 + ticket % ACCOUNTS),
            time=T0 + timedelta(seconds=ticket * 7),
            symbol=symbol,
            **deal_terms(ticket),
        )


def chunks(iterable, size: int):
    batch = []
    for row in iterable:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_python_only(count: int) -> float:
    start = time.perf_counter()
    for chunk in chunks(rows(count), CHUNK):
        csv_chunk(chunk).getvalue()
    return time.perf_counter() - start


def run_raw_copy(count: int) -> float:
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    start = time.perf_counter()
    for chunk in chunks(rows(count), CHUNK):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.copy_expert(f"COPY bench_raw_deal ({columns}) FROM STDIN WITH (FORMAT csv)", csv_chunk(chunk))
    return time.perf_counter() - start


def run_bulk(platform: Platform, count: int) -> tuple[float, object]:
    start = time.perf_counter()
    result = deals_bulk_load(platform, rows(count), chunk_size=CHUNK)
    return time.perf_counter() - start, result


def tables_empty() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE trading_deal, bench_raw_deal")
        cursor.execute("DELETE FROM trading_syncproblem")
        cursor.execute("CHECKPOINT")


def bench_bulk(count: int, rounds: int) -> None:
    platform = Platform.objects.get(code="sim-live")
    TradingAccount.objects.bulk_create(
        TradingAccount(login=str(500000 + i), platform=platform, group="bench", leverage=100, currency="USD")
        for i in range(ACCOUNTS)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_raw_deal (ticket bigint, login text, time timestamptz, symbol text, action text,"
            " entry text, volume numeric, price numeric, profit numeric, commission numeric, swap numeric,"
            ' fee numeric, comment text, "order" bigint, position_id bigint)'
        )
    rates: dict[str, list[float]] = {"deals_bulk_load": [], "baseline: raw COPY": [], "Python alone": []}
    last = None
    for _ in range(rounds):  # interleaved, so that a busy moment of the machine hits every path alike
        tables_empty()
        rates["Python alone"].append(count / run_python_only(count))
        tables_empty()
        rates["baseline: raw COPY"].append(count / run_raw_copy(count))
        tables_empty()
        seconds, last = run_bulk(platform, count)
        rates["deals_bulk_load"].append(count / seconds)
        assert last.inserted == count, last
    # Again over the loaded table: every row is a duplicate (a back-fill run twice).
    seconds, again = run_bulk(platform, count)
    assert again.inserted == 0 and again.duplicates == count

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'trading_deal' AND schemaname = current_schema()"
        )
        indexes = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = 'trading_deal'::regclass AND contype = 'f'")
        foreign_keys = cursor.fetchone()[0]
    print(
        f"\nbulk back-fill: {count:,} deals over {ACCOUNTS:,} accounts, chunks of {CHUNK:,}, "
        f"median of {rounds} run(s), into an empty trading_deal ({indexes} indexes, {foreign_keys} foreign keys)"
    )
    for label, values in rates.items():
        runs = ", ".join(f"{value:,.0f}" for value in values)
        print(f"  {label:<24} {statistics.median(values):>10,.0f} deals/s   (runs: {runs})")
    print(f"  the same load again (all duplicates) {count / seconds:>10,.0f} deals/s")
    ours, raw = statistics.median(rates["deals_bulk_load"]), statistics.median(rates["baseline: raw COPY"])
    print(f"  deals_bulk_load runs at {ours / raw:.0%} of the raw COPY rate (the aim: at least 50%)")
    print(
        f"  last load: {last.inserted:,} inserted, unknown symbols {dict(last.unknown_symbols)}, "
        f"unknown logins {len(last.unknown_logins)}"
    )


# Real time ----------------------------------------------------------------------------------------------


def observer() -> psycopg2.extensions.connection:
    """A second connection, as a page or another worker would read."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    other = psycopg2.connect(**params)
    other.autocommit = True
    with other.cursor() as cursor:
        cursor.execute(f"SET search_path TO {connection.schema_name}, public")
    return other


def visible_after(seen, query: str, args: list, started: float) -> float:
    with seen.cursor() as cursor:
        while True:
            cursor.execute(query, args)
            if cursor.fetchone():
                return time.perf_counter() - started


def bench_realtime(pushes: int) -> None:
    platform = Platform.objects.get(code="sim-live")
    platform.push_secret = SECRET
    platform.save(update_fields=["push_secret"])
    client = Client.objects.create(first_name="Bench", last_name="Trader", email="trader@bench.test")
    account = TradingAccount.objects.create(
        login="599999", platform=platform, client=client, group="bench", leverage=100, currency="USD"
    )
    funds = ledger.trading_funds_for(client, "USD")
    ledger.transaction_post(
        kind="adjustment",
        reference="bench-funds",
        lines=[
            Line(ledger.system_account(LedgerAccount.Kind.SUSPENSE, "USD"), D("-1000000")),
            Line(funds, D("1000000")),
        ],
    )
    seen = observer()
    http = HttpClient(HTTP_HOST=HOST)
    visible = "SELECT 1 FROM trading_deal WHERE platform_id = %s AND ticket = %s"
    base = 90_000_000

    def one(ticket: int) -> DealData:
        return DealData(
            ticket=ticket, login=account.login, time=datetime.now(UTC), symbol="EURUSD", action="sell", entry="out",
            volume=D("1.00"), price=D("1.08512"), profit=D("12.50"), commission=D("-3.50"),
        )  # fmt: skip

    def push(ticket: int) -> float:
        body = json.dumps(
            {"events": [{"type": "deal", "ticket": ticket, "login": account.login,
                         "time": datetime.now(UTC).isoformat(), "symbol": "EURUSD", "action": "sell",
                         "entry": "out", "volume": "1.00", "price": "1.08512", "profit": "12.50",
                         "commission": "-3.50"}]}
        ).encode()  # fmt: skip
        started = time.perf_counter()
        answer = http.post(
            f"/trading/push/{platform.code}/",
            data=body,
            content_type="application/json",
            headers={"X-Signature": stripe_signature(SECRET, body)},
        )
        assert answer.status_code == 200, answer.content
        return visible_after(seen, visible, [platform.pk, ticket], started)

    def direct(ticket: int) -> float:
        deal = one(ticket)
        started = time.perf_counter()
        deals_ingest(platform, [deal])
        return visible_after(seen, visible, [platform.pk, ticket], started)

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_floor (ticket bigint PRIMARY KEY, login text, profit numeric)")

    def floor(ticket: int) -> float:
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_floor VALUES (%s, %s, %s)", [ticket, account.login, D("12.50")])
        return visible_after(seen, "SELECT 1 FROM bench_floor WHERE ticket = %s", [ticket], started)

    samples: dict[str, list[float]] = {"push": [], "direct": [], "floor": []}
    for index in range(-20, pushes):  # the first 20 of each warm up caches and connections
        for label, run, offset in (("push", push, 0), ("direct", direct, 10_000_000), ("floor", floor, 0)):
            took = run(base + offset + index + 20)
            if index >= 0:
                samples[label].append(took)
    seen.close()
    print(f"\nreal time: {pushes:,} deals one at a time, until the row is visible from another connection")
    print(f"  signed POST /trading/push/ (test Client)   {percentiles(samples['push'])}")
    print(f"  deals_ingest of one deal (simulator path)  {percentiles(samples['direct'])}")
    print(f"  baseline: bare INSERT of one row + commit  {percentiles(samples['floor'])}")
    problems = ledger.ledger_problems()
    assert problems == [], problems[:5]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", help="bulk and/or realtime (default: both)")
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--pushes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1)
    options = parser.parse_args()
    sections = options.sections or ["bulk", "realtime"]
    if set(sections) - {"bulk", "realtime"}:
        parser.error("sections are bulk and realtime")

    with bench_tenant(SLUG, "Bench trading", queue=QUEUE, domain=HOST):
        trading_defaults_ensure()
        print(
            f"trading benchmark on {os.cpu_count()} cores, PostgreSQL {connection.pg_version // 10000}, "
            f"outbox events: {outbox_mode(QUEUE)}"
        )
        if "bulk" in sections:
            bench_bulk(options.deals, options.rounds)
        if "realtime" in sections:
            bench_realtime(options.pushes)


if __name__ == "__main__":
    main()
