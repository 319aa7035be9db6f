"""Uploading documents through the portal's documents page: one form per kind, field errors on bad
files and missing sides, the checks started on commit, and the list polled while they run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import tenant_context
from mrz.generator.td1 import TD1CodeGenerator
from mrz.generator.td3 import TD3CodeGenerator

from crm.models import Client
from kyc.models import Document
from tests import factories
from tests.conftest import tenant_client
from tests.kyc.test_onboarding import jpeg, profile_done, upload, url


@pytest.fixture
def carl_client(alpha, carl):
    with tenant_context(alpha):
        client = Client.objects.get(user=carl)
        profile_done(client)
        return client


@pytest.fixture
def http(alpha, carl):
    return tenant_client(alpha, carl)


def passport_mrz(**overrides) -> str:
    fields = {
        "surname": "Jensen",
        "given_names": "Carl",
        "birth_date": "850412",
        "expiry_date": (timezone.localdate() + timedelta(days=3 * 365)).strftime("%y%m%d"),
    }
    fields.update(overrides)
    return str(
        TD3CodeGenerator(
            "P", "GBR", fields["surname"], fields["given_names"], "123456789", "GBR", fields["birth_date"], "M",
            fields["expiry_date"], "",
        )
    )  # fmt: skip


def id_card_mrz() -> str:
    expiry = (timezone.localdate() + timedelta(days=3 * 365)).strftime("%y%m%d")
    return str(TD1CodeGenerator("I", "GBR", "AB1234567", "850412", "M", expiry, "GBR", "Jensen", "Carl"))


def test_the_documents_page_offers_one_form_per_kind(alpha, http, carl_client):
    response = http.get(url("kyc_documents"))
    page = response.content.decode()

    assert response.status_code == 200
    assert [form.document_kind for form, _, _ in response.context["forms"]] == [
        "passport", "id_card", "driving_licence", "proof_of_address", "selfie",
    ]  # fmt: skip
    assert "Type the 2 or 3 lines of letters" in page
    assert 'name="issued_on"' in page
    assert 'capture="user"' in page
    assert "You have not uploaded any documents yet." in page


def test_a_passport_with_its_mrz_is_uploaded_and_checked(alpha, http, carl_client, django_capture_on_commit_callbacks):
    mrz = passport_mrz()
    with django_capture_on_commit_callbacks(execute=True):
        response = http.post(
            url("kyc_document_upload"), {"kind": "passport", "single": upload("passport.jpg"), "mrz_text": mrz}
        )

    assert response.status_code == 302
    assert response["Location"] == url("kyc_documents")
    with tenant_context(alpha):
        document = Document.objects.get(client=carl_client)
        assert (document.kind, document.side, document.original_name) == ("passport", "single", "passport.jpg")
        assert document.mrz_text.split() == mrz.split()
        assert document.uploaded_by_id == carl_client.user_id
        assert document.status == Document.Status.PASSED, document.status_reason
    page = http.get(url("kyc_documents")).content.decode()
    assert "passport.jpg" in page
    assert "Passed the automatic checks" in page
    assert f'href="/kyc/files/{document.pk}/"' in page
    assert 'hx-trigger="every 3s"' not in page


def test_a_passport_whose_mrz_disagrees_with_the_profile_says_why(
    alpha, http, carl_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        http.post(
            url("kyc_document_upload"),
            {"kind": "passport", "single": upload(), "mrz_text": passport_mrz(birth_date="850421")},
        )

    with tenant_context(alpha):
        document = Document.objects.get(client=carl_client)
        assert document.status in (Document.Status.FAILED, Document.Status.NEEDS_REVIEW)
        assert document.status_reason
    status = http.get(url("kyc_status")).content.decode()
    assert document.status_reason in status.replace("&#x27;", "'")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("passport.jpg", b"#!/bin/sh\necho hello\n" * 100, "JPEG"),
        ("passport.jpg", b"", "Choose a file to upload."),
        ("passport.jpg", jpeg().getvalue()[:1500], "The image is damaged or incomplete"),
    ],
    ids=["script-named-jpeg", "empty", "truncated-jpeg"],
)
def test_a_bad_file_gets_a_message_on_its_field_and_nothing_is_stored(alpha, http, carl_client, name, content, message):
    data = {"kind": "passport", "mrz_text": ""}
    if content:
        data["single"] = SimpleUploadedFile(name, content, content_type="image/jpeg")

    response = http.post(url("kyc_document_upload"), data)

    assert response.status_code == 400
    bound = next(form for form, _, _ in response.context["forms"] if form.document_kind == "passport")
    assert any(message in error for error in bound.errors["single"]), bound.errors
    assert response.context["open_kind"] == "passport"
    with tenant_context(alpha):
        assert not Document.objects.exists()


def test_an_identity_card_needs_both_sides_the_first_time(alpha, http, carl_client):
    response = http.post(url("kyc_document_upload"), {"kind": "id_card", "front": upload("front.jpg")})

    assert response.status_code == 400
    bound = next(form for form, _, _ in response.context["forms"] if form.document_kind == "id_card")
    assert bound.errors["back"] == ["Upload the back side too: we need both sides."]
    with tenant_context(alpha):
        assert not Document.objects.exists()


def test_both_sides_of_an_identity_card_go_in_together_with_the_mrz_on_the_back(
    alpha, http, carl_client, django_capture_on_commit_callbacks
):
    mrz = id_card_mrz()
    with django_capture_on_commit_callbacks(execute=True):
        response = http.post(
            url("kyc_document_upload"),
            {"kind": "id_card", "front": upload("front.jpg"), "back": upload("back.jpg"), "mrz_text": mrz},
        )

    assert response.status_code == 302
    with tenant_context(alpha):
        front = Document.objects.get(client=carl_client, side="front")
        back = Document.objects.get(client=carl_client, side="back")
        assert front.mrz_text == ""
        assert back.mrz_text.split() == mrz.split()


def test_a_bad_back_side_keeps_the_good_front_out_too(alpha, http, carl_client):
    bad = SimpleUploadedFile("back.jpg", b"<script>alert(1)</script>" * 100, content_type="image/jpeg")

    response = http.post(url("kyc_document_upload"), {"kind": "id_card", "front": upload("front.jpg"), "back": bad})

    assert response.status_code == 400
    bound = next(form for form, _, _ in response.context["forms"] if form.document_kind == "id_card")
    assert bound.errors["back"]
    with tenant_context(alpha):
        assert not Document.objects.exists()


def test_one_side_may_be_replaced_alone_once_the_other_is_on_file(alpha, http, carl_client):
    http.post(
        url("kyc_document_upload"), {"kind": "driving_licence", "front": upload("f.jpg"), "back": upload("b.jpg")}
    )

    response = http.post(url("kyc_document_upload"), {"kind": "driving_licence", "back": upload("b2.jpg")})

    assert response.status_code == 302
    with tenant_context(alpha):
        backs = Document.objects.filter(client=carl_client, side="back").order_by("id")
        assert [(d.original_name, d.status) for d in backs] == [("b.jpg", "replaced"), ("b2.jpg", "checking")]


@pytest.mark.parametrize(
    ("issued_on", "message"),
    [("", "Enter the date printed on the document."), ("2999-01-01", "This date is in the future.")],
)
def test_a_proof_of_address_needs_its_issue_date(alpha, http, carl_client, issued_on, message):
    response = http.post(
        url("kyc_document_upload"), {"kind": "proof_of_address", "single": upload("bill.jpg"), "issued_on": issued_on}
    )

    assert response.status_code == 400
    bound = next(form for form, _, _ in response.context["forms"] if form.document_kind == "proof_of_address")
    assert bound.errors["issued_on"] == [message]
    with tenant_context(alpha):
        assert not Document.objects.exists()


def test_a_proof_of_address_keeps_its_date_and_pasted_text(alpha, http, carl_client):
    issued = timezone.localdate() - timedelta(days=20)
    text = "Carl Jensen\n12 Harbour Street\nLeeds LS1 4AB"

    http.post(
        url("kyc_document_upload"),
        {
            "kind": "proof_of_address",
            "single": upload("bill.jpg"),
            "issued_on": issued.isoformat(),
            "address_text": text,
        },
    )

    with tenant_context(alpha):
        document = Document.objects.get(client=carl_client)
        assert (document.kind, document.issued_on) == ("proof_of_address", issued)
        assert "12 Harbour Street" in document.mrz_text


def test_a_selfie_must_be_a_photo(alpha, http, carl_client):
    from io import BytesIO

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = BytesIO()
    writer.write(buffer)
    pdf = SimpleUploadedFile("me.pdf", buffer.getvalue() + b" " * 1200, content_type="application/pdf")

    response = http.post(url("kyc_document_upload"), {"kind": "selfie", "single": pdf})

    assert response.status_code == 400
    bound = next(form for form, _, _ in response.context["forms"] if form.document_kind == "selfie")
    assert any("A selfie must be a photo" in error for error in bound.errors["single"])


def test_the_upload_list_is_polled_while_checking_and_reloads_once_settled(alpha, http, carl_client):
    http.post(url("kyc_document_upload"), {"kind": "selfie", "single": upload("me.jpg")})
    with tenant_context(alpha):
        document = Document.objects.get(client=carl_client)
        assert document.status == Document.Status.CHECKING  # the check waits for the commit

    polling = http.get(url("kyc_documents_list"), HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 3s"' in polling.content.decode()
    assert "Being checked" in polling.content.decode()

    with tenant_context(alpha):
        Document.objects.filter(pk=document.pk).update(status="passed", status_reason="The face is clear.")
    settled = http.get(url("kyc_documents_list") + "?was=settling", HTTP_HX_REQUEST="true")
    assert settled.headers["HX-Refresh"] == "true"
    quiet = http.get(url("kyc_documents_list"), HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in quiet.content.decode()
    # The badge says it passed; the check's words are not repeated under it.
    assert "Passed the automatic checks" in quiet.content.decode()
    assert "The face is clear." not in quiet.content.decode()


def test_a_client_sees_only_their_own_documents_and_uploads_only_for_themselves(alpha, http, carl_client):
    with tenant_context(alpha):
        dora = factories.client_user("dora@alpha.test")
        dora_client = Client.objects.get(user=dora)
    tenant_client(alpha, dora).post(url("kyc_document_upload"), {"kind": "selfie", "single": upload("dora.jpg")})

    # A client id in the request is ignored: the upload is always the signed-in client's.
    http.post(url("kyc_document_upload"), {"kind": "selfie", "single": upload("carl.jpg"), "client": dora_client.pk})

    page = http.get(url("kyc_documents")).content.decode()
    assert "carl.jpg" in page
    assert "dora.jpg" not in page
    with tenant_context(alpha):
        assert list(Document.objects.filter(client=dora_client).values_list("original_name", flat=True)) == ["dora.jpg"]


def test_staff_cannot_upload_through_the_portal(alpha, alice):
    response = tenant_client(alpha, alice).post(url("kyc_document_upload"), {"kind": "selfie", "single": upload()})
    assert response.status_code == 403
    with tenant_context(alpha):
        assert not Document.objects.exists()
