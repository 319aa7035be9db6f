"""/api/v1/ for KYC: a client's file, uploads for them, the review queue; who may, and the tenant line.

Personas in alpha: Alice the owner, Rita support (kyc_review), Sam a sales agent (no kyc_review),
Vic a sales agent granted kyc_review (sees only his own clients), Carl a client. Bob owns beta.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.models import IdempotencyRecord
from crm.models import Client
from kyc.models import Document, Review, RiskAssessment
from tests import factories
from tests.kyc.test_uploads import image_bytes
from tests.tenants.web import api_client, tenant_web_client

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def private_root(tmp_path, settings, monkeypatch):
    root = tmp_path / "private"
    settings.BROKERAGE_PRIVATE_ROOT = root
    monkeypatch.setenv("BROKERAGE_PRIVATE_ROOT", str(root))
    return root


@pytest.fixture
def people(alpha, alice, carl):
    with tenant_context(alpha):
        rita = factories.staff_user("rita@alpha.test", roles=["support"])
        sam = factories.staff_user("sam@alpha.test", roles=["sales"])
        vic = factories.staff_user("vic@alpha.test", roles=["sales"])
        vic.user_permissions.add(Permission.objects.get(content_type__app_label="brokerage", codename="kyc_review"))
        client = factories.ClientFactory(first_name="Jo", last_name="Filer", sales_agent=sam)
        RiskAssessment.objects.create(
            client=client,
            score=35,
            level="medium",
            trigger="test",
            reasons=[{"factor": "country", "points": 20, "text": "Resident in a higher-risk country"}],
        )
        Document.objects.create(
            client=client,
            kind="passport",
            file="x",
            original_name="passport.jpg",
            content_type="image/jpeg",
            size=1200,
            sha256="0" * 64,
            status="accepted",
        )
        Document.objects.create(
            client=client,
            kind="passport",
            file="y",
            original_name="old.jpg",
            content_type="image/jpeg",
            size=1200,
            sha256="1" * 64,
            status="replaced",
        )
        review = Review.objects.create(client=client, reasons=["Selfie needs a look"])
    return type(
        "People",
        (),
        {"alice": alice, "rita": rita, "sam": sam, "vic": vic, "carl": carl, "client": client, "review": review},
    )


def photo(name: str = "passport.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes("JPEG"), content_type="image/jpeg")


# --- permissions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"), [("anonymous", 401), ("carl", 403), ("sam", 403), ("rita", 200), ("alice", 200)]
)
def test_who_may_read_a_clients_kyc_file(alpha, people, who, expected):
    http = tenant_web_client(alpha) if who == "anonymous" else api_client(alpha, getattr(people, who))
    assert http.get(f"/api/v1/clients/{people.client.pk}/kyc/").status_code == expected
    assert http.get("/api/v1/kyc/reviews/").status_code == expected


def test_the_file_says_status_level_requirements_risk_and_current_documents(alpha, people):
    response = api_client(alpha, people.rita).get(f"/api/v1/clients/{people.client.pk}/kyc/")
    body = response.json()
    assert body["client_id"] == people.client.pk
    assert body["kyc_status"] == "not_started"
    assert [r["code"] for r in body["requirements"]] == [
        "profile", "questionnaire", "identity", "address", "selfie", "approval",
    ]  # fmt: skip
    identity = next(r for r in body["requirements"] if r["code"] == "identity")
    assert identity["state"] == "met"
    assert body["risk"]["level"] == "medium" and body["risk"]["score"] == 35
    assert body["risk"]["reasons"] == [{"factor": "country", "points": 20, "text": "Resident in a higher-risk country"}]
    assert body["open_review_id"] == people.review.pk
    assert [(d["kind"], d["status"], d["original_name"]) for d in body["documents"]] == [
        ("passport", "accepted", "passport.jpg")
    ]


def test_a_reviewer_limited_to_their_own_clients_gets_404_for_others(alpha, people):
    vic = api_client(alpha, people.vic)
    assert vic.get(f"/api/v1/clients/{people.client.pk}/kyc/").status_code == 404
    upload = vic.post(
        f"/api/v1/clients/{people.client.pk}/kyc/documents/",
        {"kind": "passport", "upload": photo()},
        headers={"Idempotency-Key": "vic-1"},
    )
    assert upload.status_code == 404
    assert vic.get("/api/v1/kyc/reviews/").json()["results"] == []
    with tenant_context(alpha):
        Client.objects.filter(pk=people.client.pk).update(sales_agent=people.vic)
    assert vic.get(f"/api/v1/clients/{people.client.pk}/kyc/").status_code == 200


def test_another_tenants_owner_reaches_nothing_of_alpha(alpha, beta, bob, people):
    bob_http = api_client(beta, bob)
    assert bob_http.get(f"/api/v1/clients/{people.client.pk}/kyc/").status_code == 404
    assert bob_http.get("/api/v1/kyc/reviews/").json()["results"] == []
    # alpha's token means nothing on beta's domain
    with tenant_context(alpha):
        from rest_framework.authtoken.models import Token

        token, _ = Token.objects.get_or_create(user=people.alice)
    from tests.tenants.web import web_client

    stranger = web_client("beta.localhost", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert stranger.get(f"/api/v1/clients/{people.client.pk}/kyc/").status_code == 401


# --- uploads ----------------------------------------------------------------------------------------


def test_a_reviewer_uploads_a_document_for_the_client_once_per_key(alpha, people, django_capture_on_commit_callbacks):
    http = api_client(alpha, people.rita)
    url = f"/api/v1/clients/{people.client.pk}/kyc/documents/"
    with django_capture_on_commit_callbacks():
        first = http.post(
            url, {"kind": "id_card", "side": "front", "upload": photo("card.jpg")}, headers={"Idempotency-Key": "up-1"}
        )
    assert first.status_code == 201
    assert (first.json()["kind"], first.json()["side"], first.json()["original_name"]) == (
        "id_card",
        "front",
        "card.jpg",
    )
    again = http.post(
        url, {"kind": "id_card", "side": "front", "upload": photo("card.jpg")}, headers={"Idempotency-Key": "up-1"}
    )
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    with tenant_context(alpha):
        uploaded = Document.objects.get(client=people.client, kind="id_card")
        assert uploaded.uploaded_by == people.rita


def test_an_upload_without_an_idempotency_key_is_refused(alpha, people):
    http = api_client(alpha, people.rita)
    response = http.post(f"/api/v1/clients/{people.client.pk}/kyc/documents/", {"kind": "passport", "upload": photo()})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {"kind": "passport", "upload": SimpleUploadedFile("p.jpg", b"<html><script>x</script>" + b" " * 3000)},
            "upload",
        ),
        ({"kind": "passport", "upload": SimpleUploadedFile("empty.jpg", b"")}, "upload"),
        ({"kind": "passport"}, "upload"),
        ({"kind": "tax_return", "upload": "photo"}, "kind"),
        ({"kind": "id_card", "side": "single", "upload": "photo"}, "side"),
        ({"kind": "passport", "upload": "photo", "issued_on": "yesterday"}, "issued_on"),
    ],
)
def test_a_bad_upload_is_a_400_with_a_field_map_and_leaves_nothing(alpha, people, data, field):
    http = api_client(alpha, people.rita)
    data = {key: photo() if value == "photo" else value for key, value in data.items()}
    response = http.post(
        f"/api/v1/clients/{people.client.pk}/kyc/documents/", data, headers={"Idempotency-Key": f"bad-{field}"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["fields"] and error["message"]
    with tenant_context(alpha):
        assert Document.objects.filter(client=people.client).count() == 2  # the two from the fixture
        assert not IdempotencyRecord.objects.filter(key=f"bad-{field}").exists()  # a corrected retry may use it


def test_a_sales_agent_without_kyc_review_cannot_upload(alpha, people):
    response = api_client(alpha, people.sam).post(
        f"/api/v1/clients/{people.client.pk}/kyc/documents/",
        {"kind": "passport", "upload": photo()},
        headers={"Idempotency-Key": "sam-1"},
    )
    assert response.status_code == 403
    with tenant_context(alpha):
        assert Document.objects.filter(client=people.client).count() == 2


# --- the review queue ---------------------------------------------------------------------------------


def test_the_queue_lists_open_reviews_oldest_first_by_cursor(alpha, people):
    with tenant_context(alpha):
        now = timezone.now()
        Review.objects.filter(pk=people.review.pk).update(opened_at=now - timedelta(days=3))
        clients = factories.ClientFactory.create_batch(50)
        for index, client in enumerate(clients):
            review = Review.objects.create(client=client, reasons=[f"r{index}"])
            Review.objects.filter(pk=review.pk).update(opened_at=now - timedelta(hours=50 - index))
        decided = Review.objects.create(client=factories.ClientFactory(), status=Review.Status.APPROVED)
    http = api_client(alpha, people.rita)
    first = http.get("/api/v1/kyc/reviews/").json()
    assert len(first["results"]) == 50
    assert first["results"][0]["id"] == people.review.pk
    assert first["results"][0]["client_name"] == "Jo Filer"
    assert first["results"][0]["reasons"] == ["Selfie needs a look"]
    second = http.get(first["next"]).json()
    assert [r["reasons"] for r in second["results"]] == [["r49"]]
    assert second["next"] is None
    listed = {r["id"] for r in first["results"] + second["results"]}
    assert decided.pk not in listed and len(listed) == 51


# --- schema -------------------------------------------------------------------------------------------


def test_the_openapi_schema_with_the_kyc_endpoints_validates_without_warnings(capsys):
    call_command("spectacular", "--validate", "--fail-on-warn")
    schema = capsys.readouterr().out
    assert "/api/v1/clients/{client_id}/kyc/documents/" in schema
    assert "/api/v1/kyc/reviews/" in schema
    assert "DocumentKindEnum" in schema
