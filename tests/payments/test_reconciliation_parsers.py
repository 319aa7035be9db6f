"""Statement parsers: every format read field by field into one shape, and bad files refused by name.

No database: parsers only read bytes.
"""

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from payments.reconciliation.parsers import MAX_BYTES, StatementError, content_kind, statement_parse

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def refused(data: bytes, fmt: str) -> str:
    with pytest.raises(StatementError) as error:
        statement_parse(data, fmt)
    assert error.value.fields == {"file": [error.value.message]}
    return error.value.message


# camt.053 -----------------------------------------------------------------------------------------


def test_camt053_v2_reads_header_balances_and_every_entry():
    statement = statement_parse(fixture("camt053_v2.xml"), "camt053")

    assert statement.format == "camt053"
    assert statement.account == "GB33BUKB20201555555555"
    assert statement.currency == "EUR"
    assert statement.statement_date == date(2026, 3, 2)
    assert statement.opening_balance == D("10000.00")
    assert statement.closing_balance == D("10569.50")
    assert statement.balances_agree is True
    assert statement.balance_detail == "Opening 10000.00 + entries 569.50 = 10569.50; closing 10569.50: agree."
    assert [e.amount for e in statement.entries] == [D("250.00"), D("99.50"), D("500.00"), D("200.00"), D("-480.00")]

    wire = statement.entries[0]
    assert wire.currency == "EUR"
    assert wire.booking_date == date(2026, 3, 2)
    assert wire.value_date == date(2026, 3, 2)
    assert wire.reference == "BANKREF-0001"
    assert wire.remittance == "deposit rf85 k7qm 9xt2 thank you"
    assert wire.counterparty == "Carl Client"
    assert wire.counterparty_account == "DE89370400440532013000"
    assert wire.entry_type == "PMNT/RCDT/ESCT"
    assert wire.is_booked is True

    payout = statement.entries[4]
    assert payout.reference == "BANKREF-0004"
    assert payout.remittance == "Payout wd-5f0c9a4e2b7d4c1e8a3f6b2d9e0c1a7b"
    assert (payout.counterparty, payout.counterparty_account) == ("Frank Payee", "DE89370400440532013000")


def test_a_batch_entry_becomes_one_entry_per_transaction_with_its_own_reference_and_payer():
    statement = statement_parse(fixture("camt053_v2.xml"), "camt053")
    first, second = statement.entries[2], statement.entries[3]

    assert (first.amount, first.reference, first.remittance) == (D("500.00"), "BANKREF-0003-A", "RF85HW4PZ8NC")
    assert (first.counterparty, first.counterparty_account) == ("Dana Whitfield", "FR1420041010050500013M02606")
    assert (second.amount, second.reference, second.remittance) == (
        D("200.00"),
        "BANKREF-0003-B",
        "Wire RF85 K7QM 9XT3",
    )
    # The parts keep the entry's dates.
    assert first.value_date == second.value_date == date(2026, 3, 3)


def test_a_batch_whose_parts_have_no_amounts_stays_one_entry():
    data = fixture("camt053_v2.xml").replace(b'<AmtDtls><TxAmt><Amt Ccy="EUR">500.00</Amt></TxAmt></AmtDtls>', b"")
    statement = statement_parse(data, "camt053")
    assert [e.amount for e in statement.entries] == [D("250.00"), D("99.50"), D("700.00"), D("-480.00")]
    assert statement.entries[2].remittance == "RF85HW4PZ8NC Wire RF85 K7QM 9XT3"
    assert statement.entries[2].reference == "BANKREF-0003"


