"""The daily reconciliation report: expected vs settled vs differences, and the commands around it."""

from datetime import date
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from payments.defaults import payment_defaults_ensure
from payments.models import StatementImport
from payments.reconciliation.parsers import statement_parse
from payments.reconciliation.report import daily_report, report_csv
from payments.reconciliation.sandbox import sandbox_settlement_csv
from tests import factories
from tests.payments.reconciliation_support import (
    FIXTURES,
    MARCH_2,
    REF_A,
    at,
    card_deposit,
    card_payout_paid,
    client,
    import_fixture,
    method,
    payout,
    wallet_balance,
    wire_deposit,
)

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 2)


@pytest.fixture
def fiona(in_alpha):
    payment_defaults_ensure()
    return factories.staff_user("fiona@alpha.test", roles=["finance"])


@pytest.fixture
def card_day(fiona):
    carl, dana = client("Carl"), client("Dana")
    with at(MARCH_2):
        card_deposit(carl, "100.00", "cs_test_0001")
        card_deposit(carl, "200.00", "cs_test_0002")
        card_deposit(dana, "75.00", "cs_test_0003")
        card_payout_paid(dana, "50.00", "1.50", "po_test_0001")


def test_the_daily_report_sets_expected_against_settled_per_currency(fiona, card_day):
    import_fixture("psp_settlement.csv", "psp_csv", actor=fiona)

    (report,) = daily_report(DAY)

    assert report.method == method("card")
    (usd,) = report.totals
    assert usd.currency == "USD"
    assert usd.ledger == D("326.50")  # clearing: -100 -200 -75 for the deposits, +48.50 for the payout
    assert usd.ours == D("326.50")  # deposits 375.00 less the 48.50 the client received
    assert usd.settled == D("341.50")  # 100 + 250 + 40 - 48.50 (+ the 0.00 fee row)
    assert usd.psp_fees == D("16.06")
    assert usd.difference == D("-15.00")
    assert [(i.kind, i.reference, i.amount) for i in report.unmatched_ours] == [
        ("deposit", "cs_test_0002", D("200.00")),
        ("deposit", "cs_test_0003", D("75.00")),
    ]
    assert [(e.line_no, e.reference) for e in report.unmatched_theirs] == [
        (2, "cs_test_0002"),
        (3, "cs_test_0009"),
        (5, ""),
    ]
    assert report.is_clean is False


def test_a_day_whose_settlement_agrees_is_clean(fiona):
    with at(MARCH_2):
        card_deposit(client(), "100.00", "cs_clean_1")
        card_payout_paid(client("Dana"), "20.00", "0.00", "po_clean_1")
    rows = sandbox_settlement_csv(method=method("card"), day=DAY)
    import_fixture("sandbox.csv", "psp_csv", actor=fiona, data=rows.encode())

    (report,) = daily_report(DAY)

    (usd,) = report.totals
    assert (usd.ledger, usd.ours, usd.settled, usd.difference) == (D("80.00"), D("80.00"), D("80.00"), D("0.00"))
    assert usd.psp_fees == D("1.60")
    assert report.unmatched_ours == [] and report.unmatched_theirs == []
    assert report.is_clean is True


def test_a_method_with_no_movement_is_left_out_unless_asked_for(fiona):
    assert daily_report(DAY) == []
    (report,) = daily_report(DAY, method=method("bank-wire"))
    assert report.totals == [] and report.is_clean is True


def test_the_report_as_csv(fiona, card_day):
    import_fixture("psp_settlement.csv", "psp_csv", actor=fiona)
    lines = report_csv(daily_report(DAY)).splitlines()
    assert lines[:6] == [
        "date,method,currency,line,reference,amount,detail",
        "2026-03-02,card,USD,expected (ledger),,326.50,",
        "2026-03-02,card,USD,expected (our items),,326.50,",
        "2026-03-02,card,USD,settled,,341.50,",
        "2026-03-02,card,USD,psp fees,,16.06,",
        "2026-03-02,card,USD,difference,,-15.00,",
    ]
    assert lines[6].startswith("2026-03-02,card,USD,unmatched deposit (ours),cs_test_0002,200.00,")
    assert lines[8] == (
        f"2026-03-02,card,USD,unmatched entry (theirs),cs_test_0002,250.00,"
        f'"statement #{StatementImport.objects.get().pk} line 2: Settled 250.00 USD, expected 200.00 USD."'
    )


