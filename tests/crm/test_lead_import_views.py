"""The import pages: upload, mapping with preview, progress, report and its CSV, and who may use them."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from crm.models import Client, LeadImport
from tests.crm.support_leads import csv_bytes, fixture_bytes, lead_people
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alpha):
    with tenant_context(alpha):
        return lead_people()


def test_upload_map_run_and_read_the_report(alpha, people, django_capture_on_commit_callbacks):
    web = tenant_web_client(alpha, people.olga)

    uploaded = web.post(
        "/ops/crm/leads/imports/upload/",
        {"file": SimpleUploadedFile("leads_semicolon.csv", fixture_bytes("leads_semicolon.csv"))},
        follow=True,
    )
    with tenant_context(alpha):
        lead_import = LeadImport.objects.get()
    assert uploaded.redirect_chain == [(f"/ops/crm/leads/imports/{lead_import.pk}/", 302)]
    page = uploaded.content.decode()
    assert "Read 6 rows of leads_semicolon.csv: encoding UTF-8, separated by semicolons." in page
    assert '<option value="E-mail" selected>E-mail</option>' in page  # guessed
    assert "<td>cleo@example.test</td>" in page  # the preview

    incomplete = web.post(f"/ops/crm/leads/imports/{lead_import.pk}/", {"map_email": "E-mail", "source": "import"})
    assert incomplete.status_code == 400
    assert "Choose the column with the name" in incomplete.content.decode()

    mapping = {f"map_{field}": column for field, column in lead_import.mapping.items()}
    with django_capture_on_commit_callbacks(execute=True):
        started = web.post(
            f"/ops/crm/leads/imports/{lead_import.pk}/",
            {**mapping, "source": "import", "tags": "expo", "source_detail": ""},
        )
    assert started["Location"] == f"/ops/crm/leads/imports/{lead_import.pk}/progress/"

    progress = web.get(started["Location"], HTTP_HX_REQUEST="true")
    body = progress.content.decode()
    assert 'id="count-imported">2<' in body
    assert 'id="count-duplicates">1<' in body
    assert 'id="count-rejected">3<' in body
    assert "hx-trigger" not in body  # finished: the polling stops

    report = web.get(f"/ops/crm/leads/imports/{lead_import.pk}/report/").content.decode()
    assert "“not-an-email” is not a valid email address." in report
    assert "The same email as line 2 of this file." in report
    assert "“12”: Not a valid phone number." in report

    download = web.get(f"/ops/crm/leads/imports/{lead_import.pk}/report/?format=csv")
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert lines[0].startswith("line,outcome,problems,E-mail,First Name")
    assert [line.split(",")[0] for line in lines[1:]] == ["3", "5", "6", "7"]
    with tenant_context(alpha):
        assert Client.objects.filter(status="lead", tags=["expo", "vip"]).count() == 1


def test_report_csv_cells_cannot_run_as_formulas(alpha, people, django_capture_on_commit_callbacks):
    web = tenant_web_client(alpha, people.olga)
    data = csv_bytes(["Name,Email", "=HYPERLINK(1),not-an-email"])
    web.post("/ops/crm/leads/imports/upload/", {"file": SimpleUploadedFile("evil.csv", data)})
    with tenant_context(alpha):
        lead_import = LeadImport.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        web.post(
            f"/ops/crm/leads/imports/{lead_import.pk}/", {"map_name": "Name", "map_email": "Email", "source": "import"}
        )

    download = web.get(f"/ops/crm/leads/imports/{lead_import.pk}/report/?format=csv")

    content = b"".join(download.streaming_content).decode()
    assert "'=HYPERLINK(1)" in content


def test_a_file_that_is_not_csv_is_refused_on_the_upload_page(alpha, people):
    web = tenant_web_client(alpha, people.olga)

    response = web.post("/ops/crm/leads/imports/upload/", {"file": SimpleUploadedFile("leads.csv", b"%PDF-1.7 ...")})

    assert response.status_code == 400
    assert "This is a PDF document, not a CSV file." in response.content.decode()


def test_a_failed_import_is_resumed_from_its_page(alpha, people, django_capture_on_commit_callbacks):
    with tenant_context(alpha):
        lead_import = LeadImport.objects.create(
            filename="x.csv",
            encoding="utf-8",
            header=["Name", "Email"],
            mapping={"name": "Name", "email": "Email"},
            status="failed",
            error="Stopped: RuntimeError",
            total_rows=1,
            created_by=people.olga,
        )
        lead_import.rows.create(line=2, values=["Ana López", "ana@example.test"])
    web = tenant_web_client(alpha, people.olga)
    assert (
        "Resume from the pending rows" in web.get(f"/ops/crm/leads/imports/{lead_import.pk}/progress/").content.decode()
    )

    with django_capture_on_commit_callbacks(execute=True):
        web.post(f"/ops/crm/leads/imports/{lead_import.pk}/resume/")

    with tenant_context(alpha):
        lead_import.refresh_from_db()
        assert (lead_import.status, lead_import.imported) == ("done", 1)
        assert Client.objects.get().email == "ana@example.test"


@pytest.mark.parametrize("who", ["sam", "cora"])
@pytest.mark.parametrize("path", ["", "upload/", "1/", "1/progress/", "1/report/", "1/report/?format=csv"])
def test_only_crm_manage_reaches_the_import_pages(alpha, people, who, path):
    web = tenant_web_client(alpha, getattr(people, who))
    method = web.post if path == "upload/" else web.get

    assert method(f"/ops/crm/leads/imports/{path}").status_code == 403


def test_report_csv_header_names_from_the_file_cannot_run_as_formulas(
    alpha, people, django_capture_on_commit_callbacks
):
    web = tenant_web_client(alpha, people.olga)
    data = csv_bytes(["Name,Email,=cmd|' /C calc'!A0", "Ana A,not-an-email,x"])
    web.post("/ops/crm/leads/imports/upload/", {"file": SimpleUploadedFile("evil.csv", data)})
    with tenant_context(alpha):
        lead_import = LeadImport.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        web.post(
            f"/ops/crm/leads/imports/{lead_import.pk}/", {"map_name": "Name", "map_email": "Email", "source": "import"}
        )

    download = web.get(f"/ops/crm/leads/imports/{lead_import.pk}/report/?format=csv")

    header = b"".join(download.streaming_content).decode().splitlines()[0]
    assert header == "line,outcome,problems,Name,Email,'=cmd|' /C calc'!A0"