def test_camt053_v8_reads_the_newer_spellings_and_reports_balances_that_differ():
    statement = statement_parse(fixture("camt053_v8.xml"), "camt053")

    assert (statement.format, statement.account, statement.currency) == ("camt053", "55555555", "GBP")
    assert statement.opening_balance == D("5000.00")  # PRCD: the previous day's closing
    assert statement.closing_balance == D("5310.00")
    assert statement.statement_date == date(2026, 3, 3)
    # The pending entry does not count towards the booked balance.
    assert statement.balances_agree is False
    assert statement.balance_detail == "Opening 5000.00 + entries 300.00 = 5300.00; closing 5310.00: differ by 10.00."

    booked, pending = statement.entries
    assert booked.amount == D("300.00")
    assert booked.booking_date == date(2026, 3, 3)  # from <DtTm>
    assert booked.reference == "V8-0001"
    assert booked.counterparty == "Gina Sender"  # Dbtr/Pty/Nm
    assert booked.counterparty_account == "GB29NWBK60161331926819"
    assert booked.remittance == "RF69M9DX2QEV"
    assert booked.is_booked is True
    assert (pending.amount, pending.is_booked, pending.remittance) == (D("75.00"), False, "Not booked yet")


def test_camt054_notification_has_entries_and_no_balances_to_check():
    statement = statement_parse(fixture("camt054_v4.xml"), "camt054")

    assert (statement.format, statement.account, statement.currency) == ("camt054", "GB33BUKB20201555555555", "USD")
    assert statement.statement_date == date(2026, 3, 4)
    assert statement.opening_balance is None and statement.closing_balance is None
    assert statement.balances_agree is None
    (entry,) = statement.entries
    assert entry.amount == D("1200.00")
    assert entry.reference == "NTF-SVCR-0001"
    assert entry.remittance == "RF69M9DX2QEV"  # structured creditor reference
    assert entry.counterparty == "Hugo Investor"


def test_camt052_intraday_report_is_tolerated():
    data = (
        fixture("camt053_v8.xml")
        .replace(b"BkToCstmrStmt", b"BkToCstmrAcctRpt")
        .replace(b"<Stmt>", b"<Rpt>")
        .replace(b"</Stmt>", b"</Rpt>")
        .replace(b"camt.053.001.08", b"camt.052.001.08")
    )
    statement = statement_parse(data, "camt053")
    assert statement.format == "camt052"
    assert [e.amount for e in statement.entries] == [D("300.00"), D("75.00")]


def test_a_debit_balance_is_negative():
    data = fixture("camt053_v2.xml").replace(
        b'<Amt Ccy="EUR">10000.00</Amt>\n        <CdtDbtInd>CRDT</CdtDbtInd>',
        b'<Amt Ccy="EUR">10000.00</Amt>\n        <CdtDbtInd>DBIT</CdtDbtInd>',
    )
    statement = statement_parse(data, "camt053")
    assert statement.opening_balance == D("-10000.00")
    assert statement.balances_agree is False


# MT940 --------------------------------------------------------------------------------------------


def test_mt940_in_latin1_reads_balances_entries_and_details():
    statement = statement_parse(fixture("mt940_latin1.sta"), "mt940")

    assert (statement.format, statement.account, statement.currency) == ("mt940", "GB33BUKB20201555555555", "EUR")
    assert statement.statement_date == date(2026, 3, 2)
    assert (statement.opening_balance, statement.closing_balance) == (D("1000.00"), D("670.00"))
    assert statement.balances_agree is True
    credit, debit = statement.entries
    assert credit.amount == D("150.00")
    assert credit.booking_date == credit.value_date == date(2026, 3, 2)
    assert credit.reference == "BK-7781"  # NONREF: the bank's reference instead
    assert credit.remittance == "Überweisung Müller RF11 T3RB 6YJA"
    assert credit.entry_type == "NTRF"
    assert debit.amount == D("-480.00")
    assert debit.remittance == "Payout wd-5f0c9a4e2b7d4c1e8a3f6b2d9e0c1a7b"


