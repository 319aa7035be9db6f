"""CSV lead import: reading any usual file, mapping, per-row problems, duplicates, chunks and resume."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from crm import lead_import as imports
from crm.models import Client, LeadImport, LeadImportRow, TimelineEvent
from tests import factories
from tests.crm.support_leads import csv_bytes, fixture_bytes, lead_people
from tests.crm.support_sales import rule_with

pytestmark = pytest.mark.django_db

HEADER = "E-mail,First Name,Last Name,Phone,Country"
MAPPING = {
    "email": "E-mail",
    "first_name": "First Name",
    "last_name": "Last Name",
    "phone": "Phone",
    "country": "Country",
}


@pytest.fixture
def people(in_alpha):
    return lead_people(mfa=False)


def upload(actor, data: bytes, filename: str = "leads.csv") -> LeadImport:
    lead_import, _summary = imports.lead_import_upload(actor=actor, filename=filename, data=data)
    return lead_import


def run(actor, lead_import: LeadImport, mapping=None, **options) -> LeadImport:
    """Map and run in the test's transaction (the Celery task is sent on commit, which never comes here)."""
    imports.lead_import_start(actor=actor, lead_import=lead_import, mapping=mapping or lead_import.mapping, **options)
    return imports.lead_import_run(lead_import.pk)


def outcomes(lead_import) -> dict[int, tuple[str, list[str]]]:
    return {row.line: (row.outcome, row.problems) for row in lead_import.rows.order_by("line")}


# Reading the file ----------------------------------------------------------------------------------


def test_utf8_with_a_byte_order_mark_and_semicolons_are_recognised_and_said(people):
    data = "\ufeff".encode() + fixture_bytes("leads_semicolon.csv")

    lead_import, summary = imports.lead_import_upload(actor=people.olga, filename="leads.csv", data=data)

    assert summary == "Read 6 rows of leads.csv: encoding UTF-8 with BOM, separated by semicolons."
    assert lead_import.encoding == "utf-8-sig"
    assert lead_import.header[0] == "E-mail"
    assert lead_import.rows.get(line=2).values[:3] == ["ana@example.test", "Ana", "López"]
    assert lead_import.mapping == {
        "first_name": "First Name",
        "last_name": "Last Name",
        "email": "E-mail",
        "phone": "Phone",
        "country": "Country",
        "language": "Language",
        "tags": "Tags",
        "source": "Source",
        "source_detail": "Campaign",
    }


def test_utf16_with_tabs_is_read(people):
    data = csv_bytes([HEADER, "lukasz@example.test,Łukasz,Żółć,,PL"], encoding="utf-16", delimiter="\t")

    lead_import, summary = imports.lead_import_upload(actor=people.olga, filename="leads.txt", data=data)

    assert summary == "Read 1 row of leads.txt: encoding UTF-16 with BOM, separated by tabs."
    assert lead_import.rows.get().values == ["lukasz@example.test", "Łukasz", "Żółć", "", "PL"]


def test_windows_1252_from_excel_keeps_the_accents(people):
    data = csv_bytes([HEADER, "cleo@example.test,Cléo,Dupont,,FR"], encoding="cp1252", delimiter=";")

    lead_import, summary = imports.lead_import_upload(actor=people.olga, filename="leads.csv", data=data)

    assert lead_import.encoding == "cp1252"
    assert "Windows-1252" in summary
    assert lead_import.rows.get().values[1] == "Cléo"