def test_the_sandbox_settlement_lists_the_days_card_payments_and_payouts(fiona, card_day):
    content = sandbox_settlement_csv(method=method("card"), day=DAY)
    assert content.splitlines() == [
        "settlement_date,type,psp_reference,currency,gross,fee,net",
        "2026-03-02,payment,cs_test_0001,USD,100.00,1.60,98.40",
        "2026-03-02,payment,cs_test_0002,USD,200.00,3.00,197.00",
        "2026-03-02,payment,cs_test_0003,USD,75.00,1.25,73.75",
        "2026-03-02,payout,po_test_0001,USD,-48.50,0.00,-48.50",
    ]
    # It is a valid settlement file of our own format.
    assert len(statement_parse(content.encode(), "psp_csv").entries) == 4
    assert sandbox_settlement_csv(method=method("card"), day=date(2026, 3, 3)).splitlines() == [
        "settlement_date,type,psp_reference,currency,gross,fee,net"
    ]


def test_only_the_sandbox_psp_has_a_sandbox_settlement(fiona):
    from brokerage.errors import ApplicationError

    with pytest.raises(ApplicationError, match="is not the sandbox card PSP"):
        sandbox_settlement_csv(method=method("bank-wire"), day=DAY)


def test_reconciliation_report_command_prints_the_report(fiona, card_day):
    import_fixture("psp_settlement.csv", "psp_csv", actor=fiona)
    out = StringIO()

    call_command("reconciliation_report", "--date", "2026-03-02", "--tenant", "alpha", stdout=out)

    text = out.getvalue()
    assert text.startswith("== alpha ==\nReconciliation 2026-03-02 · Card (card): DIFFERENCES\n")
    assert "  USD              326.50         326.50         341.50        16.06         -15.00\n" in text
    assert "  not settled (ours): deposit cs_test_0003 75.00 USD" in text
    assert "needs attention (theirs): statement #" in text and "cs_test_0009 40.00 USD" in text


def test_reconciliation_report_command_refuses_bad_arguments(fiona):
    with pytest.raises(CommandError, match="--date '2026-02-30' is not a date"):
        call_command("reconciliation_report", "--date", "2026-02-30")
    with pytest.raises(CommandError, match="No tenant with slug 'nobody'"):
        call_command("reconciliation_report", "--date", "2026-03-02", "--tenant", "nobody")


def test_import_statement_command_imports_and_matches(fiona):
    carl = client()
    wire_deposit(carl, "250.00", reference=REF_A)
    out = StringIO()

    call_command(
        "import_statement", str(FIXTURES / "camt053_v2.xml"), "--tenant", "alpha", "--format", "camt053", stdout=out
    )

    statement = StatementImport.objects.get()
    assert statement.imported_by is None
    assert out.getvalue().splitlines()[-1] == "Imported 5 entries: 1 deposit confirmed, 0 matched, 4 need attention."
    assert wallet_balance(carl, "EUR") == D("250.00")
    with pytest.raises(CommandError, match="This file was already imported"):
        call_command("import_statement", str(FIXTURES / "camt053_v2.xml"), "--tenant", "alpha", "--format", "camt053")
    with pytest.raises(CommandError, match="The file is XML, not MT940 text"):
        call_command("import_statement", str(FIXTURES / "camt053_v8.xml"), "--tenant", "alpha", "--format", "mt940")


def test_a_wire_confirmed_today_from_an_older_statement_belongs_to_the_statements_day(fiona):
    carl, dana = client("Carl"), client("Dana")
    wire_deposit(carl, "250.00", reference=REF_A)
    wire_deposit(dana, "500.00", reference="RF85HW4PZ8NC")
    payout(dana, "481.50", "1.50")
    import_fixture("camt053_v2.xml", "camt053", actor=fiona)  # booked 2 March, confirmed now

    (report,) = daily_report(DAY)

    assert report.method == method("bank-wire")
    (eur,) = report.totals
    assert (eur.ours, eur.ledger) == (D("270.00"), D("270.00"))  # 250 + 500 in, 480 out
    assert eur.settled == D("569.50")  # also the unknown 99.50 and the mistyped 200.00
    assert eur.difference == D("-299.50")
    assert report.unmatched_ours == []
    assert [e.line_no for e in report.unmatched_theirs] == [2, 4]
    assert daily_report(timezone.localdate()) == []  # nothing of it belongs to today