def test_mt940_with_two_statements_checks_each_and_keeps_the_outer_balances():
    first = fixture("mt940_latin1.sta")
    second = (
        first.replace(b":20:STMT20260302", b":20:STMT20260303")
        .replace(b":60F:C260301EUR1000,00", b":60F:C260302EUR670,00")
        .replace(b":62F:C260302EUR670,00", b":62F:C260303EUR999,00")
    )
    statement = statement_parse(first + second, "mt940")
    assert (statement.opening_balance, statement.closing_balance) == (D("1000.00"), D("999.00"))
    assert len(statement.entries) == 4
    assert statement.balances_agree is False
    assert statement.balance_detail.startswith(
        "Statement 1: Opening 1000.00 + entries -330.00 = 670.00; closing 670.00: agree."
    )
    assert (
        "Statement 2: Opening 670.00 + entries -330.00 = 340.00; closing 999.00: differ by 659.00."
        in statement.balance_detail
    )


# PSP settlement CSV -------------------------------------------------------------------------------


def test_psp_csv_rows_keep_gross_fee_type_and_reference():
    statement = statement_parse(fixture("psp_settlement.csv"), "psp_csv")

    assert (statement.format, statement.currency, statement.statement_date) == ("psp_csv", "USD", date(2026, 3, 2))
    assert statement.balances_agree is None
    rows = [(e.entry_type, e.reference, e.amount, e.fee) for e in statement.entries]
    assert rows == [
        ("payment", "cs_test_0001", D("100.00"), D("1.60")),
        ("payment", "cs_test_0002", D("250.00"), D("3.70")),
        ("payment", "cs_test_0009", D("40.00"), D("0.76")),
        ("payout", "po_test_0001", D("-48.50"), D("0.00")),
        ("fee", "", D("0.00"), D("10.00")),
    ]
    assert all(e.booking_date == date(2026, 3, 2) for e in statement.entries)


def test_psp_csv_accepts_a_byte_order_mark_and_columns_in_any_order():
    data = b"\xef\xbb\xbfnet,fee,gross,currency,psp_reference,type,settlement_date,extra\n98.40,1.60,100.00,USD,cs_1,payment,2026-03-02,x\n"
    (entry,) = statement_parse(data, "psp_csv").entries
    assert (entry.amount, entry.fee, entry.reference) == (D("100.00"), D("1.60"), "cs_1")


HEADER = b"settlement_date,type,psp_reference,currency,gross,fee,net\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (b"2026-02-30,payment,cs_1,USD,1.00,0.00,1.00", "Line 2: settlement_date '2026-02-30' is not a date"),
        (b"2026-03-02,gift,cs_1,USD,1.00,0.00,1.00", "Line 2: type 'gift' is not one of payment, refund"),
        (b"2026-03-02,payment,cs_1,XXX,1.00,0.00,1.00", "Line 2 is in XXX, a currency this system does not know."),
        (b"2026-03-02,payment,cs_1,USD,,0.00,1.00", "Line 2, gross has no amount."),
        (b"2026-03-02,payment,cs_1,USD,abc,0.00,1.00", "Line 2, gross: 'abc' is not an amount."),
        (b"2026-03-02,payment,cs_1,USD,1.001,0.00,1.001", "Line 2, gross: 1.001 has more decimals than USD allows."),
        (b"2026-03-02,payment,cs_1,USD,-1.00,0.00,-1.00", "Line 2: the gross of a payment row is positive, not -1.00."),
        (b"2026-03-02,payout,po_1,USD,1.00,0.00,1.00", "Line 2: the gross of a payout row is negative, not 1.00."),
        (b"2026-03-02,payment,cs_1,USD,1.00,0.10,1.00", "Line 2: net 1.00 is not gross 1.00 minus fee 0.10."),
        (b"2026-03-02,payment,,USD,1.00,0.00,1.00", "Line 2: a payment row needs its psp_reference."),
        (b"2026-03-02,payment,cs_1,USD,1.00,0.00,1.00,surplus", "Line 2 has more values than the header has columns."),
    ],
)
def test_a_bad_psp_row_is_refused_naming_the_line_and_the_problem(row, message):
    assert refused(HEADER + row + b"\n", "psp_csv").startswith(message)


def test_a_csv_without_our_columns_is_not_a_settlement_file():
    message = refused(b"date,amount\n2026-03-02,10.00\n", "psp_csv")
    assert message.startswith("This is not a PSP settlement CSV: the header lacks settlement_date, type, psp_reference")