def test_bytes_that_are_not_windows_1252_fall_back_to_latin_1(people):
    data = csv_bytes([HEADER]) + b"x@example.test,A\x81b,C,,DE\r\n"

    lead_import = upload(people.olga, data)

    assert lead_import.encoding == "latin-1"
    assert lead_import.rows.get().values[1] == "A\x81b"


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 50, "leads.csv", "Excel workbook"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "leads.csv", "PNG image"),
        (bytes(range(256)) * 4, "leads.csv", "not text"),
        (b"", "leads.csv", "empty"),
        (b"Name,Email\r\n\r\n", "leads.csv", "no rows"),
        (csv_bytes([HEADER, "a@example.test,A,B,,DE"]), "leads.xlsx", ".csv or .txt"),
    ],
)
def test_a_file_that_cannot_be_read_says_why_and_stores_nothing(people, data, filename, message):
    with pytest.raises(ApplicationError) as raised:
        upload(people.olga, data, filename)

    assert message in raised.value.message + " ".join(raised.value.fields.get("file", []))
    assert not LeadImport.objects.exists()
    assert not LeadImportRow.objects.exists()


def test_a_file_over_10_mb_is_refused(people, monkeypatch):
    monkeypatch.setattr(imports, "MAX_BYTES", 100)

    with pytest.raises(ApplicationError, match="larger than"):
        upload(people.olga, csv_bytes([HEADER, *(f"p{n}@example.test,A,B,,DE" for n in range(10))]))


def test_only_crm_manage_uploads_and_starts_imports(people):
    with pytest.raises(PermissionDenied):
        upload(people.sam, csv_bytes([HEADER, "a@example.test,A,B,,DE"]))
    lead_import = upload(people.olga, csv_bytes([HEADER, "a@example.test,A,B,,DE"]))
    with pytest.raises(PermissionDenied):
        imports.lead_import_start(actor=people.cora, lead_import=lead_import, mapping=MAPPING)
    lead_import.refresh_from_db()
    assert lead_import.status == "mapping"


# Mapping -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        ({"email": "E-mail", "phone": "Phone"}, "name"),
        ({"first_name": "First Name", "country": "Country"}, "email"),
        ({"first_name": "First Name", "email": "Nope"}, "email"),
        ({"first_name": "E-mail", "email": "E-mail"}, "email"),
    ],
)
def test_a_mapping_without_a_name_or_without_email_and_phone_is_refused(people, mapping, field):
    lead_import = upload(people.olga, csv_bytes([HEADER, "a@example.test,A,B,,DE"]))

    with pytest.raises(ApplicationError) as raised:
        imports.lead_import_start(actor=people.olga, lead_import=lead_import, mapping=mapping)

    assert field in raised.value.fields
    lead_import.refresh_from_db()
    assert lead_import.status == "mapping"
    assert not Client.objects.exists()


def test_a_single_full_name_column_is_split_and_header_names_are_guessed(people):
    data = csv_bytes(["Full Name,Mobile,Land", "Ana María López,+34 612 345 678,Spain"])
    lead_import = upload(people.olga, data)
    assert lead_import.mapping == {"name": "Full Name", "phone": "Mobile", "country": "Land"}

    run(people.olga, lead_import)

    ana = Client.objects.get()
    assert (ana.first_name, ana.last_name, ana.phone, ana.country) == ("Ana María", "López", "+34612345678", "ES")


# Rows ----------------------------------------------------------------------------------------------


def test_each_row_is_imported_rejected_or_a_duplicate_with_its_reasons(people):
    lead_import = upload(people.olga, fixture_bytes("leads_semicolon.csv"), "leads_semicolon.csv")

    done = run(people.olga, lead_import, tags="fair-2024", source="campaign", source_detail="expo")

    assert (done.status, done.imported, done.duplicates, done.rejected) == ("done", 2, 1, 3)
    assert outcomes(done) == {
        2: ("imported", []),
        3: ("rejected", ["“not-an-email” is not a valid email address."]),
        4: ("imported", []),
        5: ("duplicate", ["The same email as line 2 of this file."]),
        6: ("rejected", ["An email address or a phone number is needed."]),
        7: ("rejected", ["“12”: Not a valid phone number."]),
    }
    ana = Client.objects.get(email="ana@example.test")
    assert (ana.status, ana.lead_stage, ana.phone, ana.language, ana.source, ana.source_detail, ana.tags) == (
        "lead",
        "new",
        "+34612345678",
        "es",
        "campaign",
        "spring-24",
        ["fair-2024", "vip"],
    )
    ben = Client.objects.get(email="ben@example.test")
    assert (ben.phone, ben.language, ben.source_detail) == ("+4915123456789", "de", "expo")
    assert list(TimelineEvent.objects.filter(client=ben).values_list("title", flat=True)) == [
        "Imported from leads_semicolon.csv line 4"
    ]
    assert done.rows.get(line=2).client == ana
    assert AuditRecord.objects.filter(action="crm.lead_import.finished", object_id=str(done.pk)).count() == 1


