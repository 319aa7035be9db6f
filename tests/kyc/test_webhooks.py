"""KYC vendors' webhooks at /kyc/webhooks/<provider>/: signatures over raw bytes, verdicts applied
through the review path, duplicates, and the tenant line."""

from __future__ import annotations

import json
import logging

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from brokerage.models import AuditRecord
from crm.models import Client, Email
from kyc.adapters import http as vendor_http
from kyc.adapters.services import client_reference, vendor_approved, verification_start
from kyc.models import Document, DocumentRequest, Review, VendorEvent
from tests import factories
from tests.kyc.screening_support import file_complete
from tests.kyc.support_vendors import (
    SECRETS,
    onfido_body,
    onfido_headers,
    post,
    sumsub_body,
    sumsub_headers,
    vendor_use,
)
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db
KycStatus = Client.KycStatus
SECRET = SECRETS["alpha"]


@pytest.fixture
def dora(in_alpha):
    """An alpha client who submitted her complete file and verified with the vendor: pending, with an
    open review."""
    client = file_complete(
        factories.ClientFactory(
            first_name="Dora", last_name="Vendor", kyc_status=KycStatus.PENDING, risk_level=Client.RiskLevel.LOW
        )
    )
    Review.objects.create(client=client, reasons=["Waiting for the vendor"])
    return client


@pytest.fixture
def http(alpha):
    return tenant_web_client(alpha)


def _nothing_written(client: Client, status: str = KycStatus.PENDING) -> None:
    assert not VendorEvent.objects.exists()
    assert not AuditRecord.objects.filter(action__startswith="kyc.").exists()
    client.refresh_from_db()
    assert client.kyc_status == status


# --- Sumsub ------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["HMAC_SHA256_HEX", "HMAC_SHA512_HEX", "HMAC_SHA1_HEX"])
def test_a_signed_sumsub_green_approves_the_client_through_the_review(dora, http, algorithm):
    vendor_use("sumsub", secret=SECRET)
    body = sumsub_body(client_reference(dora))
    response = post(http, "sumsub", body, sumsub_headers(body, SECRET, algorithm))
    assert response.status_code == 200
    assert response.json()["outcome"] == "applied"
    dora.refresh_from_db()
    assert dora.kyc_status == KycStatus.APPROVED
    review = Review.objects.get(client=dora)
    assert (review.status, review.decided_by) == (Review.Status.APPROVED, None)
    event = VendorEvent.objects.get()
    assert (event.provider, event.event_id, event.event_type, event.client) == (
        "sumsub", "req-1", "applicantReviewed", dora,
    )  # fmt: skip
    assert event.outcome == VendorEvent.Outcome.APPLIED
    audit = AuditRecord.objects.get(action="kyc.vendor.verdict_applied")
    assert audit.actor_id is None
    assert audit.before == {"kyc_status": "pending"}
    assert audit.after["kyc_status"] == "approved" and audit.after["event_id"] == "req-1"


def test_a_bare_client_id_as_external_user_id_names_no_client(dora, http):
    """Only "<schema>:<id>" names a client: a bare id names no tenant, so it is stored as unknown."""
    vendor_use("sumsub", secret=SECRET)
    body = sumsub_body(str(dora.pk))
    response = post(http, "sumsub", body, sumsub_headers(body, SECRET))
    assert (response.status_code, response.json()["outcome"]) == (200, "unknown_client")
    assert VendorEvent.objects.get().client is None
    dora.refresh_from_db()
    assert dora.kyc_status == KycStatus.PENDING
    assert Review.objects.get(client=dora).status == Review.Status.OPEN


def test_a_final_rejection_rejects_with_the_vendors_reason_for_the_client(dora, http):
    vendor_use("sumsub", secret=SECRET)
    body = sumsub_body(
        client_reference(dora),
        answer="RED",
        reject_type="FINAL",
        labels=["FORGERY"],
        moderation="The document is not genuine.",
    )
    assert post(http, "sumsub", body, sumsub_headers(body, SECRET)).status_code == 200
    dora.refresh_from_db()
    assert dora.kyc_status == KycStatus.REJECTED
    review = Review.objects.get(client=dora)
    assert review.status == Review.Status.REJECTED
    assert review.client_message == "The document is not genuine."
    email = Email.objects.filter(client=dora).latest("id")
    assert "The document is not genuine." in email.body
    assert "Internal" not in email.body  # Sumsub's clientComment is for staff only
    assert (
        "Sumsub comment: Internal: document looks edited."
        in AuditRecord.objects.get(action="kyc.vendor.verdict_applied").after["reasons"]
    )


