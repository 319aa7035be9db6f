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


# Review fixes: tags, what an importer who cannot see a match is told, assignment per chunk


def test_imported_tags_are_lower_cased_trimmed_and_deduplicated(people):
    data = csv_bytes(["Email,Name,Tags", "a@example.test,Ana A, VIP | Gold ;vip", "b@example.test,Ben B,FAIR-2024"])

    run(people.olga, upload(people.olga, data), tags=" Fair-2024 ,EXPO")

    assert Client.objects.get(email="a@example.test").tags == ["fair-2024", "expo", "vip", "gold"]
    assert Client.objects.get(email="b@example.test").tags == ["fair-2024", "expo"]


def test_a_too_long_tag_for_the_whole_import_is_refused(people):
    lead_import = upload(people.olga, csv_bytes([HEADER, "a@example.test,A,A,,DE"]))

    with pytest.raises(ApplicationError) as raised:
        imports.lead_import_start(
            actor=people.olga, lead_import=lead_import, mapping=lead_import.mapping, tags="x" * 41
        )

    assert "tags" in raised.value.fields


def test_an_importer_who_cannot_see_the_match_is_not_told_who_it_is(people):
    from django.contrib.auth.models import Permission

    # An agent given crm_manage on top of sales: imports, but still sees only their own clients.
    people.sam.user_permissions.add(Permission.objects.get(content_type__app_label="brokerage", codename="crm_manage"))
    sam = type(people.sam).objects.get(pk=people.sam.pk)
    hidden = factories.ClientFactory(
        first_name="Hidden", last_name="Person", email="h@example.test", sales_agent=people.sue
    )
    own = factories.ClientFactory(first_name="Own", last_name="Client", email="o@example.test", sales_agent=sam)
    data = csv_bytes([HEADER, "h@example.test,H,H,,DE", "o@example.test,O,O,,DE"])

    done = run(sam, upload(sam, data))

    assert outcomes(done) == {
        2: ("duplicate", ["This person is already on file (held by another agent)."]),
        3: ("duplicate", [f"The same email as client #{own.pk} (Own Client)."]),
    }
    assert f"#{hidden.pk}" not in str(outcomes(done))


def test_a_chunk_is_assigned_in_rotation_with_one_notification_per_agent_and_one_audit_record(people):
    from crm.assignment import client_auto_assign
    from crm.models import Notification

    rule_with("Germany", [people.sam, people.sue], countries=["DE"])
    data = csv_bytes([HEADER, *(f"p{n}@example.test,P{n},Test,,DE" for n in range(1, 6)), "fr@example.test,F,R,,FR"])

    done = run(people.olga, upload(people.olga, data))

    agents = [Client.objects.get(email=f"p{n}@example.test").sales_agent for n in range(1, 6)]
    assert agents == [people.sam, people.sue, people.sam, people.sue, people.sam]
    assert Client.objects.get(email="fr@example.test").sales_agent is None
    assert sorted(Notification.objects.values_list("user__email", "message")) == [
        ("sam@alpha.test", "3 new leads from leads.csv assigned to you"),
        ("sue@alpha.test", "2 new leads from leads.csv assigned to you"),
    ]
    assert not AuditRecord.objects.filter(action="crm.client.auto_assigned").exists()
    record = AuditRecord.objects.get(action="crm.lead_import.assigned")
    assert record.object_id == str(done.pk)
    assert (record.after["assigned"], record.after["unassigned"]) == (5, 1)
    assert record.after["by_agent"] == {"sam@alpha.test": 3, "sue@alpha.test": 2}
    first = Client.objects.get(email="p1@example.test")
    assert "Assigned to Sam Seller by rule 'Germany'" in TimelineEvent.objects.filter(client=first).values_list(
        "title", flat=True
    )
    # The rotation carries on where the import left it: Sue's turn next.
    later = factories.ClientFactory(email="later@example.test", country="DE", status="lead")
    client_auto_assign(later)
    later.refresh_from_db()
    assert later.sales_agent == people.sue


def test_a_chunk_takes_the_first_matching_rule_with_an_active_agent(people):
    rule_with("Spanish speakers", [people.sue], priority=10, languages=["es"])
    rule_with("Inactive only", [people.cora], priority=20, countries=["DE"])
    people.cora.is_active = False
    people.cora.save(update_fields=["is_active"])
    rule_with("Everyone", [people.sam], priority=30)
    data = csv_bytes(["Email,Name,Country,Language", "es@example.test,E S,DE,Spanish", "de@example.test,D E,DE,German"])

    run(people.olga, upload(people.olga, data))

    assert Client.objects.get(email="es@example.test").sales_agent == people.sue
    assert Client.objects.get(email="de@example.test").sales_agent == people.sam


def test_the_migration_lower_cases_and_deduplicates_existing_tags(people):
    import importlib

    from django.db import connection

    migration = importlib.import_module("crm.migrations.0005_lowercase_tags")
    mixed = factories.ClientFactory(email="m@example.test", tags=["VIP", " vip ", "High  Roller", "", "gold"])
    clean = factories.ClientFactory(email="c@example.test", tags=["vip"])
    empty = factories.ClientFactory(email="e@example.test", tags=[])

    with connection.cursor() as cursor:
        cursor.execute(migration.LOWERCASE_TAGS)

    for client in (mixed, clean, empty):
        client.refresh_from_db()
    assert (mixed.tags, clean.tags, empty.tags) == (["vip", "high roller", "gold"], ["vip"], [])
