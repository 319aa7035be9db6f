"""Importing statements and matching them: wires confirm deposits once, payouts settle, the rest waits with a reason."""

from decimal import Decimal as D
from unittest import mock

import pytest

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from payments.defaults import payment_defaults_ensure
from payments.ledger import ledger_problems
from payments.models import Deposit, StatementEntry, StatementImport, Withdrawal
from payments.reconciliation import services
from payments.reconciliation.matching import BankMatcher
from payments.reconciliation.parsers import StatementError
from tests import factories
from tests.payments.reconciliation_support import (
    MARCH_2,
    MARCH_3,
    PAYOUT_REF,
    REF_A,
    REF_B,
    REF_C,
    REF_D,
    at,
    card_deposit,
    card_payout_paid,
    client,
    fixture,
    import_fixture,
    method,
    payout,
    wallet_balance,
    wire_deposit,
)

pytestmark = pytest.mark.django_db
Status = StatementEntry.Status


@pytest.fixture
def fiona(in_alpha):
    """Alpha's finance officer: she imports statements and resolves exceptions."""
    payment_defaults_ensure()
    return factories.staff_user("fiona@alpha.test", roles=["finance"])


def statuses(statement):
    return [(e.status, e.reason) for e in statement.entries.order_by("line_no")]


# Bank statements ----------------------------------------------------------------------------------


def test_a_wire_with_its_reference_and_the_exact_amount_confirms_the_deposit(fiona):
    carl, dana = client("Carl"), client("Dana")
    deposit_a = wire_deposit(carl, "250.00", reference=REF_A)
    deposit_b = wire_deposit(dana, "500.00", reference=REF_B)
    withdrawal = payout(dana, "481.50", "1.50")  # the bank sends 480.00

    statement = import_fixture("camt053_v2.xml", "camt053", actor=fiona)

    assert statement.format == "camt053"
    assert statement.method == method("bank-wire")
    assert statement.imported_by == fiona
    assert (statement.account, statement.currency, statement.balances_agree) == ("GB33BUKB20201555555555", "EUR", True)
    assert statuses(statement) == [
        (Status.AUTO_CONFIRMED, ""),
        (Status.EXCEPTION, "No deposit reference found in the remittance text."),
        (Status.AUTO_CONFIRMED, ""),
        (Status.EXCEPTION, "RF85K7QM9XT3 looks like a deposit reference but its check digits are wrong."),
        (Status.MATCHED, ""),
    ]
    deposit_a.refresh_from_db()
    deposit_b.refresh_from_db()
    withdrawal.refresh_from_db()
    assert deposit_a.status == deposit_b.status == Deposit.Status.COMPLETED
    assert deposit_a.events.last().actor_label == "reconciliation"
    assert wallet_balance(carl, "EUR") == D("250.00")
    assert wallet_balance(dana, "EUR") == D("500.00")  # 500 wired; the payout's 481.50 was funded and paid
    assert withdrawal.status == Withdrawal.Status.PAID
    entries = list(statement.entries.order_by("line_no"))
    assert (entries[0].deposit, entries[0].transaction) == (deposit_a, deposit_a.transaction)
    assert (entries[4].withdrawal, entries[4].transaction) == (withdrawal, withdrawal.transaction)
    assert entries[1].deposit is None
    assert ledger_problems() == []
    record = AuditRecord.objects.get(action="payments.statement.imported")
    assert record.actor_email == "fiona@alpha.test"
    assert record.after["auto_confirmed"] == 2 and record.after["exception"] == 2 and record.after["matched"] == 1


def test_the_same_file_twice_is_refused_and_changes_nothing(fiona):
    carl = client()
    wire_deposit(carl, "250.00")
    first = import_fixture("camt053_v2.xml", "camt053", actor=fiona)

    with pytest.raises(StatementError) as error:
        import_fixture("camt053_v2.xml", "camt053", actor=fiona)

    assert error.value.message.startswith("This file was already imported on ")
    assert error.value.message.endswith(f"by fiona@alpha.test (import #{first.pk}, camt053_v2.xml).")
    assert StatementImport.objects.count() == 1
    assert StatementEntry.objects.count() == 5
    assert wallet_balance(carl, "EUR") == D("250.00")


