"""Races on one client's documents, with real threads: the client's row lock keeps them in order."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from kyc.documents import document_accept, document_upload
from kyc.models import Document
from tests import factories
from tests.concurrency import race, race_each
from tests.kyc.test_documents import private_root  # noqa: F401 - autouse fixture
from tests.kyc.test_uploads import image_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def test_simultaneous_uploads_of_the_same_side_leave_exactly_one_current(alpha):
    with tenant_context(alpha):
        carl = factories.client_user("carl@alpha.test")
    photos = [image_bytes("JPEG") for _ in range(6)]

    def upload(index: int) -> Document:
        upload = SimpleUploadedFile(f"me{index}.jpg", photos[index], content_type="image/jpeg")
        return document_upload(client=carl.client, kind="selfie", side="single", upload=upload, actor=carl)

    results = race(alpha, upload, count=6)
    assert all(isinstance(result, Document) for result in results), results
    with tenant_context(alpha):
        assert Document.objects.count() == 6
        current = Document.objects.exclude(status=Document.Status.REPLACED)
        assert current.count() == 1
        # The survivor is the one uploaded last.
        assert current.get().pk == Document.objects.order_by("-pk").first().pk


def test_two_reviewers_accepting_at_once_accept_it_once(alpha):
    with tenant_context(alpha):
        carl = factories.client_user("carl@alpha.test")
        rita = factories.staff_user("rita@alpha.test", roles=["support"])
        ann = factories.staff_user("ann@alpha.test", roles=["compliance"])
        upload = SimpleUploadedFile("me.jpg", image_bytes("JPEG"), content_type="image/jpeg")
        document = document_upload(client=carl.client, kind="selfie", side="single", upload=upload, actor=carl)
        document.refresh_from_db()
        assert document.status == Document.Status.NEEDS_REVIEW  # checked eagerly on commit

    results = race_each(
        alpha,
        [
            lambda: document_accept(Document.objects.get(pk=document.pk), rita),
            lambda: document_accept(Document.objects.get(pk=document.pk), ann),
        ],
    )
    errors = [r for r in results if isinstance(r, ApplicationError)]
    assert len(errors) == 1, results
    assert errors[0].message == "This document can no longer be accepted: it is accepted."
    with tenant_context(alpha):
        assert Document.objects.get(pk=document.pk).status == Document.Status.ACCEPTED
        assert AuditRecord.objects.filter(action="kyc.document.accepted").count() == 1


def test_simultaneous_re_uploads_leave_the_accepted_one_in_force_and_one_newer_current(alpha):
    with tenant_context(alpha):
        carl = factories.client_user("carl@alpha.test")
        rita = factories.staff_user("rita@alpha.test", roles=["support"])
        first = SimpleUploadedFile("me.jpg", image_bytes("JPEG"), content_type="image/jpeg")
        accepted = document_upload(client=carl.client, kind="selfie", side="single", upload=first, actor=carl)
        document_accept(Document.objects.get(pk=accepted.pk), rita)
    photos = [image_bytes("JPEG") for _ in range(6)]

    def upload(index: int) -> Document:
        upload = SimpleUploadedFile(f"me{index}.jpg", photos[index], content_type="image/jpeg")
        return document_upload(client=carl.client, kind="selfie", side="single", upload=upload, actor=carl)

    results = race(alpha, upload, count=6)
    assert all(isinstance(result, Document) for result in results), results
    with tenant_context(alpha):
        current = dict(Document.objects.exclude(status=Document.Status.REPLACED).values_list("pk", "status"))
        newest = Document.objects.order_by("-pk").first().pk
        # Each new selfie needs a person: none takes over from the accepted one.
        assert current == {accepted.pk: Document.Status.ACCEPTED, newest: Document.Status.NEEDS_REVIEW}