def test_a_retry_rejection_asks_the_client_for_new_documents(dora, http):
    vendor_use("sumsub", secret=SECRET)
    body = sumsub_body(
        client_reference(dora),
        answer="RED",
        reject_type="RETRY",
        labels=["BAD_SELFIE"],
        moderation="Your selfie is blurred: please take a new one.",
    )
    assert post(http, "sumsub", body, sumsub_headers(body, SECRET)).status_code == 200
    dora.refresh_from_db()
    assert dora.kyc_status == KycStatus.DOCUMENTS_REQUESTED
    request = DocumentRequest.objects.get(client=dora)
    assert request.kinds == ["selfie"]
    assert request.message == "Your selfie is blurred: please take a new one."
    assert Review.objects.get(client=dora).status == Review.Status.DOCUMENTS_REQUESTED


def test_a_pending_notice_is_stored_and_changes_nothing(dora, http):
    vendor_use("sumsub", secret=SECRET)
    body = sumsub_body(client_reference(dora), event_type="applicantPending", correlation="req-pending")
    response = post(http, "sumsub", body, sumsub_headers(body, SECRET))
    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")
    dora.refresh_from_db()
    assert dora.kyc_status == KycStatus.PENDING
    assert not AuditRecord.objects.filter(action="kyc.vendor.verdict_applied").exists()


def test_a_vendor_approval_of_a_high_risk_client_waits_for_two_officers(dora, http):
    Client.objects.filter(pk=dora.pk).update(risk_level=Client.RiskLevel.HIGH)
    vendor_use("sumsub", secret=SECRET)
    body = sumsub_body(client_reference(dora))
    response = post(http, "sumsub", body, sumsub_headers(body, SECRET))
    assert response.status_code == 200
    assert "left for a person" in response.json()["detail"]
    dora.refresh_from_db()
    assert dora.kyc_status == KycStatus.PENDING
    review = Review.objects.get(client=dora)
    assert review.status == Review.Status.OPEN
    assert any("two compliance officers" in reason for reason in review.reasons)


def test_an_event_about_no_client_of_ours_is_stored_as_unknown(dora, http):
    vendor_use("sumsub", secret=SECRET)
    body = sumsub_body(f"{connection.schema_name}:999999")
    response = post(http, "sumsub", body, sumsub_headers(body, SECRET))
    assert (response.status_code, response.json()["outcome"]) == (200, "unknown_client")
    assert VendorEvent.objects.get().client is None
    dora.refresh_from_db()
    assert dora.kyc_status == KycStatus.PENDING


@pytest.mark.parametrize("reference", ["t_beta:{pk}", "t_alpha:" + "9" * 40, "t_alpha:{pk}0x"])
def test_a_reference_from_another_tenants_schema_or_out_of_range_names_no_client(dora, http, reference):
    vendor_use("sumsub", secret=SECRET)
    body = sumsub_body(reference.format(pk=dora.pk))  # beta's schema with our id; not an id at all
    assert post(http, "sumsub", body, sumsub_headers(body, SECRET)).json()["outcome"] == "unknown_client"
    dora.refresh_from_db()
    assert dora.kyc_status == KycStatus.PENDING


# --- Onfido ------------------------------------------------------------------------------------


@pytest.fixture
def fake_onfido(monkeypatch):
    """Onfido's API as far as we use it: applicants, SDK tokens, reading a check."""
    calls = []

    def http_json(method, url, *, headers, body=None):
        calls.append((method, url, headers, json.loads(body) if body else None))
        if url.endswith("/applicants/"):
            return {"id": "onf-applicant-1"}
        if url.endswith("/sdk_token"):
            return {"token": "sdk-token"}
        if "/checks/" in url:
            return {"id": url.rsplit("/", 1)[1], "applicant_id": "onf-applicant-1", "result": "consider"}
        raise AssertionError(url)

    monkeypatch.setattr(vendor_http, "http_json", http_json)
    return calls


def test_an_onfido_clear_check_approves_the_client_of_the_stored_applicant(dora, http, alice, fake_onfido):
    vendor_use("onfido", secret=SECRET, api_token="onfido-api-token")
    start = verification_start(client=dora, actor=alice)
    assert start.applicant_id == "onf-applicant-1"
    body = onfido_body(applicant="onf-applicant-1")
    response = post(http, "onfido", body, onfido_headers(body, SECRET))
    assert (response.status_code, response.json()["outcome"]) == (200, "applied")
    dora.refresh_from_db()
    assert dora.kyc_status == KycStatus.APPROVED
    event = VendorEvent.objects.get(event_type="check.completed")
    assert event.event_id == "check.completed:chk-1:2026-11-24T10:00:00Z"
    assert event.client == dora