def test_the_same_reference_in_a_second_file_confirms_the_deposit_once(fiona):
    carl = client()
    deposit = wire_deposit(carl, "250.00")
    first = import_fixture("camt053_v2.xml", "camt053", actor=fiona)

    second = import_fixture("camt053_journey.xml", "camt053", actor=fiona)

    assert statuses(second)[0] == (
        Status.EXCEPTION,
        f"Deposit {REF_A} was already completed by statement #{first.pk} line 1: this is a second payment.",
    )
    assert second.entries.get(line_no=1).deposit == deposit
    assert wallet_balance(carl, "EUR") == D("250.00")


def test_the_same_reference_twice_in_one_file_confirms_once(fiona):
    carl = client()
    wire_deposit(carl, "500.00")
    twice = fixture("camt053_journey.xml").replace(b"top up my account please", REF_A.encode())

    statement = import_fixture("camt053_journey.xml", "camt053", actor=fiona, data=twice)

    assert statuses(statement) == [
        (Status.AUTO_CONFIRMED, ""),
        (Status.EXCEPTION, f"Deposit {REF_A} was already completed by line 1 of this file: this is a second payment."),
    ]
    assert wallet_balance(carl, "EUR") == D("500.00")


def test_a_different_amount_waits_for_staff_with_both_amounts(fiona):
    carl = client()
    deposit = wire_deposit(carl, "300.00")

    statement = import_fixture("camt053_v2.xml", "camt053", actor=fiona)

    entry = statement.entries.get(line_no=1)
    assert (entry.status, entry.reason) == (Status.EXCEPTION, "Received 250.00 EUR, expected 300.00 EUR.")
    assert entry.deposit == deposit
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.PENDING
    assert wallet_balance(carl, "EUR") == D("0")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"currency": "USD"}, f"Deposit {REF_A} is in USD; the wire came in EUR."),
        (
            {"status": Deposit.Status.EXPIRED},
            f"Deposit {REF_A} is expired: confirm it from the queue if the money is the client's.",
        ),
        ({"status": Deposit.Status.COMPLETED}, f"Deposit {REF_A} was already completed: this is a second payment."),
    ],
)
def test_a_credit_for_a_deposit_that_cannot_take_it_waits_with_the_reason(fiona, fields, reason):
    carl = client()
    wire_deposit(carl, "250.00", **fields)

    statement = import_fixture("camt053_v2.xml", "camt053", actor=fiona)

    assert statuses(statement)[0] == (Status.EXCEPTION, reason)
    assert wallet_balance(carl, "EUR") == D("0")


def test_a_valid_reference_that_is_no_deposit_of_ours_is_named(fiona):
    statement = import_fixture("camt053_v2.xml", "camt053", actor=fiona)
    assert statuses(statement)[0] == (Status.EXCEPTION, f"Reference {REF_A} belongs to no deposit of ours.")


@pytest.mark.parametrize(
    ("status", "amount", "reason"),
    [
        (Withdrawal.Status.APPROVED, "481.50", f"Payout {PAYOUT_REF} is approved, not sent for payment."),
        (Withdrawal.Status.PROCESSING, "491.50", "Paid 480.00 EUR, expected 490.00 EUR."),
    ],
)
def test_a_payout_debit_settles_only_a_payout_sent_for_that_amount(fiona, status, amount, reason):
    dana = client("Dana")
    withdrawal = payout(dana, amount, "1.50", status=status)

    statement = import_fixture("camt053_v2.xml", "camt053", actor=fiona)

    assert statuses(statement)[4] == (Status.EXCEPTION, reason)
    withdrawal.refresh_from_db()
    assert withdrawal.status == status
    assert wallet_balance(dana, "EUR") == D(amount)


def test_a_debit_for_a_payout_paid_already_is_flagged(fiona):
    dana = client("Dana")
    payout(dana, "481.50", "1.50")
    first = import_fixture("camt053_v2.xml", "camt053", actor=fiona)

    again = fixture("camt053_v2.xml").replace(b"RECON-TEST-V2-0001", b"RECON-TEST-V2-0002")
    second = import_fixture("camt053_v2.xml", "camt053", actor=fiona, data=again)

    assert statuses(second)[4] == (
        Status.EXCEPTION,
        f"Payout {PAYOUT_REF} was already paid by statement #{first.pk} line 5: the bank paid it again?",
    )