def test_rows_of_someone_already_on_file_are_duplicates_naming_the_client(people):
    ana = factories.ClientFactory(first_name="Ana", last_name="López", email="ANA@example.test")
    ben = factories.ClientFactory(first_name="Ben", last_name="Bauer", email="ben@other.test", phone="+4915123456789")
    data = csv_bytes(
        [
            HEADER,
            "ana@example.test,Ana,L,,ES",
            "new@example.test,Ben,B,0151 23456789,DE",
            "zed@example.test,Zed,Z,,Narnia",
            "fine@example.test,Fine,F,,DE",
        ]
    )

    done = run(people.olga, upload(people.olga, data))

    assert outcomes(done) == {
        2: ("duplicate", [f"The same email as client #{ana.pk} (Ana López)."]),
        3: ("duplicate", [f"The same phone as client #{ben.pk} (Ben Bauer)."]),
        4: ("rejected", ["Unknown country “Narnia”: use an ISO code such as DE."]),
        5: ("imported", []),
    }
    assert Client.objects.count() == 3


def test_imported_leads_are_assigned_by_the_rules(people):
    rule_with("Germany", [people.sam], countries=["DE"])
    data = csv_bytes([HEADER, "a@example.test,A,A,,DE", "b@example.test,B,B,,FR"])

    run(people.olga, upload(people.olga, data))

    assert Client.objects.get(email="a@example.test").sales_agent == people.sam
    assert Client.objects.get(email="b@example.test").sales_agent is None


def test_a_thousand_rows_are_imported_exactly(people):
    lines = [HEADER]
    for n in range(1, 1001):
        if n % 10 == 0:
            lines.append(f"p{n}@example.test,P{n},Test,12345,DE")  # a bad phone
        elif n % 25 == 1 and n > 1:
            lines.append(f"p{n - 1}@example.test,Again{n},Test,,DE")  # the row before's email again
        else:
            lines.append(f"p{n}@example.test,P{n},Test,,DE")
    lead_import = upload(people.olga, csv_bytes(lines))
    assert lead_import.total_rows == 1000

    done = run(people.olga, lead_import)

    # 100 bad phones; rows 26, 51, ..., 976 (39 rows) repeat their predecessor's email, which was
    # imported unless it was a bad-phone row (n - 1 a multiple of 10: 51, 101, ..., 951 -> 19 rows).
    assert (done.status, done.rejected, done.duplicates, done.imported) == ("done", 100, 20, 880)
    assert Client.objects.count() == 880
    assert TimelineEvent.objects.filter(topic="crm.lead.imported").count() == 880
    assert done.rows.filter(outcome="pending").count() == 0
    assert len(set(done.rows.exclude(client=None).values_list("client", flat=True))) == 880
    assert done.rows.get(line=27).problems == ["The same email as line 26 of this file."]


def test_running_a_finished_import_again_changes_nothing(people):
    lead_import = upload(people.olga, csv_bytes([HEADER, "a@example.test,A,A,,DE"]))
    run(people.olga, lead_import)

    LeadImport.objects.filter(pk=lead_import.pk).update(status="running")  # a redelivered task
    again = imports.lead_import_run(lead_import.pk)

    assert (again.status, again.imported) == ("done", 1)
    assert Client.objects.count() == 1