def test_an_onfido_check_without_result_is_read_from_its_href_and_consider_means_review(dora, http, alice, fake_onfido):
    vendor_use("onfido", secret=SECRET, api_token="onfido-api-token")
    verification_start(client=dora, actor=alice)
    body = onfido_body(result=None)
    response = post(http, "onfido", body, onfido_headers(body, SECRET))
    assert response.status_code == 200
    method, url, headers, _ = fake_onfido[-1]
    assert (method, url) == ("GET", "https://api.eu.onfido.com/v3.6/checks/chk-1")
    assert headers["Authorization"] == "Token token=onfido-api-token"
    dora.refresh_from_db()
    assert dora.kyc_status == KycStatus.PENDING
    review = Review.objects.get(client=dora, status=Review.Status.OPEN)
    assert "Onfido check chk-1: consider" in review.reasons


def test_an_onfido_applicant_we_never_started_is_an_unknown_client(dora, http):
    vendor_use("onfido", secret=SECRET)
    body = onfido_body(applicant="someone-else")
    assert post(http, "onfido", body, onfido_headers(body, SECRET)).json()["outcome"] == "unknown_client"


# --- refusals: nothing written -------------------------------------------------------------------


def test_a_wrong_signature_is_refused_with_401_and_nothing_written(dora, http):
    vendor_use("sumsub", secret=SECRET)
    body = sumsub_body(client_reference(dora))
    response = post(http, "sumsub", body, sumsub_headers(body, "not-the-secret"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    _nothing_written(dora)


def test_a_body_changed_after_signing_is_refused(dora, http):
    vendor_use("onfido", secret=SECRET)
    body = onfido_body(applicant="a-1")
    headers = onfido_headers(body, SECRET)
    assert post(http, "onfido", body.replace(b"clear", b"CLEAR"), headers).status_code == 401
    _nothing_written(dora)


@pytest.mark.parametrize("provider", ["sumsub", "onfido"])
def test_a_missing_signature_header_is_refused(dora, http, provider):
    vendor_use(provider, secret=SECRET)
    body = sumsub_body(client_reference(dora)) if provider == "sumsub" else onfido_body(applicant="a-1")
    response = post(http, provider, body, {})
    assert response.status_code == 401
    assert "missing" in response.json()["error"]["message"]
    _nothing_written(dora)


def test_an_unknown_digest_algorithm_is_refused(dora, http):
    vendor_use("sumsub", secret=SECRET)
    body = sumsub_body(client_reference(dora))
    headers = {**sumsub_headers(body, SECRET), "X-Payload-Digest-Alg": "HMAC_MD5_HEX"}
    assert post(http, "sumsub", body, headers).status_code == 401
    _nothing_written(dora)


def test_a_tenant_without_a_configured_secret_verifies_nothing(dora, http):
    vendor_use("sumsub", secret="")
    body = sumsub_body(client_reference(dora))
    assert post(http, "sumsub", body, sumsub_headers(body, "")).status_code == 401
    _nothing_written(dora)


def test_a_webhook_for_another_vendor_than_the_tenants_is_refused(dora, http):
    vendor_use("sumsub", secret=SECRET)
    body = onfido_body(applicant="a-1")
    response = post(http, "onfido", body, onfido_headers(body, SECRET))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "wrong_provider"
    _nothing_written(dora)


@pytest.mark.parametrize("provider", ["builtin", "stripe"])
def test_the_builtin_checks_and_unknown_vendors_take_no_webhooks(dora, http, provider):
    body = b"{}"
    assert post(http, provider, body, {}).status_code == 404
    _nothing_written(dora)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe", b'{"type": "applicantReviewed"}'])
def test_a_signed_body_that_is_not_a_usable_event_is_a_400(dora, http, body):
    vendor_use("sumsub", secret=SECRET)
    response = post(http, "sumsub", body, sumsub_headers(body, SECRET))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_payload"
    _nothing_written(dora)


def test_get_is_not_allowed(dora, http):
    assert http.get("/kyc/webhooks/sumsub/").status_code == 405


# --- duplicates and tenants --------------------------------------------------------------------


def test_a_replayed_delivery_answers_200_and_changes_nothing(dora, http):
    vendor_use("sumsub", secret=SECRET)
    body = sumsub_body(client_reference(dora), answer="RED", reject_type="RETRY", labels=["BAD_SELFIE"])
    headers = sumsub_headers(body, SECRET)
    assert post(http, "sumsub", body, headers).json()["outcome"] == "applied"
    again = post(http, "sumsub", body, headers)
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    assert VendorEvent.objects.count() == 1
    assert DocumentRequest.objects.filter(client=dora).count() == 1
    assert AuditRecord.objects.filter(action="kyc.vendor.verdict_applied").count() == 1


def test_a_body_signed_with_another_tenants_secret_does_not_verify(alpha, beta, dora, http):
    vendor_use("sumsub", secret=SECRET)
    with tenant_context(beta):
        vendor_use("sumsub", secret=SECRETS["beta"])
    body = sumsub_body(client_reference(dora))
    assert post(http, "sumsub", body, sumsub_headers(body, SECRETS["beta"])).status_code == 401
    _nothing_written(dora)
    with tenant_context(beta):  # and beta's endpoint refuses alpha's signature
        beta_http = tenant_web_client(beta)
        assert post(beta_http, "sumsub", body, sumsub_headers(body, SECRET)).status_code == 401
        assert not VendorEvent.objects.exists()


# --- an approval of a file the client has not completed ------------------------------------------


def test_a_vendor_approval_of_an_incomplete_file_is_recorded_and_left_for_a_person(dora, http):
    """Sumsub checks the identity; the questionnaire and the proof of address are ours to collect,
    so its "approved" alone verifies nobody."""
    dora.questionnaire_answers.all().delete()
    dora.kyc_documents.filter(kind=Document.Kind.PROOF_OF_ADDRESS).delete()
    vendor_use("sumsub", secret=SECRET)
    body = sumsub_body(client_reference(dora))
    response = post(http, "sumsub", body, sumsub_headers(body, SECRET))
    assert response.status_code == 200
    assert "the file is incomplete: Appropriateness questionnaire, Proof of address" in response.json()["detail"]
    dora.refresh_from_db()
    assert dora.kyc_status == KycStatus.PENDING
    review = Review.objects.get(client=dora)
    assert review.status == Review.Status.OPEN
    assert (
        "Sumsub approved the identity; the file is incomplete: Appropriateness questionnaire, Proof of address"
        in review.reasons
    )
    assert VendorEvent.objects.get(event_type="applicantReviewed").client == dora
    assert AuditRecord.objects.get(action="kyc.vendor.verdict_applied").after["outcome"] == "approved"
    assert not AuditRecord.objects.filter(action="kyc.review.approved").exists()
    assert not Email.objects.filter(client=dora, subject="Your account is verified").exists()


def test_a_vendor_approval_of_a_client_who_never_started_opens_a_review_and_changes_no_status(in_alpha, http):
    client = factories.ClientFactory(kyc_status=KycStatus.NOT_STARTED, risk_level=Client.RiskLevel.LOW)
    vendor_use("sumsub", secret=SECRET)
    body = sumsub_body(client_reference(client))
    assert post(http, "sumsub", body, sumsub_headers(body, SECRET)).status_code == 200
    client.refresh_from_db()
    assert client.kyc_status == KycStatus.NOT_STARTED
    review = Review.objects.get(client=client)
    assert review.status == Review.Status.OPEN
    assert any(
        reason.startswith("Sumsub approved the identity; the file is incomplete: Personal and financial profile")
        for reason in review.reasons
    )


# --- bad signed payloads: 400, never 500 -----------------------------------------------------------


def _signed_sumsub(payload: dict | bytes) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return body, sumsub_headers(body, SECRET)


@pytest.mark.parametrize("labels", [7, "FORGERY", {"label": "FORGERY"}, [["nested"]], [{"a": 1}]])
def test_sumsub_reject_labels_that_are_not_a_list_of_texts_are_a_400(dora, http, labels):
    vendor_use("sumsub", secret=SECRET)
    payload = json.loads(sumsub_body(client_reference(dora), answer="RED", reject_type="FINAL"))
    payload["reviewResult"]["rejectLabels"] = labels
    response = post(http, "sumsub", *_signed_sumsub(payload))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_payload"
    assert response.json()["error"]["message"] == "reviewResult.rejectLabels must be a list of texts."
    _nothing_written(dora)


@pytest.mark.parametrize("reasons", [7, "document_expired", {"why": "expired"}, [None, {"x": 1}]])
def test_onfido_reasons_that_are_not_a_list_of_texts_are_a_400(dora, http, reasons):
    vendor_use("onfido", secret=SECRET)
    payload = json.loads(onfido_body(action="workflow_run.completed", object_id="run-1", result=None, applicant="a"))
    payload["payload"]["object"]["status"] = "declined"
    payload["payload"]["resource"]["reasons"] = reasons
    body = json.dumps(payload).encode()
    response = post(http, "onfido", body, onfido_headers(body, SECRET))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "payload.resource.reasons must be a list of texts."
    _nothing_written(dora)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"a": ' * 5000 + b"1" + b"}" * 5000, "The body is not valid JSON."),  # too deep for the parser
        (b'{"a": ' * 50 + b"1" + b"}" * 50, "nested more than 20 levels deep"),
        (b'{"type": "applicantReviewed", "applicantId": "a\\u0000b"}', "not text"),
        (b'{"type": "applicantReviewed", "applicantId": "\\ud800"}', "not text"),
        (b'{"type": "applicantReviewed", "applicantId": "a", "createdAtMs": NaN}', "not valid JSON"),
        (b'{"type": "applicantReviewed", "applicantId": "a", "createdAtMs": Infinity}', "not valid JSON"),
        (b'{"type": "applicantReviewed", "applicantId": "a", "createdAtMs": 1e999}', "not valid JSON"),
    ],
)
def test_signed_bodies_we_could_not_store_or_walk_are_a_400(dora, http, body, message):
    vendor_use("sumsub", secret=SECRET)
    response = post(http, "sumsub", *_signed_sumsub(body))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_payload"
    assert message in response.json()["error"]["message"]
    _nothing_written(dora)


