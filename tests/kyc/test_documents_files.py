"""GET /kyc/files/<id>/: the decrypted file for its owner and for reviewers who may see the client;
a 404 for everyone else, in any tenant. And one upload checked by a real Celery worker."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from kyc.documents import document_upload
from kyc.models import Document, RiskAssessment
from tests import factories
from tests.conftest import tenant_client
from tests.kyc.test_documents import private_root, valid_passport_zone  # noqa: F401 - autouse fixture
from tests.kyc.test_uploads import image_bytes, pdf_bytes

PNG = image_bytes("PNG")


@pytest.fixture
def document(alpha, carl):
    with tenant_context(alpha):
        upload = SimpleUploadedFile("../../etc/passwd\r\nX-Evil: 1.png", PNG, content_type="image/png")
        return document_upload(client=carl.client, kind="passport", side="single", upload=upload, actor=carl)


def persona(alpha, name: str):
    """A signed-in person of alpha (None: anonymous)."""
    with tenant_context(alpha):
        if name == "anonymous":
            return None
        if name == "other_client":
            return factories.client_user("dora@alpha.test")
        if name == "finance_without_kyc_review":
            return factories.staff_user("fay@alpha.test", roles=["finance"])
        if name == "reviewer":
            return factories.staff_user("rita@alpha.test", roles=["support"])
        sam = factories.staff_user("sam@alpha.test", roles=["sales"])
        sam.user_permissions.add(Permission.objects.get(codename="kyc_review"))
        return sam


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("anonymous", 302),
        ("other_client", 404),
        ("finance_without_kyc_review", 404),
        ("sales_reviewer_not_assigned", 404),
        ("reviewer", 200),
    ],
)
def test_who_may_open_a_document(alpha, document, name, status):
    user = persona(alpha, name)
    response = tenant_client(alpha, user).get(reverse("kyc_document_file", args=[document.pk]))
    assert response.status_code == status
    if status == 200:
        assert response.content == PNG
        with tenant_context(alpha):
            assert AuditRecord.objects.filter(action="kyc.document.viewed", object_id=str(document.pk)).count() == 1


def test_a_sales_reviewer_sees_the_documents_of_their_own_client(alpha, document, carl):
    sam = persona(alpha, "sales_reviewer_assigned")
    with tenant_context(alpha):
        carl.client.__class__.objects.filter(pk=carl.client.pk).update(sales_agent=sam)
    assert tenant_client(alpha, sam).get(reverse("kyc_document_file", args=[document.pk])).status_code == 200


def test_the_owner_gets_the_file_with_safe_headers(alpha, document, carl):
    response = tenant_client(alpha, carl).get(reverse("kyc_document_file", args=[document.pk]))
    assert response.status_code == 200
    assert response.content == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == f'inline; filename="passport-single-{document.pk}.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["Cache-Control"] == "private, no-store"
    with tenant_context(alpha):
        assert not AuditRecord.objects.filter(action="kyc.document.viewed").exists()  # the owner's own file


def test_a_pdf_is_served_as_a_pdf(alpha, carl):
    with tenant_context(alpha):
        upload = SimpleUploadedFile("bill.pdf", pdf_bytes(), content_type="application/pdf")
        bill = document_upload(client=carl.client, kind="proof_of_address", side="single", upload=upload, actor=carl)
    response = tenant_client(alpha, carl).get(reverse("kyc_document_file", args=[bill.pk]))
    assert (response["Content-Type"], response.content[:5]) == ("application/pdf", b"%PDF-")


def test_another_tenant_never_serves_alphas_document(alpha, beta, bob, document):
    response = tenant_client(beta, bob).get(reverse("kyc_document_file", args=[document.pk]))
    assert response.status_code == 404


def test_an_unknown_id_is_a_404_also_for_the_owner(alpha, document, carl):
    assert tenant_client(alpha, carl).get(reverse("kyc_document_file", args=[document.pk + 1000])).status_code == 404


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_checks_an_upload_in_the_tenant_it_was_sent_from(alpha, beta, worker_queue):
    from datetime import date

    with tenant_context(alpha):
        carl = factories.client_user("carl@alpha.test")
        client = carl.client
        client.first_name, client.last_name = "Anna", "Eriksson"
        client.date_of_birth, client.nationality = date(1974, 8, 12), "SE"
        client.save()
        upload = SimpleUploadedFile("passport.png", PNG, content_type="image/png")
        document = document_upload(
            client=client, kind="passport", side="single", upload=upload, actor=carl, mrz_text=valid_passport_zone()
        )
    deadline = time.monotonic() + 60
    with tenant_context(alpha):
        while Document.objects.get(pk=document.pk).status == Document.Status.CHECKING and time.monotonic() < deadline:
            time.sleep(0.3)
        document.refresh_from_db()
        assert document.status == Document.Status.PASSED, document.status_reason
        assert document.checks.count() == 6
        assert document.document_number == "AA1234567"
        deadline = time.monotonic() + 10
        while not RiskAssessment.objects.filter(trigger="document checked").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert RiskAssessment.objects.filter(client=client, trigger="document checked").exists()
    with tenant_context(beta):
        assert not Document.objects.exists()
