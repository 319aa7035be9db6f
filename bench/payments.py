"""Payments benchmark: single postings (deposit confirmation) and the bulk posting path.

Each figure is printed beside a baseline measured in the same run on the same machine:
  - deposit_start + deposit_confirm end to end in-process on fresh deposits (sandbox card,
    USD 100.00), and ledger.transaction_post of the same 3-line posting alone, vs. a bare
    INSERT of one row in its own transaction (the floor of any durable write): p50/p95/p99 ms.
  - transactions_post_bulk of 50,000 two-line commission accruals (100,000 lines over
    1,001 accounts) vs. COPY of the SAME transactions and lines straight into the tables,
    with the deferred balance trigger active, and again without it: lines per second.
    Every bulk run starts from empty ledger tables and ends with ledger_problems() == [].

Run: `.venv/bin/python bench/payments.py [single] [bulk]` (both by default; uses DATABASE_URL
like the demo). It creates a throwaway tenant `benchpay` and drops it again at the end. With
REDIS_URL, events go to a private queue that is purged; without it the outbox delivers them
inline (eager), which the deposit figures then include.
"""

from __future__ import annotations

import io
import os
import random
import statistics
import sys
import time
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")
os.environ.setdefault("BROKERAGE_DEMO", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from psycopg2.extras import execute_values  # noqa: E402

from bench.support import bench_tenant, outbox_mode, percentiles  # noqa: E402
from crm.models import Client  # noqa: E402
from payments import ledger  # noqa: E402
from payments.defaults import payment_defaults_ensure  # noqa: E402
from payments.deposits.services import deposit_confirm, deposit_start  # noqa: E402
from payments.ledger import Line, Posting  # noqa: E402
from payments.models import LedgerAccount, PaymentMethod  # noqa: E402

Kind = LedgerAccount.Kind
POSTINGS = 2000
BULK_TRANSACTIONS = 50_000
BULK_ACCOUNTS = 1000
BATCH = 5000
ROUNDS = 3
SLUG = "benchpay"
QUEUE = "bench-payments"


def timed(count: int, call) -> list[float]:
    call(-1)  # warm up caches and connections
    samples = []
    for index in range(count):
        start = time.perf_counter()
        call(index)
        samples.append(time.perf_counter() - start)
    return samples


def statements(call) -> str:
    """How many statements a call sends, apart from django-tenants' SET search_path before each cursor."""
    with CaptureQueriesContext(connection) as captured:
        call()
    sets = sum(query["sql"].startswith("SET search_path") for query in captured)
    return f"{len(captured) - sets} statements + {sets} SET search_path"


# Single postings ----------------------------------------------------------------------------------


def bench_single() -> None:
    card = PaymentMethod.objects.get(code="card")
    # Approved: the top verification level, so no KYC deposit limit stops the bench.
    client = Client.objects.create(
        first_name="Bench", last_name="Depositor", email="depositor@bench.test", kyc_status=Client.KycStatus.APPROVED
    )
    amount = D("100.00")

    def start():
        return deposit_start(client=client, method=card, currency="USD", amount=amount, actor=None)

    def confirm(deposit):
        deposit_confirm(deposit, amount=amount, actor_label="psp:sandbox_card")

    starting, confirming = [], []
    for index in range(-1, POSTINGS):  # the first round warms up caches and connections
        began = time.perf_counter()
        deposit = start()
        started = time.perf_counter()
        confirm(deposit)
        if index >= 0:
            starting.append(started - began)
            confirming.append(time.perf_counter() - started)
    both = [a + b for a, b in zip(starting, confirming, strict=True)]
    deposit = start()
    start_statements, confirm_statements = statements(start), statements(lambda: confirm(deposit))

    wallet = ledger.wallet_for(client, "USD")
    clearing = ledger.system_account(Kind.PSP_CLEARING, "USD", "card")
    fees = ledger.system_account(Kind.FEES, "USD")

    def post(index: int) -> None:
        ledger.transaction_post(
            kind="deposit",
            reference=f"bench-post-{index}",
            lines=[Line(clearing, -amount), Line(wallet, D("97.20")), Line(fees, D("2.80"))],
            client=client,
        )

    posting = timed(POSTINGS, post)

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_floor (id bigserial PRIMARY KEY, reference text, amount numeric)")

    def floor(index: int) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_floor (reference, amount) VALUES (%s, %s)", [f"f-{index}", amount])

    bare = timed(POSTINGS, floor)

    print(f"\nsingle posting: {POSTINGS:,} of each, one database transaction each (card, USD 100.00, fee 2.80)")
    print(f"  deposit_start + deposit_confirm          {percentiles(both)}")
    print(f"    deposit_start                          {percentiles(starting)}   {start_statements}")
    print(f"    deposit_confirm                        {percentiles(confirming)}   {confirm_statements}")
    print(f"  ledger.transaction_post alone, 3 lines   {percentiles(posting)}   {statements(lambda: post(-2))}")
    print(f"  baseline: bare INSERT of one row + commit {percentiles(bare)}")


# Bulk postings ------------------------------------------------------------------------------------


def ledger_empty() -> None:
    """Every bulk run starts from empty ledger tables and zero balances."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE payments_ledgerline, payments_ledgertransaction CASCADE")
        cursor.execute("UPDATE payments_ledgeraccount SET balance = 0, held = 0")
        cursor.execute("VACUUM ANALYZE payments_ledgerline")
        cursor.execute("VACUUM ANALYZE payments_ledgertransaction")


def bulk_rows(payables: list[LedgerAccount]) -> list[tuple[str, LedgerAccount, D]]:
    """The accruals both paths write: (reference, IB payable account, amount); seeded, so every run is the same."""
    draw = random.Random(3)
    return [
        (f"accrual-{index}", payables[draw.randrange(len(payables))], D(draw.randrange(1, 5000)) / 100)
        for index in range(BULK_TRANSACTIONS)
    ]


def run_ledger_bulk(revenue, rows) -> float:
    batches = [
        [
            Posting("commission", reference, [Line(revenue, -amount), Line(payable, amount)])
            for reference, payable, amount in rows[i : i + BATCH]
        ]
        for i in range(0, len(rows), BATCH)
    ]
    start = time.perf_counter()
    for batch in batches:
        ledger.transactions_post_bulk(batch)
    return time.perf_counter() - start


def run_raw_copy(revenue, rows, *, trigger: bool) -> float:
    """COPY the same transactions and lines (running balances computed the same way), then set the balances."""
    balances: dict[int, D] = {revenue.pk: D(0)}
    if not trigger:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE payments_ledgerline DISABLE TRIGGER payments_ledgerline_balanced")
    start = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        batch = rows[i : i + BATCH]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('payments_ledgertransaction', 'id')) FROM generate_series(1, %s)",
                [len(batch)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            now = timezone.now().isoformat()
            transactions, lines = io.StringIO(), io.StringIO()
            for txn_id, (reference, payable, amount) in zip(ids, batch, strict=True):
                transactions.write(f"{txn_id}\t{reference}\tcommission\t\t{now}\t{{}}\n")
                for account, value in ((revenue, -amount), (payable, amount)):
                    balance = balances[account.pk] = balances.get(account.pk, D(0)) + value
                    lines.write(f"{txn_id}\t{account.pk}\tUSD\t{value}\t{balance}\n")
            transactions.seek(0)
            lines.seek(0)
            cursor.copy_expert(
                "COPY payments_ledgertransaction (id, reference, kind, description, posted_at, metadata) FROM STDIN",
                transactions,
            )
            cursor.copy_expert(
                "COPY payments_ledgerline (transaction_id, account_id, currency, amount, balance_after) FROM STDIN",
                lines,
            )
            execute_values(
                cursor,
                "UPDATE payments_ledgeraccount a SET balance = v.balance::numeric FROM (VALUES %s) v(id, balance)"
                " WHERE a.id = v.id",
                [(pk, str(balance)) for pk, balance in balances.items()],
            )
    seconds = time.perf_counter() - start
    if not trigger:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE payments_ledgerline ENABLE TRIGGER payments_ledgerline_balanced")
    return seconds


def bench_bulk() -> None:
    revenue = ledger.system_account(Kind.BROKER_REVENUE, "USD")
    payables = [ledger.system_account(Kind.IB_COMMISSION_PAYABLE, "USD", f"ib-{i}") for i in range(BULK_ACCOUNTS)]
    rows = bulk_rows(payables)
    lines = 2 * len(rows)
    paths = {
        "ledger.transactions_post_bulk": lambda: run_ledger_bulk(revenue, rows),
        "baseline: raw COPY, balance trigger active": lambda: run_raw_copy(revenue, rows, trigger=True),
        "raw COPY, balance trigger disabled": lambda: run_raw_copy(revenue, rows, trigger=False),
    }
    rates: dict[str, list[float]] = {label: [] for label in paths}
    for _ in range(ROUNDS):  # interleaved, so that a busy moment of the machine hits every path alike
        for label, run in paths.items():
            ledger_empty()
            seconds = run()
            problems = ledger.ledger_problems()
            assert problems == [], problems[:5]
            assert ledger.ledger_totals() == {"USD": 0}
            rates[label].append(lines / seconds)

    print(
        f"\nbulk posting: {len(rows):,} two-line accruals = {lines:,} lines over {len(payables) + 1:,} accounts, "
        f"batches of {BATCH:,}; median of {ROUNDS} runs each"
    )
    for label, values in rates.items():
        runs = ", ".join(f"{value:,.0f}" for value in values)
        print(f"  {label:<44} {statistics.median(values):>9,.0f} lines/s   (runs: {runs})")
    ours, raw = (statistics.median(rates[label]) for label in list(paths)[:2])
    print(f"  transactions_post_bulk runs at {ours / raw:.0%} of the raw rate with the trigger (the aim: at least 50%)")


def main(sections: list[str]) -> None:
    with bench_tenant(SLUG, "Bench payments", queue=QUEUE):
        payment_defaults_ensure()
        print(
            f"payments benchmark on {os.cpu_count()} cores, PostgreSQL {connection.pg_version // 10000}, "
            f"outbox events: {outbox_mode(QUEUE)}"
        )
        if "single" in sections:
            bench_single()
        if "bulk" in sections:
            bench_bulk()


if __name__ == "__main__":
    main(sys.argv[1:] or ["single", "bulk"])
