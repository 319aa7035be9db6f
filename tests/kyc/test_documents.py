"""KYC documents end to end: upload (encrypted, per tenant), replacement, the automatic checks on
commit, the task's idempotency, a broker outage, and staff's accept / reject.

Personas in alpha: Carl is a client whose profile says Anna Eriksson (the ICAO specimen's name),
Alice the owner, Rita a reviewer (support), Sam a sales agent without kyc_review.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord, OutboxEvent
from crm.models import Client, TimelineEvent
from kyc import documents, storage
from kyc.checks.address import months_before
from kyc.documents import document_accept, document_check_now, document_reject, document_upload
from kyc.models import Document, DocumentCheck, FinancialProfile, Questionnaire, QuestionnaireAnswer
from kyc.requirements import client_level, requirement_states
from kyc.tasks_documents import document_check
from tests import factories
from tests.kyc.test_mrz import td3
from tests.kyc.test_uploads import image_bytes, pdf_bytes

Status = Document.Status


def valid_passport_zone() -> str:
    expiry = (timezone.localdate() + timedelta(days=3 * 365)).strftime("%y%m%d")
    return td3(
        surname="ERIKSSON", given="ANNA MARIA", number="AA1234567", nationality="SWE", birth="740812", expiry=expiry
    )


@pytest.fixture(autouse=True)
def private_root(tmp_path, settings, monkeypatch):
    """KYC files of this test in a folder of its own (also for a real worker, through the environment)."""
    root = tmp_path / "private"
    settings.BROKERAGE_PRIVATE_ROOT = root
    monkeypatch.setenv("BROKERAGE_PRIVATE_ROOT", str(root))
    return root


@pytest.fixture
def people(in_alpha, carl, alice):
    client = carl.client
    Client.objects.filter(pk=client.pk).update(
        first_name="Anna",
        last_name="Eriksson",
        date_of_birth=date(1974, 8, 12),
        nationality="SE",
        address_line1="14 Station Road",
        city="Cambridge",
        postal_code="CB1 2JD",
    )
    client.refresh_from_db()
    rita = factories.staff_user("rita@alpha.test", roles=["support"])
    sam = factories.staff_user("sam@alpha.test", roles=["sales"])
    return type("People", (), {"carl": carl, "client": client, "alice": alice, "rita": rita, "sam": sam})


def photo(name: str = "passport.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes("JPEG"), content_type="image/jpeg")


def upload_checked(django_capture_on_commit_callbacks, **kwargs) -> Document:
    """Upload, let the commit hooks run (the eager check task), and read the document back."""
    with django_capture_on_commit_callbacks(execute=True):
        document = document_upload(**kwargs)
    document.refresh_from_db()
    return document


def test_an_upload_is_stored_encrypted_in_the_tenants_private_folder(people, private_root):
    data = image_bytes("PNG")
    document = document_upload(
        client=people.client,
        kind="passport",
        side="single",
        upload=SimpleUploadedFile("my passport.png", data, content_type="image/png"),
        actor=people.carl,
    )
    path = private_root / document.file
    assert path.parent == private_root / "kyc" / "t_alpha"
    stored = path.read_bytes()
    assert stored != data and data[100:200] not in stored
    assert storage.file_read(document.file) == data
    assert (document.status, document.original_name, document.content_type, document.size) == (
        Status.CHECKING,
        "my passport.png",
        "image/png",
        len(data),
    )
    assert AuditRecord.objects.filter(action="kyc.document.uploaded").count() == 1
    assert TimelineEvent.objects.get(topic="kyc.document_uploaded").title == "KYC: passport (single page) uploaded"
    assert OutboxEvent.objects.get(topic="kyc.document_uploaded").payload["document_id"] == document.pk


def test_another_tenant_cannot_read_the_stored_file(people, beta):
    document = document_upload(
        client=people.client, kind="selfie", side="single", upload=photo("me.jpg"), actor=people.carl
    )
    with tenant_context(beta), pytest.raises(FileNotFoundError):
        storage.file_read(document.file)


def test_a_bad_file_is_refused_and_nothing_is_stored(people, private_root):
    bad = SimpleUploadedFile(
        "passport.jpg", b"<html><script>alert(1)</script>" + b" " * 2000, content_type="image/jpeg"
    )
    with pytest.raises(ApplicationError) as caught:
        document_upload(client=people.client, kind="passport", side="single", upload=bad, actor=people.carl)
    assert (
        caught.value.message == "passport.jpg: The file is a web page (HTML), not a JPEG, PNG or WebP photo or a PDF."
    )
    assert not Document.objects.exists()
    assert not private_root.exists() or not any(private_root.rglob("*.bin"))


def test_a_selfie_must_be_a_photo(people):
    pdf = SimpleUploadedFile("me.pdf", pdf_bytes(), content_type="application/pdf")
    with pytest.raises(ApplicationError, match="me.pdf: A selfie must be a photo"):
        document_upload(client=people.client, kind="selfie", side="single", upload=pdf, actor=people.carl)


def test_a_side_the_kind_does_not_have_is_refused(people):
    with pytest.raises(ApplicationError, match="A passport is uploaded as: single page."):
        document_upload(client=people.client, kind="passport", side="front", upload=photo(), actor=people.carl)


def test_a_client_cannot_upload_for_another_client(people):
    other = factories.ClientFactory()
    with pytest.raises(PermissionDenied):
        document_upload(client=other, kind="passport", side="single", upload=photo(), actor=people.carl)
    assert not Document.objects.exists()


def test_a_valid_passport_passes_and_fills_number_country_and_expiry(people, django_capture_on_commit_callbacks):
    document = upload_checked(
        django_capture_on_commit_callbacks,
        client=people.client,
        kind="passport",
        side="single",
        upload=photo(),
        actor=people.carl,
        mrz_text=valid_passport_zone().lower().replace("<<", "«"),
    )
    assert (document.status, document.status_reason) == (Status.PASSED, "Every automatic check passed.")
    assert (document.document_number, document.issuing_country) == ("AA1234567", "SWE")
    assert document.expires_on > timezone.localdate()
    checks = list(document.checks.values_list("name", "outcome"))
    assert checks == [
        ("file", "pass"),
        ("mrz", "pass"),
        ("name", "pass"),
        ("date_of_birth", "pass"),
        ("nationality", "pass"),
        ("expiry", "pass"),
    ]
    assert document.checks.get(name="file").evidence == {
        "type": "JPEG image",
        "content_type": "image/jpeg",
        "size": document.size,
        "width": 240,
        "height": 160,
    }
    assert requirement_states(people.client)["identity"].state == "met"


def test_the_expired_specimen_fails_and_says_why(people, django_capture_on_commit_callbacks):
    from tests.kyc.test_mrz import TD3_SPECIMEN

    document = upload_checked(
        django_capture_on_commit_callbacks,
        client=people.client,
        kind="passport",
        side="single",
        upload=photo(),
        actor=people.carl,
        mrz_text=TD3_SPECIMEN,
    )
    assert document.status == Status.FAILED
    assert document.status_reason == "The document expired on 15 Apr 2012."
    assert document.checks.get(name="nationality").outcome == "warn"
    assert "expired on 15 Apr 2012" in requirement_states(people.client)["identity"].detail


def test_a_passport_without_an_mrz_needs_a_review_and_only_staff_read_the_detail(
    people, django_capture_on_commit_callbacks
):
    document = upload_checked(
        django_capture_on_commit_callbacks,
        client=people.client,
        kind="passport",
        side="single",
        upload=photo(),
        actor=people.carl,
    )
    assert (document.status, document.status_reason) == (
        Status.NEEDS_REVIEW,
        "Our team will check this document by hand.",
    )
    assert (
        document.checks.get(name="mrz").summary == "No MRZ was given: staff to compare the document with the profile."
    )
    assert requirement_states(people.client)["identity"].detail == "Your passport is being checked"


def test_a_selfie_always_goes_to_a_person(people, django_capture_on_commit_callbacks):
    document = upload_checked(
        django_capture_on_commit_callbacks,
        client=people.client,
        kind="selfie",
        side="single",
        upload=photo("me.jpg"),
        actor=people.carl,
    )
    assert document.status == Status.NEEDS_REVIEW
    assert list(document.checks.values_list("name", "outcome")) == [("file", "pass"), ("face", "warn")]


def test_a_recent_bill_with_name_and_address_passes_and_one_without_text_needs_a_review(
    people, django_capture_on_commit_callbacks
):
    bill = SimpleUploadedFile("bill.pdf", pdf_bytes(), content_type="application/pdf")
    recent = timezone.localdate() - timedelta(days=20)
    document = upload_checked(
        django_capture_on_commit_callbacks,
        client=people.client,
        kind="proof_of_address",
        side="single",
        upload=bill,
        actor=people.carl,
        issued_on=recent,
        address_text="Electricity bill\nMs Anna Eriksson\n14 Station Road\nCambridge CB1 2JD",
    )
    assert document.status == Status.PASSED
    assert document.checks.get(name="file").evidence["pages"] == 1
    bill.seek(0)
    again = upload_checked(
        django_capture_on_commit_callbacks,
        client=people.client,
        kind="proof_of_address",
        side="single",
        upload=bill,
        actor=people.carl,
        issued_on=recent,
    )
    assert (again.status, again.status_reason) == (Status.NEEDS_REVIEW, "Our team will check this document by hand.")
    assert (
        again.checks.get(name="name_and_address").summary
        == "No text of the document was given: staff to confirm the name and address."
    )


def test_an_old_bill_fails(people, django_capture_on_commit_callbacks):
    old = months_before(timezone.localdate(), 4)
    document = upload_checked(
        django_capture_on_commit_callbacks,
        client=people.client,
        kind="proof_of_address",
        side="single",
        upload=SimpleUploadedFile("bill.pdf", pdf_bytes(), content_type="application/pdf"),
        actor=people.carl,
        issued_on=old,
        address_text="Anna Eriksson, 14 Station Road, Cambridge CB1 2JD",
    )
    assert document.status == Status.FAILED
    assert "more than 3 months ago" in document.status_reason


@pytest.mark.parametrize(
    ("side", "issued_days_ago", "expires_in_days", "status", "reason"),
    [
        ("front", None, 400, Status.PASSED, "Every automatic check passed."),
        ("front", 700, 400, Status.PASSED, "Every automatic check passed."),
        ("front", None, -1, Status.FAILED, "The document expired on {expires:%d %b %Y}."),
        ("front", None, None, Status.NEEDS_REVIEW, "Our team will check this document by hand."),
        ("back", None, None, Status.PASSED, "Every automatic check passed."),
        (
            "front",
            -3,
            400,
            Status.FAILED,
            "The issue date you gave ({issued:%d %b %Y}) is in the future. Check the date printed on the licence.",
        ),
        (
            "back",
            -3,
            None,
            Status.FAILED,
            "The issue date you gave ({issued:%d %b %Y}) is in the future. Check the date printed on the licence.",
        ),
        (
            "front",
            10,
            -30,
            Status.FAILED,
            "The issue date you gave ({issued:%d %b %Y}) is not before the expiry date ({expires:%d %b %Y}). "
            "Check the dates printed on the licence. The document expired on {expires:%d %b %Y}.",
        ),
    ],
)
def test_a_driving_licence_is_checked_on_its_issue_and_expiry_dates(
    people, django_capture_on_commit_callbacks, side, issued_days_ago, expires_in_days, status, reason
):
    today = timezone.localdate()
    issued_on = None if issued_days_ago is None else today - timedelta(days=issued_days_ago)
    expires_on = None if expires_in_days is None else today + timedelta(days=expires_in_days)
    document = upload_checked(
        django_capture_on_commit_callbacks,
        client=people.client,
        kind="driving_licence",
        side=side,
        upload=photo("licence.jpg"),
        actor=people.carl,
        issued_on=issued_on,
        expires_on=expires_on,
    )
    assert (document.status, document.status_reason) == (status, reason.format(issued=issued_on, expires=expires_on))
    if issued_on:
        assert document.checks.get(name="issue_date").evidence["issued_on"] == issued_on.isoformat()


def test_a_new_upload_replaces_the_previous_one_of_the_same_kind_and_side_only(people):
    kwargs = {"client": people.client, "actor": people.carl}
    front = document_upload(kind="id_card", side="front", upload=photo("front.jpg"), **kwargs)
    back = document_upload(kind="id_card", side="back", upload=photo("back.jpg"), **kwargs)
    new_front = document_upload(kind="id_card", side="front", upload=photo("front2.jpg"), **kwargs)
    statuses = dict(Document.objects.values_list("pk", "status"))
    assert statuses == {front.pk: Status.REPLACED, back.pk: Status.CHECKING, new_front.pk: Status.CHECKING}
    assert AuditRecord.objects.filter(action="kyc.document.uploaded").order_by("pk").last().after["replaced"] == [
        front.pk
    ]
    # A replaced document is never checked.
    assert document_check_now(front.pk) is False
    assert Document.objects.get(pk=front.pk).status == Status.REPLACED


def level_one_ready(client) -> None:
    """Everything the Basic level asks for but the identity document."""
    FinancialProfile.objects.create(client=client, tax_residence="SE", completed_at=timezone.now())
    questionnaire = Questionnaire.objects.filter(is_active=True).order_by("-version").first()
    QuestionnaireAnswer.objects.create(
        client=client, questionnaire=questionnaire, answers={}, score=questionnaire.pass_score, passed=True
    )


def passport(django_capture_on_commit_callbacks, people, mrz_text: str = "", name: str = "passport.jpg"):
    return upload_checked(
        django_capture_on_commit_callbacks,
        client=people.client,
        kind="passport",
        side="single",
        upload=photo(name),
        actor=people.carl,
        mrz_text=mrz_text,
    )


def test_a_failed_re_upload_keeps_the_passport_that_passed_and_the_level(people, django_capture_on_commit_callbacks):
    from tests.kyc.test_mrz import TD3_SPECIMEN

    level_one_ready(people.client)
    good = passport(django_capture_on_commit_callbacks, people, valid_passport_zone())
    assert good.status == Status.PASSED
    assert client_level(people.client).name == "Basic"

    bad = passport(django_capture_on_commit_callbacks, people, TD3_SPECIMEN, name="new.jpg")

    assert bad.status == Status.FAILED
    good.refresh_from_db()
    assert good.status == Status.PASSED  # still in force
    identity = requirement_states(people.client)["identity"]
    assert identity.state == "met"
    # What to fix in the newer upload is still shown.
    assert identity.detail == (
        "Passport accepted; your newer upload was not accepted: "
        "Passport (single page): The document expired on 15 Apr 2012."
    )
    assert client_level(people.client).name == "Basic"
    assert AuditRecord.objects.filter(action="kyc.document.uploaded").order_by("pk").last().after["replaced"] == []

    newest = passport(django_capture_on_commit_callbacks, people, valid_passport_zone(), name="newest.jpg")

    assert newest.status == Status.PASSED
    statuses = dict(Document.objects.values_list("pk", "status"))
    assert statuses == {good.pk: Status.REPLACED, bad.pk: Status.REPLACED, newest.pk: Status.PASSED}
    checked = AuditRecord.objects.filter(action="kyc.document.checked", object_id=str(newest.pk)).get()
    assert checked.after["replaced"] == [good.pk]
    assert requirement_states(people.client)["identity"].detail == "Passport accepted"


def test_a_re_upload_waiting_for_a_person_replaces_the_good_one_only_once_staff_accept_it(
    people, django_capture_on_commit_callbacks
):
    level_one_ready(people.client)
    good = passport(django_capture_on_commit_callbacks, people, valid_passport_zone())
    waiting = passport(django_capture_on_commit_callbacks, people, name="no-mrz.jpg")

    assert waiting.status == Status.NEEDS_REVIEW
    good.refresh_from_db()
    assert good.status == Status.PASSED
    assert requirement_states(people.client)["identity"].state == "met"
    assert client_level(people.client).name == "Basic"

    document_accept(waiting, people.rita)

    good.refresh_from_db()
    assert (good.status, good.status_reason) == (Status.REPLACED, "Replaced by a newer upload.")
    assert AuditRecord.objects.get(action="kyc.document.accepted").after["replaced"] == [good.pk]
    assert requirement_states(people.client)["identity"].state == "met"


def test_a_rejected_re_upload_keeps_the_accepted_one(people, django_capture_on_commit_callbacks):
    first = upload_checked(
        django_capture_on_commit_callbacks,
        client=people.client,
        kind="selfie",
        side="single",
        upload=photo("me.jpg"),
        actor=people.carl,
    )
    document_accept(first, people.rita)
    second = upload_checked(
        django_capture_on_commit_callbacks,
        client=people.client,
        kind="selfie",
        side="single",
        upload=photo("me2.jpg"),
        actor=people.carl,
    )
    document_reject(second, people.rita, "Your face is not visible.")

    first.refresh_from_db()
    assert first.status == Status.ACCEPTED
    selfie = requirement_states(people.client)["selfie"]
    assert (selfie.state, selfie.detail) == (
        "met",
        "Selfie accepted; your newer upload was not accepted: Selfie (single page): Your face is not visible.",
    )


def test_each_side_keeps_its_good_upload_until_that_side_is_good_again(people, django_capture_on_commit_callbacks):
    def card(side: str, expires_in_days: int) -> Document:
        return upload_checked(
            django_capture_on_commit_callbacks,
            client=people.client,
            kind="driving_licence",
            side=side,
            upload=photo(f"{side}.jpg"),
            actor=people.carl,
            expires_on=timezone.localdate() + timedelta(days=expires_in_days),
        )

    front, back = card("front", 400), card("back", 400)
    expired_front = card("front", -1)
    assert expired_front.status == Status.FAILED
    assert set(Document.objects.values_list("status", flat=True)) == {Status.PASSED, Status.FAILED}
    assert requirement_states(people.client)["identity"].state == "met"

    new_front = card("front", 800)

    statuses = dict(Document.objects.values_list("pk", "status"))
    assert statuses == {
        front.pk: Status.REPLACED,
        back.pk: Status.PASSED,
        expired_front.pk: Status.REPLACED,
        new_front.pk: Status.PASSED,
    }


def test_without_a_good_upload_the_newest_failure_is_what_is_missing(people, django_capture_on_commit_callbacks):
    from tests.kyc.test_mrz import TD3_SPECIMEN

    first = passport(django_capture_on_commit_callbacks, people, TD3_SPECIMEN)
    second = passport(django_capture_on_commit_callbacks, people, TD3_SPECIMEN.replace("L898902C3", "L898902C4"))
    first.refresh_from_db()
    assert first.status == Status.REPLACED  # a failed upload does not wait for anything
    identity = requirement_states(people.client)["identity"]
    assert identity.state == "missing"
    assert "Passport (single page): " + second.status_reason in identity.detail
    assert identity.detail.endswith("Upload a passport, or both sides of an identity card or driving licence.")


def test_the_check_task_is_idempotent(people):
    document = document_upload(
        client=people.client, kind="selfie", side="single", upload=photo("me.jpg"), actor=people.carl
    )
    assert document_check.delay(document.pk).get() is True
    document.refresh_from_db()
    checked_at = document.checked_at
    assert document_check.delay(document.pk).get() is False
    document.refresh_from_db()
    assert (document.checked_at, document.checks.count()) == (checked_at, 2)
    assert AuditRecord.objects.filter(action="kyc.document.checked").count() == 1
    assert document_check.delay(999999).get() is False


def test_a_broker_outage_leaves_the_document_for_the_sweep(people, monkeypatch, django_capture_on_commit_callbacks):
    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(document_check, "delay", broker_down)
    document = upload_checked(
        django_capture_on_commit_callbacks,
        client=people.client,
        kind="selfie",
        side="single",
        upload=photo("me.jpg"),
        actor=people.carl,
    )
    assert document.status == Status.CHECKING
    assert documents.documents_checking_sweep() == 0  # too recent: the task may still come
    assert documents.documents_checking_sweep(older_than=timedelta(0)) == 1
    document.refresh_from_db()
    assert document.status == Status.NEEDS_REVIEW


def test_a_lost_stored_file_fails_its_check_instead_of_retrying_forever(people, private_root):
    document = document_upload(
        client=people.client, kind="selfie", side="single", upload=photo("me.jpg"), actor=people.carl
    )
    (private_root / document.file).unlink()
    assert document_check_now(document.pk) is True
    document.refresh_from_db()
    assert (document.status, document.status_reason) == (
        Status.FAILED,
        "We could not read the stored file. Upload it again.",
    )


def test_a_reviewer_accepts_a_document_that_needs_a_review(people, django_capture_on_commit_callbacks):
    document = upload_checked(
        django_capture_on_commit_callbacks,
        client=people.client,
        kind="selfie",
        side="single",
        upload=photo("me.jpg"),
        actor=people.carl,
    )
    document_accept(document, people.rita)
    document.refresh_from_db()
    assert (document.status, document.reviewed_by, document.rejection_reason) == (Status.ACCEPTED, people.rita, "")
    assert AuditRecord.objects.filter(action="kyc.document.accepted").count() == 1
    assert requirement_states(people.client)["selfie"].state == "met"


def test_a_rejection_needs_a_reason_which_the_client_then_reads(people, django_capture_on_commit_callbacks):
    document = upload_checked(
        django_capture_on_commit_callbacks,
        client=people.client,
        kind="selfie",
        side="single",
        upload=photo("me.jpg"),
        actor=people.carl,
    )
    with pytest.raises(ApplicationError, match="Say why"):
        document_reject(document, people.rita, "  ")
    document_reject(document, people.rita, "Your face is not visible: take the photo in daylight.")
    document.refresh_from_db()
    assert (document.status, document.rejection_reason) == (
        Status.REJECTED,
        "Your face is not visible: take the photo in daylight.",
    )
    assert requirement_states(people.client)["selfie"].detail.startswith(
        "We could not accept your upload. Selfie (single page): Your face is not visible: take the photo in daylight."
    )


def test_staff_without_kyc_review_cannot_decide_and_nothing_changes(people):
    document = document_upload(
        client=people.client, kind="selfie", side="single", upload=photo("me.jpg"), actor=people.carl
    )
    Document.objects.filter(pk=document.pk).update(status=Status.NEEDS_REVIEW)
    with pytest.raises(PermissionDenied):
        document_accept(document, people.sam)
    with pytest.raises(PermissionDenied):
        document_reject(document, people.carl, "no")
    assert Document.objects.get(pk=document.pk).status == Status.NEEDS_REVIEW
    assert not AuditRecord.objects.filter(action__in=["kyc.document.accepted", "kyc.document.rejected"]).exists()


def test_a_reviewer_who_may_not_see_the_client_gets_a_404(people):
    from django.contrib.auth.models import Permission

    people.sam.user_permissions.add(Permission.objects.get(codename="kyc_review"))
    document = document_upload(
        client=people.client, kind="selfie", side="single", upload=photo("me.jpg"), actor=people.carl
    )
    Document.objects.filter(pk=document.pk).update(status=Status.NEEDS_REVIEW)
    with pytest.raises(Http404):
        document_accept(document, type(people.sam).objects.get(pk=people.sam.pk))


def test_a_replaced_or_unchecked_document_cannot_be_decided(people):
    document = document_upload(
        client=people.client, kind="selfie", side="single", upload=photo("me.jpg"), actor=people.carl
    )
    with pytest.raises(ApplicationError, match="can no longer be accepted: it is being checked"):
        document_accept(document, people.alice)
    document_upload(client=people.client, kind="selfie", side="single", upload=photo("me2.jpg"), actor=people.carl)
    with pytest.raises(ApplicationError, match="it is replaced by a newer upload"):
        document_reject(document, people.alice, "blurred")


def test_checks_are_stored_once_per_document(people, django_capture_on_commit_callbacks):
    document = upload_checked(
        django_capture_on_commit_callbacks,
        client=people.client,
        kind="selfie",
        side="single",
        upload=photo("me.jpg"),
        actor=people.carl,
    )
    document_check_now(document.pk)
    assert DocumentCheck.objects.filter(document=document).count() == 2


def test_stored_names_are_random_and_unguessable(people):
    first = document_upload(
        client=people.client, kind="selfie", side="single", upload=photo("me.jpg"), actor=people.carl
    )
    second = document_upload(
        client=people.client, kind="selfie", side="single", upload=photo("me.jpg"), actor=people.carl
    )
    assert first.file != second.file
    assert Path(first.file).name.endswith(".bin") and len(Path(first.file).stem) == 32