def test_mt940_in_latin1_confirms_the_credit_and_settles_the_debit(fiona):
    carl, dana = client("Carl"), client("Dana")
    deposit = wire_deposit(carl, "150.00", reference=REF_C)
    withdrawal = payout(dana, "480.00", "0.00")

    statement = import_fixture("mt940_latin1.sta", "mt940", actor=fiona)

    assert (statement.format, statement.balances_agree) == ("mt940", True)
    assert statuses(statement) == [(Status.AUTO_CONFIRMED, ""), (Status.MATCHED, "")]
    assert statement.entries.get(line_no=1).remittance == "Überweisung Müller RF11 T3RB 6YJA"
    deposit.refresh_from_db()
    withdrawal.refresh_from_db()
    assert (deposit.status, withdrawal.status) == (Deposit.Status.COMPLETED, Withdrawal.Status.PAID)
    assert wallet_balance(carl, "EUR") == D("150.00")


def test_camt054_notification_confirms_by_structured_reference(fiona):
    hugo = client("Hugo")
    wire_deposit(hugo, "1200.00", currency="USD", reference=REF_D)

    statement = import_fixture("camt054_v4.xml", "camt054", actor=fiona)

    assert (statement.format, statement.balances_agree) == ("camt054", None)
    assert statuses(statement) == [(Status.AUTO_CONFIRMED, "")]
    assert wallet_balance(hugo, "USD") == D("1200.00")


def test_camt053_v8_keeps_balances_that_differ_and_ignores_pending_entries(fiona):
    gina = client("Gina")
    wire_deposit(gina, "300.00", currency="GBP", reference=REF_D)

    statement = import_fixture("camt053_v8.xml", "camt053", actor=fiona)

    assert statement.balances_agree is False
    assert statement.balance_detail == "Opening 5000.00 + entries 300.00 = 5300.00; closing 5310.00: differ by 10.00."
    assert statuses(statement) == [
        (Status.AUTO_CONFIRMED, ""),
        (Status.IGNORED, "Not booked by the bank (pending or for information)."),
    ]
    assert wallet_balance(gina, "GBP") == D("300.00")


def test_a_file_that_does_not_parse_writes_nothing(fiona):
    carl = client()
    wire_deposit(carl, "250.00")
    broken = fixture("camt053_v2.xml").replace(b'<Amt Ccy="EUR">480.00</Amt>', b'<Amt Ccy="EUR">4,80.0.0</Amt>')

    with pytest.raises(StatementError, match=r"entry 4: '4.80.0.0' is not an amount"):
        import_fixture("camt053_v2.xml", "camt053", actor=fiona, data=broken)

    assert not StatementImport.objects.exists()
    assert wallet_balance(carl, "EUR") == D("0")


def test_a_failure_while_matching_rolls_back_the_whole_import(fiona):
    carl, dana = client("Carl"), client("Dana")
    deposit = wire_deposit(carl, "250.00")
    payout(dana, "481.50", "1.50")

    with (
        mock.patch.object(BankMatcher, "_debit", side_effect=RuntimeError("database went away")),
        pytest.raises(RuntimeError),
    ):
        import_fixture("camt053_v2.xml", "camt053", actor=fiona)

    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.PENDING
    assert not StatementImport.objects.exists()
    assert not StatementEntry.objects.exists()
    assert wallet_balance(carl, "EUR") == D("0")
    assert not AuditRecord.objects.filter(action="payments.statement.imported").exists()


# PSP settlement files -----------------------------------------------------------------------------


@pytest.fixture
def card_day(fiona):
    """What happened at the card PSP on 2 March: three deposits completed and one payout paid."""
    carl, dana = client("Carl"), client("Dana")
    with at(MARCH_2):
        first = card_deposit(carl, "100.00", "cs_test_0001")
        second = card_deposit(carl, "200.00", "cs_test_0002")
        third = card_deposit(dana, "75.00", "cs_test_0003")
        paid = card_payout_paid(dana, "50.00", "1.50", "po_test_0001")
    return {"first": first, "second": second, "third": third, "payout": paid}


