"""The KYC vendor adapters: signatures, payloads in our terms, and starting a verification against a
fake that speaks each vendor's API."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kyc.adapters import http as vendor_http
from kyc.adapters.base import Outcome, PayloadError, SignatureError, VendorError
from kyc.adapters.builtin import BuiltinVendor
from kyc.adapters.onfido import OnfidoVendor
from kyc.adapters.registry import vendor_for
from kyc.adapters.services import client_for_verdict, client_from_reference, client_reference, verification_start
from kyc.adapters.sumsub import SumsubVendor, payload_digest
from kyc.models import KycSettings, VendorEvent
from tests import factories
from tests.kyc.support_vendors import onfido_body, sumsub_body, vendor_use

SECRET = "a-vendor-secret"
HASHES = {"HMAC_SHA256_HEX": hashlib.sha256, "HMAC_SHA512_HEX": hashlib.sha512, "HMAC_SHA1_HEX": hashlib.sha1}


# --- signatures -------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", sorted(HASHES))
def test_sumsub_accepts_its_digest_in_each_algorithm_whatever_the_header_case(algorithm):
    body = b'{"type":"applicantPending"}'
    digest = hmac.new(SECRET.encode(), body, HASHES[algorithm]).hexdigest()
    SumsubVendor(webhook_secret=SECRET).signature_verify(
        headers={"x-payload-digest": digest.upper(), "x-payload-digest-alg": algorithm}, body=body
    )


def test_sumsub_without_an_algorithm_header_means_sha256():
    body = b"{}"
    SumsubVendor(webhook_secret=SECRET).signature_verify(
        headers={"X-Payload-Digest": payload_digest(SECRET, body)}, body=body
    )


def test_a_sha512_digest_announced_as_sha256_is_refused():
    body = b"{}"
    with pytest.raises(SignatureError):
        SumsubVendor(webhook_secret=SECRET).signature_verify(
            headers={
                "X-Payload-Digest": payload_digest(SECRET, body, "HMAC_SHA512_HEX"),
                "X-Payload-Digest-Alg": "HMAC_SHA256_HEX",
            },
            body=body,
        )


@given(body=st.binary(max_size=300), flip=st.integers(min_value=0, max_value=299))
def test_any_body_verifies_with_its_own_signature_and_no_changed_byte_does(body, flip):
    sumsub, onfido = SumsubVendor(webhook_secret=SECRET), OnfidoVendor(webhook_secret=SECRET)
    sumsub.signature_verify(headers={"X-Payload-Digest": payload_digest(SECRET, body)}, body=body)
    onfido_signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    onfido.signature_verify(headers={"X-SHA2-Signature": onfido_signature}, body=body)
    if body:
        index = flip % len(body)
        changed = body[:index] + bytes([body[index] ^ 1]) + body[index + 1 :]
        with pytest.raises(SignatureError):
            sumsub.signature_verify(headers={"X-Payload-Digest": payload_digest(SECRET, body)}, body=changed)
        with pytest.raises(SignatureError):
            onfido.signature_verify(headers={"X-SHA2-Signature": onfido_signature}, body=changed)


def test_the_builtin_checks_verify_no_webhook():
    with pytest.raises(SignatureError):
        BuiltinVendor().signature_verify(headers={}, body=b"{}")


# --- payloads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "reject_type", "outcome"),
    [("GREEN", "", Outcome.APPROVED), ("RED", "FINAL", Outcome.REJECTED), ("RED", "RETRY", Outcome.RETRY)],
)
def test_sumsub_review_answers_become_verdicts(answer, reject_type, outcome):
    payload = json.loads(
        sumsub_body(
            "t_alpha:7", answer=answer, reject_type=reject_type, labels=["SCREENSHOTS"], moderation="Retake it."
        )
    )
    verdict = SumsubVendor().event_parse(payload)
    assert (verdict.outcome, verdict.client_reference, verdict.event_id) == (outcome, "t_alpha:7", "req-1")
    assert verdict.applicant_id == "5cb56e8e0a975a35f333cb83"
    if answer == "RED":
        assert verdict.client_message == "Retake it."
        assert verdict.reasons == ("Sumsub labels: SCREENSHOTS", "Sumsub comment: Internal: document looks edited.")


def test_a_sumsub_event_without_correlation_id_is_identified_by_type_applicant_and_time():
    payload = json.loads(sumsub_body("t_alpha:7", event_type="applicantPending"))
    del payload["correlationId"]
    verdict = SumsubVendor().event_parse(payload)
    assert verdict.outcome == Outcome.INFORMATION
    assert verdict.event_id == "applicantPending:5cb56e8e0a975a35f333cb83:2026-11-24 10:00:00.000"


def test_sumsub_on_hold_needs_a_person():
    payload = json.loads(sumsub_body("t_alpha:7", event_type="applicantOnHold"))
    assert SumsubVendor().event_parse(payload).outcome == Outcome.NEEDS_REVIEW


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "applicantReviewed"},
        {"applicantId": "x"},
        {"type": "applicantReviewed", "applicantId": "x", "reviewResult": {"reviewAnswer": "YELLOW"}},
    ],
)
def test_sumsub_events_missing_what_we_need_are_refused(payload):
    with pytest.raises(PayloadError):
        SumsubVendor().event_parse(payload)


@pytest.mark.parametrize(("result", "outcome"), [("clear", Outcome.APPROVED), ("consider", Outcome.NEEDS_REVIEW)])
def test_onfido_check_results_become_verdicts(result, outcome):
    verdict = OnfidoVendor().event_parse(json.loads(onfido_body(result=result, applicant="app-9")))
    assert (verdict.outcome, verdict.applicant_id, verdict.client_reference) == (outcome, "app-9", "")
    assert verdict.event_id == "check.completed:chk-1:2026-11-24T10:00:00Z"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("approved", Outcome.APPROVED), ("declined", Outcome.REJECTED), ("review", Outcome.NEEDS_REVIEW)],
)
def test_onfido_workflow_runs_become_verdicts(status, outcome):
    payload = json.loads(onfido_body(action="workflow_run.completed", object_id="run-1", result=None, applicant="a"))
    payload["payload"]["object"]["status"] = status
    payload["payload"]["resource"]["reasons"] = ["document_expired"]
    verdict = OnfidoVendor().event_parse(payload)
    assert verdict.outcome == outcome
    assert verdict.reasons == (f"Onfido workflow run run-1: {status}", "document_expired")


def test_an_onfido_check_started_is_information():
    payload = json.loads(onfido_body(action="check.started", result=None, applicant="a"))
    assert OnfidoVendor().event_parse(payload).outcome == Outcome.INFORMATION


def test_onfido_reads_a_check_only_from_its_own_hosts(monkeypatch):
    monkeypatch.setattr(vendor_http, "http_json", lambda *a, **k: pytest.fail("no request may leave"))
    payload = json.loads(onfido_body(result=None))
    payload["payload"]["object"]["href"] = "https://attacker.example/v3.6/checks/chk-1"
    with pytest.raises(PayloadError):
        OnfidoVendor(api_token="t").event_parse(payload)


def test_an_onfido_check_that_cannot_be_read_is_a_payload_error(monkeypatch):
    def down(*args, **kwargs):
        raise VendorError("The vendor answered 503")

    monkeypatch.setattr(vendor_http, "http_json", down)
    with pytest.raises(PayloadError):
        OnfidoVendor(api_token="t").event_parse(json.loads(onfido_body(result=None)))


# --- starting a verification, and mapping back ---------------------------------------------------------


@pytest.fixture
def erin(in_alpha):
    return factories.ClientFactory(first_name="Erin", last_name="Start", email="erin@example.test")


def test_a_sumsub_start_sends_our_reference_with_a_signed_request_and_returns_the_link(erin, alice, monkeypatch):
    calls = []

    def fake(method, url, *, headers, body=None):
        path = url.removeprefix("https://api.sumsub.com")
        expected = hmac.new(
            b"app-secret", headers["X-App-Access-Ts"].encode() + method.encode() + path.encode() + body, hashlib.sha256
        ).hexdigest()
        assert headers["X-App-Access-Sig"] == expected and headers["X-App-Token"] == "app-token"
        calls.append((path, json.loads(body)))
        return {"id": "sum-applicant-1"} if "/applicants" in path else {"url": "https://in.sumsub.com/websdk/p/abc"}

    monkeypatch.setattr(vendor_http, "http_json", fake)
    vendor_use("sumsub", secret=SECRET, api_token="app-token:app-secret")
    start = verification_start(client=erin, actor=alice)
    assert (start.applicant_id, start.url) == ("sum-applicant-1", "https://in.sumsub.com/websdk/p/abc")
    assert calls[0] == (
        "/resources/applicants?levelName=basic-kyc-level",
        {"externalUserId": f"t_alpha:{erin.pk}", "email": "erin@example.test", "phone": ""},
    )
    assert calls[1][1]["userId"] == f"t_alpha:{erin.pk}"
    started = VendorEvent.objects.get(event_id="start:sum-applicant-1")
    assert (started.client, started.event_type) == (erin, "verification.started")


def test_a_sumsub_api_token_without_its_secret_key_is_refused_before_any_call(erin, alice, monkeypatch):
    monkeypatch.setattr(vendor_http, "http_json", lambda *a, **k: pytest.fail("no request may leave"))
    vendor_use("sumsub", secret=SECRET, api_token="only-the-app-token")
    with pytest.raises(VendorError):
        verification_start(client=erin, actor=alice)
    assert not VendorEvent.objects.exists()


def test_an_onfido_start_records_the_applicant_so_its_events_find_the_client(erin, alice, monkeypatch):
    answers = {"/applicants/": {"id": "onf-1"}, "/sdk_token": {"token": "tok"}}
    monkeypatch.setattr(
        vendor_http, "http_json", lambda method, url, **kw: next(v for k, v in answers.items() if url.endswith(k))
    )
    vendor_use("onfido", secret=SECRET, api_token="onfido-token")
    start = verification_start(client=erin, actor=alice)
    assert (start.applicant_id, start.sdk_token) == ("onf-1", "tok")
    verdict = OnfidoVendor().event_parse(json.loads(onfido_body(applicant="onf-1")))
    assert client_for_verdict("onfido", verdict) == erin
    assert client_for_verdict("sumsub", verdict) is None  # another vendor's applicant ids are another namespace


def test_the_builtin_start_points_at_our_documents_page_and_records_nothing(erin, alice):
    start = verification_start(client=erin, actor=alice)
    assert start.url == "/portal/verification/documents/"
    assert not VendorEvent.objects.exists()


def test_references_name_clients_of_this_schema_only(erin):
    assert client_reference(erin) == f"t_alpha:{erin.pk}"
    assert client_from_reference(f"t_alpha:{erin.pk}") == erin
    for foreign in (
        str(erin.pk),  # a bare id names no tenant
        f":{erin.pk}",
        f"t_beta:{erin.pk}",
        "t_alpha:",
        "t_alpha:x",
        "",
        "t_alpha:999999",
        "t_alpha:" + "9" * 30,
        "t_alpha:²",
    ):
        assert client_from_reference(foreign) is None


def test_the_vendor_gets_the_decrypted_secrets_the_settings_page_stored(in_alpha):
    settings = vendor_use("onfido", secret="plain-webhook-token", api_token="plain-api-token")
    assert settings.vendor_webhook_secret != "plain-webhook-token"  # stored encrypted
    vendor = vendor_for(KycSettings.current())
    assert (vendor.webhook_secret, vendor.api_token) == ("plain-webhook-token", "plain-api-token")
