"""/ops/payments/reconciliation/ and /api/v1/statements/: who may see and act, and alpha's statements stay alpha's.

Personas in alpha: Fiona (finance: sees and acts), Bert (back office: sees only),
Sam (sales: no payments), Carl (a client). Bob owns beta and must see nothing of alpha.
"""

from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from payments.defaults import payment_defaults_ensure
from payments.models import Deposit, StatementEntry, StatementImport
from tests import factories
from tests.payments.reconciliation_support import (
    MARCH_2,
    REF_A,
    REF_C,
    at,
    card_deposit,
    client,
    fixture,
    import_fixture,
    wallet_balance,
    wire_deposit,
)
from tests.tenants.web import api_client, tenant_web_client

pytestmark = pytest.mark.django_db
Status = StatementEntry.Status
OPS = "/ops/payments/reconciliation/"


@pytest.fixture
def people(alpha, beta):
    with tenant_context(beta):
        payment_defaults_ensure()
        bob = factories.staff_user("bob@beta.test", roles=["owner"])
    with tenant_context(alpha):
        payment_defaults_ensure()
        return {
            "fiona": factories.staff_user("fiona@alpha.test", roles=["finance"]),
            "bert": factories.staff_user("bert@alpha.test", roles=["back_office"]),
            "sam": factories.staff_user("sam@alpha.test", roles=["sales"]),
            "carl": factories.client_user("carl@alpha.test"),
            "bob": bob,
        }


@pytest.fixture
def imported(alpha, people):
    """Alpha's camt.053 of 2 March: Carl's wire confirmed, four lines needing attention."""
    with tenant_context(alpha):
        carl = client()
        deposit = wire_deposit(carl, "250.00", reference=REF_A)
        statement = import_fixture("camt053_v2.xml", "camt053", actor=people["fiona"])
        unknown = statement.entries.get(line_no=2)
    return {"statement": statement, "unknown": unknown, "deposit": deposit, "carl": carl}


def page(tenant, user, path):
    return tenant_web_client(tenant, user).get(path)


# Pages --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [("fiona", 200), ("bert", 200), ("sam", 403), ("carl", 403)])
def test_the_reconciliation_pages_need_payments_view(alpha, people, imported, who, status):
    entry = imported["unknown"]
    for path in (
        OPS,
        f"{OPS}imports/{imported['statement'].pk}/",
        f"{OPS}entries/{entry.pk}/",
        f"{OPS}report/?date=2026-03-02",
    ):
        assert page(alpha, people[who], path).status_code == status, path


def test_anonymous_visitors_are_sent_to_sign_in(alpha, people):
    response = tenant_web_client(alpha).get(OPS)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_the_queue_shows_what_needs_attention_oldest_first_and_the_import(alpha, people, imported):
    response = page(alpha, people["fiona"], OPS)
    html = response.content.decode()
    assert "Needs attention" in html
    assert "No deposit reference found in the remittance text." in html
    assert "RF85K7QM9XT3 looks like a deposit reference but its check digits are wrong." in html
    assert "camt053_v2.xml" in html and "Balances agree" in html
    assert 'action="/ops/payments/reconciliation/upload/"' in html  # Fiona may import
    assert [e.line_no for e in response.context["queue"]] == [2, 3, 4, 5]
    assert response.context["queue_count"] == 4


def test_viewers_without_manage_see_no_forms_and_cannot_post(alpha, people, imported):
    html = page(alpha, people["bert"], OPS).content.decode()
    assert "Import a statement" not in html
    web = tenant_web_client(alpha, people["bert"])
    upload = SimpleUploadedFile("s.xml", fixture("camt053_v8.xml"), content_type="text/xml")
    assert web.post(f"{OPS}upload/", {"format": "camt053", "file": upload}).status_code == 403
    entry = imported["unknown"]
    assert web.post(f"{OPS}entries/{entry.pk}/", {"action": "ignore", "note": "x"}).status_code == 403
    with tenant_context(alpha):
        assert StatementImport.objects.count() == 1
        entry.refresh_from_db()
        assert entry.status == Status.EXCEPTION