def test_a_psp_settlement_is_matched_row_by_row_and_both_sides_gaps_are_listed(fiona, card_day):
    statement = import_fixture("psp_settlement.csv", "psp_csv", actor=fiona)

    assert statement.method == method("card")  # the only card method: taken when none is chosen
    assert statuses(statement) == [
        (Status.MATCHED, ""),
        (Status.EXCEPTION, "Settled 250.00 USD, expected 200.00 USD."),
        (Status.EXCEPTION, "No Card deposit with PSP reference cs_test_0009 on our side."),
        (Status.MATCHED, ""),
        (Status.EXCEPTION, "A charge of the PSP's own (10.00 USD): nothing of ours matches it."),
        (Status.EXCEPTION, "Our deposit completed on 2026-03-02 is missing from the PSP's settlement."),
    ]
    entries = list(statement.entries.order_by("line_no"))
    assert entries[0].deposit == card_day["first"]
    assert entries[0].transaction == card_day["first"].transaction
    assert entries[3].withdrawal == card_day["payout"]
    missing = entries[5]
    assert (missing.missing_in_file, missing.deposit, missing.amount) == (True, card_day["third"], D("75.00"))
    assert (missing.reference, missing.entry_type) == ("cs_test_0003", "payment")


def test_a_psp_row_dated_another_day_than_ours_is_an_exception(fiona):
    with at(MARCH_3):
        card_deposit(client(), "100.00", "cs_test_0001")
    data = b"settlement_date,type,psp_reference,currency,gross,fee,net\n2026-03-02,payment,cs_test_0001,USD,100.00,1.60,98.40\n"

    statement = import_fixture("late.csv", "psp_csv", actor=fiona, data=data)

    assert statuses(statement) == [
        (Status.EXCEPTION, "We completed it on 2026-03-03; the PSP settled it on 2026-03-02.")
    ]


def test_a_psp_row_for_a_deposit_still_pending_on_our_side_is_an_exception(fiona):
    Deposit.objects.create(
        client=client(), method=method("card"), currency="USD", amount=D("100.00"), psp_reference="cs_test_0001"
    )
    data = b"settlement_date,type,psp_reference,currency,gross,fee,net\n2026-03-02,payment,cs_test_0001,USD,100.00,1.60,98.40\n"

    statement = import_fixture("webhook-lost.csv", "psp_csv", actor=fiona, data=data)

    assert statuses(statement) == [(Status.EXCEPTION, "The PSP settled this payment, but our deposit is created.")]


def test_a_second_settlement_file_for_the_same_day_does_not_settle_twice(fiona, card_day):
    first = import_fixture("psp_settlement.csv", "psp_csv", actor=fiona)
    data = b"settlement_date,type,psp_reference,currency,gross,fee,net\n2026-03-02,payment,cs_test_0001,USD,100.00,1.60,98.40\n"

    second = import_fixture("again.csv", "psp_csv", actor=fiona, data=data)

    assert statuses(second)[0] == (Status.EXCEPTION, f"Already settled by statement #{first.pk} line 1.")
    # What the first file listed, or already flagged as missing, is not flagged again.
    assert [(e.reference, e.missing_in_file) for e in second.entries.order_by("line_no")] == [("cs_test_0001", False)]


def test_a_psp_file_needs_its_method_when_there_is_no_single_card_method(fiona):
    card = method("card")
    card.pk = None
    card.code, card.name = "card-eu", "Card (EU)"
    card.save()
    with pytest.raises(ApplicationError) as error:
        import_fixture("psp_settlement.csv", "psp_csv", actor=fiona)
    assert error.value.fields == {"method": ["Required for a PSP settlement file."]}
    assert not StatementImport.objects.exists()


# Resolving exceptions -----------------------------------------------------------------------------


def exception_entry(fiona, line_no: int = 2) -> StatementEntry:
    statement = import_fixture("camt053_v2.xml", "camt053", actor=fiona)
    return statement.entries.get(line_no=line_no)


def test_linking_an_unknown_credit_confirms_the_deposit_with_what_was_received(fiona):
    dana = client("Dana")
    deposit = wire_deposit(dana, "100.00", reference=REF_C)
    entry = exception_entry(fiona)  # 99.50 EUR "Invoice 4711"

    entry = services.entry_link_deposit(entry=entry, deposit=deposit, note="Dana forgot the reference", actor=fiona)

    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.COMPLETED
    assert deposit.amount == D("99.50")
    assert wallet_balance(dana, "EUR") == D("99.50")
    assert (entry.status, entry.deposit, entry.transaction) == (Status.RESOLVED, deposit, deposit.transaction)
    assert (entry.resolved_by, entry.resolution_note) == (fiona, "Dana forgot the reference")
    assert entry.resolved_at is not None
    record = AuditRecord.objects.get(action="payments.statement_entry.linked")
    assert record.actor_email == "fiona@alpha.test"
    assert record.before["status"] == "exception"
    assert record.after["status"] == "resolved"
    assert record.after["deposit"] == deposit.pk
    assert ledger_problems() == []


