"""Races for the same money, run for real: threads with their own PostgreSQL connections.

Each thread opens its connection, waits at a barrier so that all of them
start together, runs one ledger call in alpha's schema and closes its
connection. Exactly the right number of them may win, nothing is overdrawn,
nothing deadlocks, and the books prove themselves afterwards.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.db import DatabaseError, transaction
from django_tenants.utils import tenant_context

from brokerage.errors import ApplicationError
from payments import ledger
from payments.ledger import InsufficientFunds, Line, Posting
from payments.models import Hold, LedgerAccount, LedgerLine, LedgerTransaction
from tests.concurrency import race
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db(transaction=True)
Kind = LedgerAccount.Kind
THREADS = 10


def wins(results) -> list:
    return [result for result in results if not isinstance(result, Exception)]


def failures(results) -> list[Exception]:
    return [result for result in results if isinstance(result, Exception)]


def deposit(books, account: LedgerAccount, amount: D, reference: str) -> LedgerTransaction:
    return ledger.transaction_post(
        kind="deposit", reference=reference, lines=[Line(books["clearing"], -amount), Line(account, amount)]
    )


@pytest.fixture
def books(alpha):
    """Two clients' USD wallets, the card clearing account, and 100.00 in the first wallet."""
    with tenant_context(alpha):
        books = {
            "wallet": ledger.wallet_for(ClientFactory(), "USD"),
            "other": ledger.wallet_for(ClientFactory(), "USD"),
            "clearing": ledger.system_account(Kind.PSP_CLEARING, "USD", "card"),
        }
        deposit(books, books["wallet"], D("100.00"), "funding")
    return books


def state(alpha, account: LedgerAccount) -> tuple[D, D]:
    with tenant_context(alpha):
        account.refresh_from_db()
        assert ledger.ledger_problems() == []
    return account.balance, account.held


def test_ten_parallel_holds_of_30_on_100_available_exactly_three_succeed(alpha, books):
    results = race(alpha, lambda i: ledger.hold_place(books["wallet"], D("30.00"), reference=f"wd-{i}"), count=THREADS)

    assert len(wins(results)) == 3
    assert all(isinstance(error, InsufficientFunds) for error in failures(results))
    assert state(alpha, books["wallet"]) == (D("100.00"), D("90.00"))
    with tenant_context(alpha):
        assert Hold.objects.count() == 3


def test_parallel_debits_of_one_wallet_succeed_only_while_funds_last(alpha, books):
    def debit(index: int) -> LedgerTransaction:
        return ledger.transaction_post(
            kind="withdrawal",
            reference=f"wd-{index}",
            lines=[Line(books["wallet"], D("-15.00")), Line(books["clearing"], D("15.00"))],
        )

    results = race(alpha, debit, count=THREADS)

    assert len(wins(results)) == 6
    assert all(isinstance(error, InsufficientFunds) for error in failures(results))
    assert state(alpha, books["wallet"]) == (D("10.00"), D("0"))


def test_postings_that_lock_two_accounts_in_opposite_order_never_deadlock(alpha, books):
    with tenant_context(alpha):
        deposit(books, books["other"], D("100.00"), "funding-other")
    rounds = 15

    def transfer_back_and_forth(index: int) -> int:
        # Even threads list wallet then other, odd threads the reverse: the ledger locks by id anyway.
        source, target = (books["wallet"], books["other"]) if index % 2 == 0 else (books["other"], books["wallet"])
        for turn in range(rounds):
            ledger.transaction_post(
                kind="transfer",
                reference=f"transfer-{index}-{turn}",
                lines=[Line(source, D("-1.00")), Line(target, D("1.00"))],
            )
        return rounds

    results = race(alpha, transfer_back_and_forth, count=THREADS)

    assert failures(results) == []
    assert state(alpha, books["wallet"]) == (D("100.00"), D("0"))
    assert state(alpha, books["other"]) == (D("100.00"), D("0"))
    with tenant_context(alpha):
        assert LedgerTransaction.objects.filter(kind="transfer").count() == THREADS * rounds