def test_a_secret_no_key_decrypts_answers_503_and_is_logged(dora, http, caplog):
    """A key rotation gone wrong is ours to fix: the vendor gets a 503 (it retries later), not a 500."""
    settings = vendor_use("sumsub", secret=SECRET)
    settings.vendor_webhook_secret = Fernet(Fernet.generate_key()).encrypt(SECRET.encode()).decode()
    settings.save()
    body = sumsub_body(client_reference(dora))
    with caplog.at_level(logging.ERROR, logger="kyc.webhooks"):
        response = post(http, "sumsub", body, sumsub_headers(body, SECRET))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_configured"
    assert "cannot be decrypted" in caplog.text
    _nothing_written(dora)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
SUMSUB_KEYS = st.sampled_from(
    ["type", "applicantId", "externalUserId", "correlationId", "createdAtMs", "reviewResult", "levelName"]
)
REVIEW_KEYS = st.sampled_from(
    ["reviewAnswer", "reviewRejectType", "rejectLabels", "moderationComment", "clientComment"]
)


@given(
    top=st.dictionaries(SUMSUB_KEYS, JSON_VALUES, max_size=7),
    result=st.dictionaries(REVIEW_KEYS, JSON_VALUES, max_size=5),
    typed=st.booleans(),
)
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_signed_sumsub_body_gives_a_500(dora, http, top, result, typed):
    """Whatever a holder of the secret signs (fields of any type, at any place), the answer is 200 or 400."""
    vendor_use("sumsub", secret=SECRET)
    payload = dict(top)
    if typed:  # often enough a real verdict, so the apply path is reached too
        payload.update(type="applicantReviewed", applicantId="app-1", reviewResult={**result, "reviewAnswer": "RED"})
        payload.setdefault("externalUserId", client_reference(dora))
    response = post(http, "sumsub", *_signed_sumsub(payload))
    assert response.status_code in (200, 400), response.content


def test_the_vendors_latest_applied_verdict_tells_whether_it_approved_the_client(dora, http):
    """What kyc_evaluate reads with a vendor configured: an approval on record, and not undone since."""
    vendor_use("sumsub", secret=SECRET)
    dora.kyc_documents.filter(kind=Document.Kind.PROOF_OF_ADDRESS).delete()  # so the approval is only recorded
    assert not vendor_approved(dora, "sumsub")

    green = sumsub_body(client_reference(dora))
    post(http, "sumsub", green, sumsub_headers(green, SECRET))
    assert vendor_approved(dora, "sumsub")
    assert not vendor_approved(dora, "onfido")

    hold = sumsub_body(client_reference(dora), event_type="applicantOnHold", correlation="req-2")
    post(http, "sumsub", hold, sumsub_headers(hold, SECRET))
    assert not vendor_approved(dora, "sumsub")
