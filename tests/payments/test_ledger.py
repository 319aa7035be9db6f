"""The ledger's rules, in Python and in PostgreSQL itself."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from brokerage.errors import ApplicationError
from payments import ledger
from payments.ledger import Line, Posting
from payments.models import Hold, LedgerAccount, LedgerLine, LedgerTransaction
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
Kind = LedgerAccount.Kind


@pytest.fixture
def books(in_alpha):
    client = ClientFactory()
    return {
        "client": client,
        "wallet": ledger.wallet_for(client, "USD"),
        "clearing": ledger.system_account(Kind.PSP_CLEARING, "USD", "card"),
        "fees": ledger.system_account(Kind.FEES, "USD"),
    }


def deposit(books, amount, reference="dep-1"):
    return ledger.transaction_post(
        kind=LedgerTransaction.Kind.DEPOSIT,
        reference=reference,
        lines=[Line(books["clearing"], -amount), Line(books["wallet"], amount)],
        client=books["client"],
    )


def test_a_posting_moves_both_sides_and_keeps_running_balances(books):
    deposit(books, D("100.00"))
    deposit(books, D("25.50"), "dep-2")
    books["wallet"].refresh_from_db()
    assert books["wallet"].balance == D("125.50")
    assert list(books["wallet"].lines.values_list("balance_after", flat=True)) == [D("100.00"), D("125.50")]
    assert ledger.ledger_problems() == []
    assert ledger.ledger_totals() == {"USD": D("0")}


def test_the_same_reference_posts_once(books):
    first = deposit(books, D("100.00"))
    again = deposit(books, D("100.00"))
    assert again.pk == first.pk
    books["wallet"].refresh_from_db()
    assert books["wallet"].balance == D("100.00")


@pytest.mark.parametrize(
    ("amounts", "message"),
    [
        ([D("-10.00"), D("9.99")], "do not balance"),
        ([D("-10.001"), D("10.001")], "more decimals"),
        ([D("0"), D("0")], "non-zero"),
    ],
)
def test_bad_lines_are_refused_before_anything_is_written(books, amounts, message):
    with pytest.raises(ValueError, match=message):
        ledger.transaction_post(
            kind="deposit",
            reference="bad",
            lines=[Line(books["clearing"], amounts[0]), Line(books["wallet"], amounts[1])],
        )
    assert not LedgerTransaction.objects.exists()


def test_a_wallet_cannot_be_overdrawn(books):
    deposit(books, D("50.00"))
    with pytest.raises(ApplicationError) as error:
        ledger.transaction_post(
            kind="withdrawal",
            reference="wd",
            lines=[Line(books["wallet"], D("-50.01")), Line(books["clearing"], D("50.01"))],
        )
    assert error.value.code == "insufficient_funds"
    books["wallet"].refresh_from_db()
    assert books["wallet"].balance == D("50.00")


def test_postgres_refuses_an_unbalanced_transaction_written_around_the_service(books):
    with pytest.raises(DatabaseError, match="does not balance"), transaction.atomic():
        txn = LedgerTransaction.objects.create(reference="raw", kind="adjustment", posted_at=timezone.now())
        LedgerLine.objects.create(
            transaction=txn, account=books["wallet"], currency="USD", amount=D("5"), balance_after=D("5")
        )
        LedgerLine.objects.create(
            transaction=txn, account=books["clearing"], currency="USD", amount=D("-4"), balance_after=D("-4")
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_postgres_refuses_a_line_in_another_currency_than_its_account(books):
    eur = ledger.system_account(Kind.SUSPENSE, "EUR")
    with pytest.raises(DatabaseError, match="not its account"), transaction.atomic():
        txn = LedgerTransaction.objects.create(reference="raw", kind="adjustment", posted_at=timezone.now())
        LedgerLine.objects.create(transaction=txn, account=eur, currency="USD", amount=D("5"), balance_after=D("5"))
        LedgerLine.objects.create(
            transaction=txn, account=books["clearing"], currency="USD", amount=D("-5"), balance_after=D("-5")
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_posted_rows_are_immutable(books):
    txn = deposit(books, D("10.00"))
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        LedgerLine.objects.filter(transaction=txn).update(amount=D("20"))
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        LedgerTransaction.objects.filter(pk=txn.pk).update(description="edited")
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM payments_ledgerline WHERE transaction_id = %s", [txn.pk])


def test_the_database_check_stops_an_overdraft_the_service_did_not_see(books):
    with pytest.raises(DatabaseError, match="not_overdrawn"), transaction.atomic():
        LedgerAccount.objects.filter(pk=books["wallet"].pk).update(balance=D("-1"))


def test_a_reversal_mirrors_the_original_and_points_at_it(books):
    original = deposit(books, D("80.00"))
    reversal = ledger.transaction_reverse(original, reason="card chargeback")
    assert reversal.reverses == original
    books["wallet"].refresh_from_db()
    assert books["wallet"].balance == 0
    assert ledger.transaction_reverse(original, reason="again").pk == reversal.pk
    with pytest.raises(ApplicationError):
        ledger.transaction_reverse(reversal, reason="undo the undo")


def test_a_reversal_that_would_overdraw_the_wallet_is_refused(books):
    original = deposit(books, D("80.00"))
    ledger.hold_place(books["wallet"], D("50.00"), reference="wd-1")
    with pytest.raises(ApplicationError):
        ledger.transaction_reverse(original, reason="chargeback")


def test_holds_reduce_available_and_are_captured_or_released(books):
    deposit(books, D("100.00"))
    hold = ledger.hold_place(books["wallet"], D("60.00"), reference="wd-1")
    with pytest.raises(ApplicationError):
        ledger.hold_place(books["wallet"], D("40.01"), reference="wd-2")
    books["wallet"].refresh_from_db()
    assert books["wallet"].available == D("40.00")
    ledger.transaction_post(
        kind="withdrawal",
        reference="wd-1",
        lines=[Line(books["wallet"], D("-60.00")), Line(books["clearing"], D("60.00"))],
        capture=hold,
    )
    hold.refresh_from_db()
    books["wallet"].refresh_from_db()
    assert hold.status == Hold.Status.CAPTURED
    assert (books["wallet"].balance, books["wallet"].held) == (D("40.00"), D("0"))
    second = ledger.hold_place(books["wallet"], D("40.00"), reference="wd-2")
    ledger.hold_release(second)
    ledger.hold_release(second)
    books["wallet"].refresh_from_db()
    assert books["wallet"].available == D("40.00")
    assert ledger.ledger_problems() == []


def test_balance_at_a_past_moment(books):
    deposit(books, D("10.00"))
    middle = timezone.now()
    deposit(books, D("5.00"), "dep-2")
    assert ledger.balance_at(books["wallet"], middle) == D("10.00")
    assert ledger.balance_at(books["wallet"], timezone.now()) == D("15.00")
    assert ledger.balance_at(books["wallet"], middle - timedelta(days=1)) == 0


def test_bulk_posting_follows_the_same_rules(books):
    payable = ledger.system_account(Kind.IB_COMMISSION_PAYABLE, "USD")
    postings = [
        Posting("commission", f"c-{i}", [Line(books["fees"], D("-1.25")), Line(payable, D("1.25"))]) for i in range(50)
    ]
    assert ledger.transactions_post_bulk(postings) == 50
    assert ledger.transactions_post_bulk(postings) == 0
    payable.refresh_from_db()
    assert payable.balance == D("62.50")
    assert ledger.ledger_problems() == []


def test_verify_ledger_proves_every_tenant_and_names_a_broken_one(books, capsys):
    from django.core.management import CommandError, call_command

    deposit(books, D("10.00"))
    call_command("verify_ledger")
    assert "alpha: 2 lines, balanced (USD 0" in capsys.readouterr().out
    with connection.cursor() as cursor:  # a balance edited by hand, around the service
        cursor.execute("UPDATE payments_ledgeraccount SET balance = 11 WHERE id = %s", [books["wallet"].pk])
    with pytest.raises(CommandError):
        call_command("verify_ledger", tenant="alpha")
    assert "stored balance differs" in capsys.readouterr().err
