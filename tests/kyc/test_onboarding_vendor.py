"""A tenant that verifies identities with a vendor: the documents page's "Verify your identity with
<vendor>" step, starting (and continuing) the verification, the vendor's failures, and the webhook
that then finds the client. The vendors' API is faked at kyc.adapters.http.http_json.

Personas: Carl is a client of alpha; Alice is alpha's owner (staff); beta verifies in-house."""

from __future__ import annotations

import json
import logging

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from crm.models import Client
from kyc.adapters import http as vendor_http
from kyc.adapters.base import VendorError
from kyc.models import KycSettings, VendorEvent
from tests import factories
from tests.conftest import tenant_client
from tests.kyc.support_vendors import SECRETS, onfido_body, onfido_headers, post, vendor_use

pytestmark = pytest.mark.django_db
SECRET = SECRETS["alpha"]
DOCUMENTS = reverse("portal:kyc_documents")
START = reverse("portal:kyc_vendor_start")
WEBSDK = "https://in.sumsub.com/websdk/p/sbx_abc"


class FakeVendor:
    """Sumsub's and Onfido's API as far as a start uses them; `down` makes every call fail."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []
        self.down = False

    def __call__(self, method, url, *, headers, body=None):
        self.calls.append((method, url))
        if self.down:
            raise VendorError("The vendor answered 503: maintenance")
        if "/resources/applicants" in url:
            return {"id": "sum-applicant-1"}
        if url.endswith("/websdkLink"):
            return {"url": WEBSDK}
        if url.endswith("/applicants/"):
            return {"id": "onf-applicant-1"}
        if url.endswith("/sdk_token"):
            assert json.loads(body)["applicant_id"] == "onf-applicant-1"
            return {"token": "onfido-sdk-token-1"}
        raise AssertionError(url)


@pytest.fixture
def vendor_api(monkeypatch):
    fake = FakeVendor()
    monkeypatch.setattr(vendor_http, "http_json", fake)
    return fake


@pytest.fixture
def carl_client(alpha, carl):
    with tenant_context(alpha):
        return Client.objects.get(user=carl)


@pytest.fixture
def web(alpha, carl):
    return tenant_client(alpha, carl)


def configure(alpha, provider: str, api_token: str):
    with tenant_context(alpha):
        vendor_use(provider, secret=SECRET, api_token=api_token)


def test_with_the_builtin_checks_the_documents_page_has_no_vendor_step(alpha, web, carl_client, vendor_api):
    page = web.get(DOCUMENTS).content.decode()
    assert "Verify your identity with" not in page
    response = web.post(START, follow=True)
    assert "the documents below are all we need" in response.content.decode()
    assert vendor_api.calls == []
    with tenant_context(alpha):
        assert not VendorEvent.objects.exists()


def test_a_sumsub_tenant_sends_the_client_to_the_websdk_link(alpha, web, carl_client, vendor_api):
    configure(alpha, "sumsub", "app-token:app-secret")
    page = web.get(DOCUMENTS).content.decode()
    assert "Verify your identity with Sumsub" in page
    assert f'action="{START}"' in page and "Start the identity check with Sumsub" in page

    response = web.post(START)

    assert (response.status_code, response["Location"]) == (302, WEBSDK)
    with tenant_context(alpha):
        started = VendorEvent.objects.get(event_id="start:sum-applicant-1")
        assert (started.client, started.provider) == (carl_client, "sumsub")
        assert AuditRecord.objects.get(action="kyc.vendor.verification_started").actor_id == carl_client.user_id


def test_starting_again_continues_with_the_same_applicant_and_a_fresh_link(alpha, web, carl_client, vendor_api):
    """Sumsub refuses a second applicant with our external id: a second click asks only for a link."""
    configure(alpha, "sumsub", "app-token:app-secret")
    web.post(START)
    assert "Continue the identity check with Sumsub" in web.get(DOCUMENTS).content.decode()
    vendor_api.calls.clear()

    response = web.post(START)

    assert response["Location"] == WEBSDK
    assert [url.rsplit("/", 1)[1] for _, url in vendor_api.calls] == ["websdkLink"]
    with tenant_context(alpha):
        assert VendorEvent.objects.filter(event_type="verification.started").count() == 1


def test_an_onfido_tenant_shows_the_sdk_with_its_token_and_the_webhook_then_finds_the_client(
    alpha, web, carl_client, vendor_api
):
    configure(alpha, "onfido", "onfido-api-token")
    assert "Verify your identity with Onfido" in web.get(DOCUMENTS).content.decode()

    response = web.post(START)

    assert response.status_code == 200
    page = response.content.decode()
    assert '<script id="onfido-token" type="application/json">"onfido-sdk-token-1"</script>' in page
    assert 'id="onfido-mount"' in page
    with tenant_context(alpha):
        assert VendorEvent.objects.get(event_id="start:onf-applicant-1").client == carl_client
    body = onfido_body(action="check.started", result=None, applicant="onf-applicant-1")
    answer = post(tenant_client(alpha), "onfido", body, onfido_headers(body, SECRET))
    assert (answer.status_code, answer.json()["outcome"]) == (200, "ignored")  # a client of ours, not unknown
    with tenant_context(alpha):
        assert VendorEvent.objects.get(event_type="check.started").client == carl_client


@pytest.mark.parametrize("provider", ["sumsub", "onfido"])
def test_a_vendor_failure_gives_a_clear_message_and_records_nothing(alpha, web, carl_client, vendor_api, provider):
    configure(alpha, provider, "app-token:app-secret")
    vendor_api.down = True

    response = web.post(START, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [(DOCUMENTS, 302)]
    page = response.content.decode()
    label = provider.capitalize()
    assert f"We could not start your identity check with {label}, our verification provider, just now." in page
    assert "maintenance" not in page  # the vendor's own words are for our logs
    with tenant_context(alpha):
        assert not VendorEvent.objects.exists()


def test_a_sumsub_token_without_its_secret_key_is_a_clear_message_and_no_request(alpha, web, carl_client, vendor_api):
    configure(alpha, "sumsub", "only-the-app-token")
    response = web.post(START, follow=True)
    assert "We could not start your identity check with Sumsub" in response.content.decode()
    assert vendor_api.calls == []


def test_credentials_no_key_decrypts_give_a_clear_message_not_a_500(alpha, web, carl_client, vendor_api, caplog):
    configure(alpha, "sumsub", "app-token:app-secret")
    with tenant_context(alpha):
        settings = KycSettings.current()
        settings.vendor_api_token = Fernet(Fernet.generate_key()).encrypt(b"app-token:app-secret").decode()
        settings.save()
    with caplog.at_level(logging.ERROR, logger="kyc.views_portal"):
        response = web.post(START, follow=True)
    assert response.status_code == 200
    assert "We could not start your identity check with Sumsub" in response.content.decode()
    assert "cannot be decrypted" in caplog.text
    assert vendor_api.calls == []


@pytest.mark.parametrize("status", [Client.KycStatus.APPROVED, Client.KycStatus.REJECTED])
def test_a_decided_client_has_no_identity_check_to_start(alpha, web, carl_client, vendor_api, status):
    configure(alpha, "sumsub", "app-token:app-secret")
    with tenant_context(alpha):
        Client.objects.filter(pk=carl_client.pk).update(kyc_status=status)
    assert "Verify your identity with" not in web.get(DOCUMENTS).content.decode()
    web.post(START)
    assert vendor_api.calls == []


def test_get_is_not_allowed(alpha, web, carl_client, vendor_api):
    configure(alpha, "sumsub", "app-token:app-secret")
    assert web.get(START).status_code == 405
    assert vendor_api.calls == []


def test_staff_and_visitors_cannot_start_a_verification(alpha, alice, vendor_api):
    configure(alpha, "sumsub", "app-token:app-secret")
    assert tenant_client(alpha, alice).post(START).status_code == 403
    anonymous = tenant_client(alpha).post(START)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert vendor_api.calls == []


def test_each_tenant_uses_its_own_vendor(alpha, beta, carl, vendor_api):
    """Alpha uses Sumsub; beta's clients verify in-house and see no vendor step."""
    configure(alpha, "sumsub", "app-token:app-secret")
    with tenant_context(beta):
        bea = factories.client_user("bea@beta.test")
    beta_web = tenant_client(beta, bea)
    assert "Verify your identity with" not in beta_web.get(DOCUMENTS).content.decode()
    beta_web.post(START)
    assert vendor_api.calls == []
    with tenant_context(beta):
        assert not VendorEvent.objects.exists()