# Bad files ----------------------------------------------------------------------------------------


def test_an_xml_bomb_is_refused_without_expanding_it():
    assert refused(fixture("xml_bomb.xml"), "camt053").startswith("The XML was refused as unsafe (DTDForbidden)")


def test_a_truncated_camt_file_is_refused_as_not_well_formed():
    data = fixture("camt053_v2.xml")
    assert refused(data[: len(data) // 2], "camt053").startswith("The file is not well-formed XML")


def test_xml_that_is_no_bank_message_is_refused():
    assert refused(b"<Document><Invoice/></Document>", "camt053") == (
        "This XML is not a camt.052, camt.053 or camt.054 bank message (its root holds <Invoice>)."
    )
    assert (
        refused(b"<html><body>hi</body></html>", "camt053")
        == "This XML is not an ISO 20022 document (its root is <html>)."
    )


def test_an_unknown_currency_is_named():
    data = fixture("camt053_v2.xml").replace(b'<Amt Ccy="EUR">99.50</Amt>', b'<Amt Ccy="DEM">99.50</Amt>')
    assert refused(data, "camt053") == "Statement 1, entry 2 is in DEM, a currency this system does not know."


def test_a_missing_amount_is_named():
    data = fixture("camt053_v2.xml").replace(b'<Amt Ccy="EUR">99.50</Amt>', b'<Amt Ccy="EUR"></Amt>')
    assert refused(data, "camt053") == "Statement 1, entry 2 has no amount."


def test_a_missing_credit_debit_indicator_is_named():
    data = fixture("camt053_v2.xml").replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"")
    assert refused(data, "camt053").startswith("Statement 1, entry 4 has no credit/debit indicator")


def test_a_truncated_mt940_is_refused():
    data = fixture("mt940_latin1.sta")
    cut = data[: data.index(b":61:2603020302D") + 8]
    assert refused(cut, "mt940").startswith("Statement 1")


def test_mt940_in_an_unknown_currency_is_named():
    data = fixture("mt940_latin1.sta").replace(b"EUR", b"DEM")
    assert refused(data, "mt940") == "Statement 1 is in DEM, a currency this system does not know."


@pytest.mark.parametrize(
    ("name", "chosen", "message"),
    [
        ("camt053_v2.xml", "mt940", "The file is XML, not MT940 text as the chosen format needs."),
        ("camt053_v2.xml", "psp_csv", "The file is XML, not CSV as the chosen format needs."),
        ("mt940_latin1.sta", "camt053", "The file is MT940 text, not XML as the chosen format needs."),
        ("psp_settlement.csv", "camt054", "The file is CSV, not XML as the chosen format needs."),
        ("psp_settlement.csv", "mt940", "The file is CSV, not MT940 text as the chosen format needs."),
    ],
)
def test_content_that_disagrees_with_the_chosen_format_is_refused(name, chosen, message):
    assert refused(fixture(name), chosen) == message


def test_binary_empty_and_oversized_files_are_refused():
    assert refused(b"%PDF-1.7 binary", "camt053") == "The file is a binary file, not XML as the chosen format needs."
    assert refused(b"PK\x03\x04zipped", "psp_csv") == "The file is a binary file, not CSV as the chosen format needs."
    assert refused(b"  \n", "mt940") == "The file is empty."
    assert refused(b"<" + b" " * MAX_BYTES, "camt053") == "The file is 10.0 MB; at most 10 MB is accepted."
    assert refused(b"hello", "pdf") == "Unknown statement format 'pdf'."


def test_content_sniffing():
    assert content_kind(fixture("camt053_v2.xml")) == "xml"
    assert content_kind(b"\xef\xbb\xbf  <Document/>") == "xml"
    assert content_kind(fixture("mt940_latin1.sta")) == "mt940"
    assert content_kind(fixture("psp_settlement.csv")) == "csv"
    assert content_kind(b"just some words") == "text"