def test_linking_after_an_amount_mismatch_then_a_corrected_file_never_confirms_twice(fiona):
    carl = client()
    deposit = wire_deposit(carl, "300.00")
    first = import_fixture("camt053_v2.xml", "camt053", actor=fiona)
    entry = first.entries.get(line_no=1)
    services.entry_link_deposit(entry=entry, deposit=deposit, actor=fiona)
    assert entry.__class__.objects.get(pk=entry.pk).resolution_note == f"Confirmed deposit {REF_A} with 250.00 EUR."

    corrected = fixture("camt053_v2.xml").replace(b"RECON-TEST-V2-0001", b"RECON-TEST-V2-0001-CORRECTED")
    second = import_fixture("camt053_v2.xml", "camt053", actor=fiona, data=corrected)

    assert statuses(second)[0] == (
        Status.EXCEPTION,
        f"Deposit {REF_A} was already completed by statement #{first.pk} line 1: this is a second payment.",
    )
    assert wallet_balance(carl, "EUR") == D("250.00")


@pytest.mark.parametrize("ignore", [False, True])
def test_resolving_or_ignoring_needs_a_note_and_is_audited(fiona, ignore):
    entry = exception_entry(fiona)
    with pytest.raises(ApplicationError) as error:
        services.entry_resolve(entry=entry, ignore=ignore, note="  ", actor=fiona)
    assert error.value.fields == {"note": ["Required."]}

    entry = services.entry_resolve(entry=entry, ignore=ignore, note="Refunded to the sender", actor=fiona)

    assert entry.status == (Status.IGNORED if ignore else Status.RESOLVED)
    assert (entry.resolved_by, entry.resolution_note) == (fiona, "Refunded to the sender")
    action = "payments.statement_entry." + ("ignored" if ignore else "resolved")
    record = AuditRecord.objects.get(action=action)
    assert (record.object_id, record.after["resolution_note"]) == (str(entry.pk), "Refunded to the sender")


def test_an_entry_is_resolved_once(fiona):
    entry = exception_entry(fiona)
    services.entry_resolve(entry=entry, note="Returned", actor=fiona)
    with pytest.raises(ApplicationError, match="This entry is resolved by staff already"):
        services.entry_resolve(entry=entry, note="Again", actor=fiona)
    assert AuditRecord.objects.filter(action="payments.statement_entry.resolved").count() == 1


def test_a_link_that_would_credit_twice_or_mismatch_is_refused_and_changes_nothing(fiona):
    carl, dana = client("Carl"), client("Dana")
    completed = wire_deposit(carl, "50.00", reference=REF_C, status=Deposit.Status.COMPLETED)
    dollars = wire_deposit(dana, "99.50", currency="USD", reference=REF_D)
    entry = exception_entry(fiona)

    with pytest.raises(ApplicationError, match="completed already: confirming it again would credit the client twice"):
        services.entry_link_deposit(entry=entry, deposit=completed, actor=fiona)
    with pytest.raises(ApplicationError, match="The deposit is in USD; the money came in EUR."):
        services.entry_link_deposit(entry=entry, deposit=dollars, actor=fiona)
    debit = exception_entry_debit(fiona)
    with pytest.raises(ApplicationError, match="Only money received"):
        services.entry_link_deposit(entry=debit, deposit=dollars, actor=fiona)

    entry.refresh_from_db()
    assert entry.status == Status.EXCEPTION
    assert wallet_balance(dana, "USD") == D("0")
    assert not AuditRecord.objects.filter(action="payments.statement_entry.linked").exists()


def exception_entry_debit(fiona) -> StatementEntry:
    """The payout debit of the v2 file, with no payout of ours behind it."""
    statement = StatementImport.objects.get()
    entry = statement.entries.get(line_no=5)
    assert (entry.status, entry.reason) == (Status.EXCEPTION, "No payout reference found in the remittance text.")
    return entry
