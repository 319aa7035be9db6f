"""The ledger's invariants under random sequences of operations (hypothesis stateful testing).

Two clients' wallets in USD (2 decimals), JPY (0) and BTC (8) see deposits with
fees, withdrawals through holds (placed, then captured or released), transfers
between wallets, reversals of earlier transactions, bulk postings, replays of
old references and amounts with too many decimals. A plain Python model keeps
what every account should hold. After every step the database must agree with
the model and prove itself: `ledger_problems()` is empty, every currency sums
to zero, no wallet is below zero or below what is held on it. A refused
operation must leave every ledger row as it was, and `balance_at` of any earlier
moment must give the model's balance at that moment.

Each example runs in a savepoint rolled back at teardown, with its own clients
and accounts, so examples never see one another. The test never commits, so the
deferred balance trigger is fired by hand after every step, as a commit would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from brokerage.errors import ApplicationError
from brokerage.money import minor_units, quantize
from payments import ledger
from payments.ledger import InsufficientFunds, Line, Posting
from payments.models import Hold, LedgerAccount, LedgerLine, LedgerTransaction
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
Kind = LedgerAccount.Kind

CURRENCIES = ("USD", "JPY", "BTC")
CLIENTS = 2
WALLET_COUNT = CLIENTS * len(CURRENCIES)
WALLETS = st.tuples(st.integers(0, CLIENTS - 1), st.sampled_from(CURRENCIES))
MOST_MINOR_UNITS = 200_000
MINOR_AMOUNTS = st.integers(1, MOST_MINOR_UNITS)
# How a debit's amount is picked: mostly a part of what the wallet has available (so it
# succeeds), sometimes at the edge of it, sometimes drawn regardless of the balance.
HOW = st.sampled_from(["part_of_available"] * 3 + ["everything_available", "one_unit_more", "drawn"])


def unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


@dataclass
class PostedModel:
    """A transaction as the model remembers it."""

    pk: int
    reference: str
    kind: str
    lines: tuple[tuple[int, Decimal], ...]  # (account pk, amount)
    reversed_by: int | None = None


@dataclass
class HoldModel:
    hold: Hold
    account: int
    amount: Decimal
    status: str = Hold.Status.PENDING


class LedgerMachine(RuleBasedStateMachine):
    transactions = Bundle("transactions")
    holds = Bundle("holds")

    def __init__(self):
        super().__init__()
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        self.accounts: dict[int, LedgerAccount] = {}
        self.wallets: dict[tuple[int, str], int] = {}
        self.clearing: dict[str, int] = {}
        self.fees: dict[str, int] = {}
        self.revenue: dict[str, int] = {}
        clients = [ClientFactory() for _ in range(CLIENTS)]
        for currency in CURRENCIES:
            for index, client in enumerate(clients):
                self.wallets[index, currency] = self._open(ledger.wallet_for(client, currency))
            self.clearing[currency] = self._open(ledger.system_account(Kind.PSP_CLEARING, currency, "card"))
            self.fees[currency] = self._open(ledger.system_account(Kind.FEES, currency))
            self.revenue[currency] = self._open(ledger.system_account(Kind.BROKER_REVENUE, currency))
        self.balance = dict.fromkeys(self.accounts, Decimal(0))
        self.held = dict.fromkeys(self.accounts, Decimal(0))
        self.bulk_posted: list[PostedModel] = []
        self.history: list[tuple[datetime, dict[int, Decimal]]] = [(timezone.now(), dict(self.balance))]
        self.serial = 0

    def teardown(self):
        transaction.set_rollback(True)
        self.savepoint.__exit__(None, None, None)

    # Helpers ------------------------------------------------------------------------------------

    def _open(self, account: LedgerAccount) -> int:
        self.accounts[account.pk] = account
        return account.pk

    def _reference(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def _amount(self, account: int, minor: int, how: str) -> Decimal:
        currency = self.accounts[account].currency
        available = self.balance[account] - self.held[account]
        if how == "everything_available" and available > 0:
            return available
        if how == "one_unit_more":
            return available + unit(currency)
        if how == "part_of_available":
            part = quantize(available * minor / MOST_MINOR_UNITS, currency, rounding=ROUND_DOWN)
            return max(part, unit(currency))
        return minor * unit(currency)

    def _overdraws(self, lines, *, releasing: tuple[int, Decimal] | None = None) -> bool:
        """What the service must refuse: a line that takes a wallet below what is held on it."""
        balance, held = dict(self.balance), dict(self.held)
        if releasing:
            held[releasing[0]] -= releasing[1]
        for account, amount in lines:
            if amount < 0 and not self.accounts[account].allow_negative and balance[account] + amount < held[account]:
                return True
            balance[account] += amount
        return False

    def _apply(self, lines) -> None:
        for account, amount in lines:
            self.balance[account] += amount

    def _post(self, kind: str, reference: str, lines, **extra) -> PostedModel:
        txn = ledger.transaction_post(
            kind=kind,
            reference=reference,
            lines=[Line(self.accounts[account], amount) for account, amount in lines],
            **extra,
        )
        return PostedModel(txn.pk, reference, kind, tuple(lines))

    def _rows(self):
        """Every ledger row that an operation could touch, to prove a refusal changed nothing."""
        return (
            list(LedgerAccount.objects.order_by("pk").values_list("pk", "balance", "held")),
            list(LedgerTransaction.objects.order_by("pk").values_list("pk", "reference")),
            list(LedgerLine.objects.order_by("pk").values_list("pk", "amount")),
            list(Hold.objects.order_by("pk").values_list("pk", "status")),
        )

    def _refused(self, operation, error=ApplicationError, code: str | None = None) -> None:
        before = self._rows()
        with pytest.raises(error) as raised:
            operation()
        if code:
            assert raised.value.code == code
        assert self._rows() == before

    # Operations ---------------------------------------------------------------------------------

    @initialize(target=transactions, minors=st.lists(MINOR_AMOUNTS, min_size=WALLET_COUNT, max_size=WALLET_COUNT))
    def fund_every_wallet(self, minors):
        """Start each wallet with money, so that most debits can succeed and refusals are at the edges."""
        return multiple(*(self.deposit(wallet, minor, 0) for wallet, minor in zip(self.wallets, minors, strict=True)))

    @rule(target=transactions, wallet=WALLETS, minor=MINOR_AMOUNTS, fee_permille=st.integers(0, 50))
    def deposit(self, wallet, minor, fee_permille):
        currency = wallet[1]
        amount = minor * unit(currency)
        fee = quantize(amount * fee_permille / 1000, currency, rounding=ROUND_DOWN)
        lines = [(self.clearing[currency], -amount), (self.wallets[wallet], amount - fee)]
        if fee:
            lines.append((self.fees[currency], fee))
        posted = self._post(LedgerTransaction.Kind.DEPOSIT, self._reference("deposit"), lines)
        self._apply(lines)
        return posted

    @rule(target=holds, wallet=WALLETS, minor=MINOR_AMOUNTS, how=HOW)
    def place_a_hold(self, wallet, minor, how):
        account = self.wallets[wallet]
        amount = self._amount(account, minor, how)
        reference = self._reference("hold")
        place = lambda: ledger.hold_place(self.accounts[account], amount, reference=reference)  # noqa: E731
        if amount > self.balance[account] - self.held[account]:
            self._refused(place, InsufficientFunds, "insufficient_funds")
            return multiple()
        hold = place()
        self.held[account] += amount
        return HoldModel(hold, account, amount)

    @rule(target=transactions, hold=holds)
    def capture_a_hold(self, hold):
        currency = self.accounts[hold.account].currency
        lines = [(hold.account, -hold.amount), (self.clearing[currency], hold.amount)]
        reference = self._reference("withdrawal")
        capture = lambda: self._post(LedgerTransaction.Kind.WITHDRAWAL, reference, lines, capture=hold.hold)  # noqa: E731
        if hold.status != Hold.Status.PENDING:
            self._refused(capture, code="hold_resolved")
            return multiple()
        assert not self._overdraws(lines, releasing=(hold.account, hold.amount))
        posted = capture()
        self.held[hold.account] -= hold.amount
        self._apply(lines)
        hold.status = Hold.Status.CAPTURED
        assert Hold.objects.get(pk=hold.hold.pk).transaction_id == posted.pk
        return posted

    @rule(hold=holds)
    def release_a_hold(self, hold):
        before = self._rows()
        released = ledger.hold_release(hold.hold)
        if hold.status == Hold.Status.PENDING:
            self.held[hold.account] -= hold.amount
            hold.status = Hold.Status.RELEASED
        else:
            assert self._rows() == before  # releasing a resolved hold is a no-op
        assert released.status == hold.status

    @rule(target=transactions, wallet=WALLETS, to_client=st.integers(1, CLIENTS - 1), minor=MINOR_AMOUNTS, how=HOW)
    def transfer(self, wallet, to_client, minor, how):
        source = self.wallets[wallet]
        target = self.wallets[(wallet[0] + to_client) % CLIENTS, wallet[1]]
        amount = self._amount(source, minor, how)
        lines = [(source, -amount), (target, amount)]
        reference = self._reference("transfer")
        post = lambda: self._post(LedgerTransaction.Kind.TRANSFER, reference, lines)  # noqa: E731
        if self._overdraws(lines):
            self._refused(post, InsufficientFunds, "insufficient_funds")
            return multiple()
        posted = post()
        self._apply(lines)
        return posted

    @rule(target=transactions, original=transactions)
    def reverse(self, original):
        txn = LedgerTransaction.objects.get(pk=original.pk)
        reverse = lambda: ledger.transaction_reverse(txn, reason="property test")  # noqa: E731
        mirror = tuple((account, -amount) for account, amount in original.lines)
        if original.kind == LedgerTransaction.Kind.REVERSAL:
            self._refused(reverse, code="reversal")
            return multiple()
        if original.reversed_by is not None:
            before = self._rows()
            assert reverse().pk == original.reversed_by
            assert self._rows() == before
            return multiple()
        if self._overdraws(mirror):
            self._refused(reverse, InsufficientFunds, "insufficient_funds")
            return multiple()
        reversal = reverse()
        assert reversal.reverses_id == original.pk
        self._apply(mirror)
        original.reversed_by = reversal.pk
        return PostedModel(reversal.pk, reversal.reference, LedgerTransaction.Kind.REVERSAL, mirror)

    @rule(original=transactions)
    def post_an_old_reference_again(self, original):
        before = self._rows()
        assert self._post(original.kind, original.reference, original.lines).pk == original.pk
        assert self._rows() == before

    @rule(
        target=transactions,
        items=st.lists(
            st.tuples(st.booleans(), WALLETS, st.integers(1, CLIENTS - 1), MINOR_AMOUNTS), min_size=1, max_size=6
        ),
        repeat_an_old_one=st.booleans(),
    )
    def post_in_bulk(self, items, repeat_an_old_one):
        """Commission rebates (revenue to wallet) and wallet transfers; one overdraft refuses the batch."""
        new = []
        for is_transfer, wallet, to_client, minor in items:
            amount = minor * unit(wallet[1])
            target = self.wallets[wallet]
            if is_transfer:
                source = target
                target = self.wallets[(wallet[0] + to_client) % CLIENTS, wallet[1]]
            else:
                source = self.revenue[wallet[1]]
            new.append(PostedModel(0, self._reference("bulk"), "commission", ((source, -amount), (target, amount))))
        batch = new + self.bulk_posted[-1:] if repeat_an_old_one else new
        post = lambda: ledger.transactions_post_bulk(  # noqa: E731
            [Posting(p.kind, p.reference, [Line(self.accounts[a], x) for a, x in p.lines]) for p in batch]
        )
        if self._overdraws([line for p in new for line in p.lines]):
            self._refused(post, InsufficientFunds, "insufficient_funds")
            return multiple()
        assert post() == len(new)
        for posting in new:
            self._apply(posting.lines)
            posting.pk = LedgerTransaction.objects.get(reference=posting.reference).pk
        self.bulk_posted += new
        return multiple(*new)

    @rule(wallet=WALLETS, minor=MINOR_AMOUNTS, digit=st.integers(1, 9))
    def refuse_an_amount_with_too_many_decimals(self, wallet, minor, digit):
        currency = wallet[1]
        amount = Decimal(minor * 10 + digit).scaleb(-minor_units(currency) - 1)
        account = self.accounts[self.wallets[wallet]]
        self._refused(lambda: ledger.amount_clean(amount, currency))
        self._refused(lambda: ledger.hold_place(account, amount, reference=self._reference("bad")))
        self._refused(
            lambda: ledger.transaction_post(
                kind="deposit",
                reference=self._reference("bad"),
                lines=[Line(self.accounts[self.clearing[currency]], -amount), Line(account, amount)],
            ),
            ValueError,
        )

    @precondition(lambda self: len(self.history) > 1)
    @rule(pick=st.integers(0, 10**6))
    def balance_at_an_earlier_moment(self, pick):
        moment, balances = self.history[pick % len(self.history)]
        for account in self.wallets.values():
            assert ledger.balance_at(self.accounts[account], moment) == balances[account]

    # Invariants ---------------------------------------------------------------------------------

    @invariant()
    def the_books_prove_themselves_and_agree_with_the_model(self):
        with connection.cursor() as cursor:  # what a commit would check (migration 0002)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        assert ledger.ledger_problems() == []
        assert all(total == 0 for total in ledger.ledger_totals().values())
        stored = {
            pk: (balance, held) for pk, balance, held in LedgerAccount.objects.values_list("pk", "balance", "held")
        }
        assert stored == {pk: (self.balance[pk], self.held[pk]) for pk in self.accounts}
        for account in self.wallets.values():
            assert self.balance[account] >= self.held[account] >= 0
        self.history.append((timezone.now(), {pk: self.balance[pk] for pk in self.wallets.values()}))


@pytest.mark.timeout(600)  # room for hypothesis to shrink a failure (it stops itself after 300 s)
def test_the_ledger_keeps_its_invariants_under_random_operations(in_alpha):
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=50,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


# PostgreSQL text holds any character but NUL; surrogates are not text at all.
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=60)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(description=TEXT, note=TEXT)
def test_bulk_posting_keeps_any_description_and_metadata_exactly(in_alpha, description, note):
    """The bulk path writes rows with COPY: tabs, newlines and backslashes must come back as they went in."""
    revenue = ledger.system_account(Kind.BROKER_REVENUE, "USD")
    payable = ledger.system_account(Kind.IB_COMMISSION_PAYABLE, "USD")
    reference = f"accrual {description[:20]}\t\\N"
    with transaction.atomic():
        posting = Posting(
            "commission",
            reference,
            [Line(revenue, Decimal("-1.00")), Line(payable, Decimal("1.00"))],
            description=description,
            metadata={"note": note},
        )
        assert ledger.transactions_post_bulk([posting]) == 1
        txn = LedgerTransaction.objects.get(reference=reference)
        assert (txn.description, txn.metadata) == (description, {"note": note})
        transaction.set_rollback(True)