def test_one_reference_posted_from_many_threads_moves_money_once(alpha, books):
    results = race(alpha, lambda i: deposit(books, books["wallet"], D("50.00"), "psp-event-1"), count=THREADS)

    assert failures(results) == []
    assert len({txn.pk for txn in results}) == 1
    assert state(alpha, books["wallet"]) == (D("150.00"), D("0"))
    with tenant_context(alpha):
        assert LedgerTransaction.objects.filter(reference="psp-event-1").count() == 1


def test_racing_captures_and_releases_of_one_hold_have_exactly_one_winner(alpha, books):
    """Half the threads capture the hold (each with its own reference), half release it."""
    for round_ in range(3):
        with tenant_context(alpha):
            hold = ledger.hold_place(books["wallet"], D("30.00"), reference=f"wd-{round_}")
        balance_before, _ = state(alpha, books["wallet"])

        def capture_or_release(index: int, hold=hold, round_=round_):
            if index % 2:
                return ledger.hold_release(hold)
            return ledger.transaction_post(
                kind="withdrawal",
                reference=f"payout-{round_}-{index}",
                lines=[Line(books["wallet"], -hold.amount), Line(books["clearing"], hold.amount)],
                capture=hold,
            )

        results = race(alpha, capture_or_release, count=THREADS)

        assert all(isinstance(error, ApplicationError) and error.code == "hold_resolved" for error in failures(results))
        captures = [result for result in wins(results) if isinstance(result, LedgerTransaction)]
        with tenant_context(alpha):
            hold.refresh_from_db()
        if hold.status == Hold.Status.CAPTURED:
            assert [txn.pk for txn in captures] == [hold.transaction_id]
            assert state(alpha, books["wallet"]) == (balance_before - D("30.00"), D("0"))
        else:
            assert hold.status == Hold.Status.RELEASED
            assert captures == []
            assert state(alpha, books["wallet"]) == (balance_before, D("0"))
        assert {released.status for released in wins(results) if isinstance(released, Hold)} == {hold.status}
    with tenant_context(alpha):
        captured = Hold.objects.filter(status=Hold.Status.CAPTURED).count()
        assert LedgerTransaction.objects.filter(kind="withdrawal").count() == captured


def test_the_same_bulk_batch_posted_from_many_threads_posts_each_transaction_once(alpha, books):
    with tenant_context(alpha):
        revenue = ledger.system_account(Kind.BROKER_REVENUE, "USD")
        payable = ledger.system_account(Kind.IB_COMMISSION_PAYABLE, "USD")
    batch = [
        Posting("commission", f"accrual-{i}", [Line(revenue, D("-1.25")), Line(payable, D("1.25"))]) for i in range(50)
    ]

    results = race(alpha, lambda i: ledger.transactions_post_bulk(batch), count=4)

    assert failures(results) == []
    assert sum(results) == 50
    assert state(alpha, payable) == (D("62.50"), D("0"))


def test_a_wallet_opened_from_many_threads_at_once_is_one_account(alpha):
    with tenant_context(alpha):
        client = ClientFactory()

    results = race(alpha, lambda i: ledger.wallet_for(client, "EUR").pk, count=THREADS)

    assert failures(results) == []
    assert len(set(results)) == 1
    with tenant_context(alpha):
        assert LedgerAccount.objects.filter(client=client, currency="EUR").count() == 1


def test_postgres_refuses_lines_appended_later_to_a_posted_transaction(alpha, books):
    """Posted transactions are immutable: a later database transaction must not add lines to one."""
    with tenant_context(alpha):
        posted = LedgerTransaction.objects.get(reference="funding")
        appended = [
            LedgerLine(
                transaction=posted, account=books["wallet"], currency="USD", amount=D("5"), balance_after=D("105")
            ),
            LedgerLine(
                transaction=posted, account=books["clearing"], currency="USD", amount=D("-5"), balance_after=D("-105")
            ),
        ]
        with pytest.raises(DatabaseError, match="posted earlier"), transaction.atomic():
            LedgerLine.objects.bulk_create(appended)