def test_finance_uploads_a_statement_from_the_page(alpha, people):
    with tenant_context(alpha):
        carl = client()
        wire_deposit(carl, "250.00", reference=REF_A)
    web = tenant_web_client(alpha, people["fiona"])
    upload = SimpleUploadedFile("march-2.xml", fixture("camt053_v2.xml"), content_type="application/xml")

    response = web.post(f"{OPS}upload/", {"format": "camt053", "method": "", "file": upload}, follow=True)

    with tenant_context(alpha):
        statement = StatementImport.objects.get()
        assert response.redirect_chain == [(f"{OPS}imports/{statement.pk}/", 302)]
        assert wallet_balance(carl, "EUR") == D("250.00")
    html = response.content.decode()
    assert "Imported 5 entries: 1 deposit confirmed, 0 matched, 4 need attention." in html
    assert "Confirmed a deposit" in html


@pytest.mark.parametrize(
    ("name", "content", "fmt", "message"),
    [
        (
            "s.sta",
            fixture("mt940_latin1.sta"),
            "camt053",
            "The file is MT940 text, not XML as the chosen format needs.",
        ),
        ("bomb.xml", fixture("xml_bomb.xml"), "camt053", "The XML was refused as unsafe (DTDForbidden)"),
        ("s.pdf", b"%PDF-1.4", "camt054", "The file is a binary file, not XML"),
    ],
)
def test_a_bad_upload_shows_the_reason_on_the_form_and_writes_nothing(alpha, people, name, content, fmt, message):
    web = tenant_web_client(alpha, people["fiona"])
    response = web.post(f"{OPS}upload/", {"format": fmt, "file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400
    assert message in response.context["upload_form"].errors["file"][0]
    with tenant_context(alpha):
        assert not StatementImport.objects.exists()


def test_a_duplicate_upload_is_refused_on_the_form(alpha, people, imported):
    web = tenant_web_client(alpha, people["fiona"])
    response = web.post(
        f"{OPS}upload/", {"format": "camt053", "file": SimpleUploadedFile("again.xml", fixture("camt053_v2.xml"))}
    )
    assert response.status_code == 400
    assert "This file was already imported on " in response.context["upload_form"].errors["file"][0]


def test_finance_links_an_exception_to_a_deposit_from_the_page(alpha, people, imported):
    with tenant_context(alpha):
        dana = client("Dana")
        deposit = wire_deposit(dana, "100.00", reference=REF_C)
    entry = imported["unknown"]
    web = tenant_web_client(alpha, people["fiona"])
    form_page = web.get(f"{OPS}entries/{entry.pk}/")
    assert deposit in form_page.context["form"].fields["deposit"].queryset
    assert imported["deposit"] not in form_page.context["form"].fields["deposit"].queryset  # completed

    response = web.post(f"{OPS}entries/{entry.pk}/", {"action": "link", "deposit": deposit.pk, "note": ""}, follow=True)

    assert response.redirect_chain == [(OPS, 302)]
    assert f"Line 2: Confirmed deposit {REF_C} with 99.50 EUR." in response.content.decode()
    with tenant_context(alpha):
        entry.refresh_from_db()
        assert (entry.status, entry.deposit, entry.resolved_by) == (Status.RESOLVED, deposit, people["fiona"])
        assert wallet_balance(dana, "EUR") == D("99.50")
        assert AuditRecord.objects.filter(
            action="payments.statement_entry.linked", actor_email="fiona@alpha.test"
        ).exists()


def test_the_resolve_form_explains_what_is_missing(alpha, people, imported):
    web = tenant_web_client(alpha, people["fiona"])
    entry = imported["unknown"]
    response = web.post(f"{OPS}entries/{entry.pk}/", {"action": "link"})
    assert response.status_code == 400
    assert response.context["form"].errors == {"deposit": ["Choose the deposit this money is for."]}
    response = web.post(f"{OPS}entries/{entry.pk}/", {"action": "resolve", "note": " "})
    assert response.context["form"].errors == {"note": ["Say what was done or why it is ignored."]}


def test_a_debit_cannot_be_linked_to_a_deposit(alpha, people, imported):
    with tenant_context(alpha):
        debit = imported["statement"].entries.get(line_no=5)
    form = page(alpha, people["fiona"], f"{OPS}entries/{debit.pk}/").context["form"]
    assert [value for value, _ in form.fields["action"].choices] == ["resolve", "ignore"]


def test_the_report_page_and_its_csv(alpha, people):
    with tenant_context(alpha), at(MARCH_2):
        card_deposit(client(), "100.00", "cs_test_0001")
    web = tenant_web_client(alpha, people["bert"])

    response = web.get(f"{OPS}report/", {"date": "2026-03-02"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Card · 2026-03-02" in html and "Differences" in html and "cs_test_0001" in html

    download = web.get(f"{OPS}report/", {"date": "2026-03-02", "download": "csv"})
    assert download["Content-Disposition"] == 'attachment; filename="reconciliation-2026-03-02.csv"'
    assert "2026-03-02,card,USD,difference,,100.00," in download.content.decode()

    assert web.get(f"{OPS}report/", {"date": "2026-02-30"}).status_code == 400


def test_the_sandbox_settlement_download_needs_manage(alpha, people):
    with tenant_context(alpha), at(MARCH_2):
        card_deposit(client(), "100.00", "cs_test_0001")
        card = Deposit.objects.get().method
    query = {"date": "2026-03-02", "method": card.pk}
    response = tenant_web_client(alpha, people["fiona"]).get(f"{OPS}sandbox-settlement/", query)
    assert response["Content-Disposition"] == 'attachment; filename="sandbox-settlement-2026-03-02.csv"'
    assert response.content.decode().splitlines()[1] == "2026-03-02,payment,cs_test_0001,USD,100.00,1.60,98.40"
    assert tenant_web_client(alpha, people["bert"]).get(f"{OPS}sandbox-settlement/", query).status_code == 403


def test_beta_sees_nothing_of_alphas_statements(alpha, beta, people, imported):
    entry = imported["unknown"]
    web = tenant_web_client(beta, people["bob"])
    assert web.get(f"{OPS}imports/{imported['statement'].pk}/").status_code == 404
    assert web.get(f"{OPS}entries/{entry.pk}/").status_code == 404
    assert "camt053_v2.xml" not in web.get(OPS).content.decode()
    api = api_client(beta, people["bob"])
    assert api.get("/api/v1/statements/").json()["count"] == 0
    assert api.get(f"/api/v1/statement-entries/{entry.pk}/").status_code == 404
    response = api.post(
        f"/api/v1/statement-entries/{entry.pk}/resolve/",
        {"action": "ignore", "note": "not mine"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="beta-1",
    )
    assert response.status_code == 404
    with tenant_context(alpha):
        entry.refresh_from_db()
        assert entry.status == Status.EXCEPTION


# API ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "read", "write"), [("fiona", 200, 201), ("bert", 200, 403), ("sam", 403, 403), ("carl", 403, 403)]
)
def test_the_api_needs_payments_view_to_read_and_payments_manage_to_write(alpha, people, who, read, write):
    api = api_client(alpha, people[who])
    assert api.get("/api/v1/statements/").status_code == read
    assert api.get("/api/v1/statement-entries/").status_code == read
    upload = SimpleUploadedFile("s.xml", fixture("camt053_v8.xml"))
    response = api.post("/api/v1/statements/", {"format": "camt053", "file": upload}, HTTP_IDEMPOTENCY_KEY=f"k-{who}")
    assert response.status_code == write
    with tenant_context(alpha):
        assert StatementImport.objects.count() == (1 if write == 201 else 0)


def test_api_upload_returns_the_import_with_its_entries_and_a_retry_replays_it(alpha, people):
    with tenant_context(alpha):
        carl = client()
        wire_deposit(carl, "250.00", reference=REF_A)
    api = api_client(alpha, people["fiona"])

    def upload():
        return api.post(
            "/api/v1/statements/",
            {"format": "camt053", "file": SimpleUploadedFile("march-2.xml", fixture("camt053_v2.xml"))},
            HTTP_IDEMPOTENCY_KEY="upload-march-2",
        )

    first = upload()
    assert first.status_code == 201
    body = first.json()
    assert (body["format"], body["method"], body["balances_agree"], body["imported_by"]) == (
        "camt053",
        "bank-wire",
        True,
        "fiona@alpha.test",
    )
    assert (body["entry_count"], body["settled_count"], body["exception_count"]) == (5, 1, 4)
    assert [e["status"] for e in body["entries"]] == [
        "auto_confirmed",
        "exception",
        "exception",
        "exception",
        "exception",
    ]
    assert body["entries"][0]["amount"] == "250.00000000"
    assert body["entries"][0]["remittance"] == "deposit rf85 k7qm 9xt2 thank you"

    again = upload()
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == body["id"]
    with tenant_context(alpha):
        assert StatementImport.objects.count() == 1
        assert wallet_balance(carl, "EUR") == D("250.00")


def test_api_upload_errors_name_the_field(alpha, people):
    api = api_client(alpha, people["fiona"])
    response = api.post(
        "/api/v1/statements/",
        {"format": "mt940", "file": SimpleUploadedFile("s.xml", fixture("camt053_v2.xml"))},
        HTTP_IDEMPOTENCY_KEY="bad-1",
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "bad_statement",
        "message": "The file is XML, not MT940 text as the chosen format needs.",
        "fields": {"file": ["The file is XML, not MT940 text as the chosen format needs."]},
    }
    response = api.post("/api/v1/statements/", {"format": "pdf"}, HTTP_IDEMPOTENCY_KEY="bad-2")
    assert set(response.json()["error"]["fields"]) == {"file", "format"}
    assert api.post("/api/v1/statements/", {"format": "camt053"}).json()["error"]["code"] == "idempotency_key_required"


def test_api_lists_entries_by_status_and_resolves_with_an_audit_record(alpha, people, imported):
    api = api_client(alpha, people["fiona"])
    listed = api.get("/api/v1/statement-entries/", {"status": "exception"}).json()
    assert [e["line_no"] for e in listed["results"]] == [2, 3, 4, 5]
    assert listed["results"][0]["reason"] == "No deposit reference found in the remittance text."

    entry = imported["unknown"]
    response = api.post(
        f"/api/v1/statement-entries/{entry.pk}/resolve/",
        {"action": "ignore", "note": "Sent back to the payer"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="resolve-2",
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["resolved_by"]) == ("ignored", "fiona@alpha.test")
    with tenant_context(alpha):
        assert AuditRecord.objects.filter(action="payments.statement_entry.ignored", object_id=str(entry.pk)).exists()

    again = api.post(
        f"/api/v1/statement-entries/{entry.pk}/resolve/",
        {"action": "resolve", "note": "twice"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="resolve-2b",
    )
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "entry_not_open"


def test_api_links_an_entry_to_a_deposit_by_its_public_id(alpha, people, imported):
    with tenant_context(alpha):
        dana = client("Dana")
        deposit = wire_deposit(dana, "100.00", reference=REF_C)
    api = api_client(alpha, people["fiona"])
    response = api.post(
        f"/api/v1/statement-entries/{imported['unknown'].pk}/resolve/",
        {"action": "link", "deposit": str(deposit.public_id)},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="link-2",
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["deposit"]) == ("resolved", str(deposit.public_id))
    with tenant_context(alpha):
        assert wallet_balance(dana, "EUR") == D("99.50")
    missing = api.post(
        f"/api/v1/statement-entries/{imported['unknown'].pk}/resolve/",
        {"action": "link"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="link-3",
    )
    assert missing.json()["error"]["fields"] == {"deposit": ["Required to link a deposit."]}


def test_api_statement_detail_lists_its_entries_in_a_fixed_number_of_queries(
    alpha, people, imported, django_assert_max_num_queries
):
    api = api_client(alpha, people["bert"])
    with django_assert_max_num_queries(20):
        body = api.get(f"/api/v1/statements/{imported['statement'].pk}/").json()
    assert [e["line_no"] for e in body["entries"]] == [1, 2, 3, 4, 5]
    assert body["entries"][0]["deposit"] == str(imported["deposit"].public_id)


def test_the_reconciliation_page_costs_the_same_queries_however_many_imports(alpha, people, imported):
    web = tenant_web_client(alpha, people["fiona"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert web.get(OPS).status_code == 200
        return len(captured)

    one = queries()
    with tenant_context(alpha):
        for number in (2, 3):
            data = fixture("camt053_v2.xml").replace(b"RECON-TEST-V2-0001", f"RECON-{number}".encode())
            import_fixture(f"again-{number}.xml", "camt053", actor=people["fiona"], data=data)
    assert queries() == one
