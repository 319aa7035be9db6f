"""Tenant isolation: nothing of alpha is reachable from beta's domain, by session, token, password,
list page, API, audit trail or cache, and an unknown host reaches no tenant at all."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context

from brokerage.audit import audit_log
from brokerage.models import AuditRecord
from tests import factories
from tests.tenants.web import api_client, forget_failed_logins, fresh_ip, tenant_web_client, web_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def distinct_clients(alpha, beta):
    """One client in each tenant, with names that appear nowhere else."""
    with tenant_context(alpha):
        factories.ClientFactory(first_name="Zebulon", last_name="Alphaonly", email="zebulon@alpha-only.test")
    with tenant_context(beta):
        factories.ClientFactory(first_name="Bartholomew", last_name="Betaonly", email="bartholomew@beta-only.test")


# --- sessions, tokens, passwords -------------------------------------------------------------


def test_alphas_session_cookie_does_not_sign_anyone_in_on_betas_ops(alpha, alice, bob):
    # Given Alice's signed-in session on alpha (and beta has users of its own)
    client = tenant_web_client(alpha, alice)
    assert client.get("/ops/").status_code == 200

    # When the same cookie is sent to beta's host
    response = client.get("/ops/", HTTP_HOST="beta.localhost")

    # Then beta treats the visitor as a stranger
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/ops/"


def test_alphas_session_cookie_is_not_authenticated_on_betas_api(alpha, alice, bob):
    client = tenant_web_client(alpha, alice)
    assert client.get("/api/v1/me/").json()["email"] == "alice@alpha.test"

    response = client.get("/api/v1/me/", HTTP_HOST="beta.localhost")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_alphas_api_token_works_on_alpha_and_gets_401_on_beta(alpha, beta, alice, bob):
    # Given an API token issued to Alice in alpha's schema (Bob exists on beta, so beta has users)
    client = api_client(alpha, alice)

    # When it is used on both tenants' API
    on_alpha = client.get("/api/v1/me/")
    on_beta = client.get("/api/v1/me/", HTTP_HOST="beta.localhost")

    # Then only alpha knows it
    assert on_alpha.status_code == 200
    assert on_alpha.json()["email"] == "alice@alpha.test"
    assert on_beta.status_code == 401
    assert on_beta.json() == {"error": {"code": "authentication_failed", "message": "Invalid token.", "fields": {}}}


def test_alice_cannot_sign_in_on_betas_login_page_with_her_alpha_password(alpha, beta, alice, bob):
    # Given Alice's correct alpha password (and no failed logins left on beta by earlier runs)
    forget_failed_logins(beta, "alice@alpha.test")
    client = web_client("beta.localhost", ip=fresh_ip())

    # When she tries it on beta
    response = client.post("/accounts/login/", {"login": "alice@alpha.test", "password": factories.PASSWORD})

    # Then beta does not know her and nobody is signed in there
    assert response.status_code == 200
    assert b"The email address and/or password you specified are not correct." in response.content
    assert "_auth_user_id" not in client.session
    assert client.get("/ops/").status_code == 302


# --- data ------------------------------------------------------------------------------------


def test_betas_client_list_page_shows_betas_clients_and_never_alphas(alpha, beta, alice, bob, distinct_clients):
    on_beta = tenant_web_client(beta, bob).get("/ops/crm/clients/")
    on_alpha = tenant_web_client(alpha, alice).get("/ops/crm/clients/")

    assert on_beta.status_code == 200
    assert b"Bartholomew Betaonly" in on_beta.content
    assert b"Alphaonly" not in on_beta.content
    assert b"alpha-only.test" not in on_beta.content
    assert b"Zebulon Alphaonly" in on_alpha.content
    assert b"Betaonly" not in on_alpha.content


def test_betas_client_list_page_search_for_alphas_client_finds_nothing(beta, bob, distinct_clients):
    response = tenant_web_client(beta, bob).get("/ops/crm/clients/", {"q": "Alphaonly"})

    assert response.status_code == 200
    assert response.context["clients"] == []


def test_betas_client_endpoint_lists_betas_clients_and_never_alphas(alpha, beta, alice, bob, distinct_clients):
    on_beta = api_client(beta, bob).get("/api/v1/clients/")
    on_alpha = api_client(alpha, alice).get("/api/v1/clients/")

    assert on_beta.status_code == 200
    assert [c["email"] for c in on_beta.json()["results"]] == ["bartholomew@beta-only.test"]
    assert [c["email"] for c in on_alpha.json()["results"]] == ["zebulon@alpha-only.test"]


def test_asking_betas_endpoint_for_an_alpha_clients_id_finds_nothing(alpha, beta, bob):
    # Given an alpha client whose id does not exist in beta
    with tenant_context(alpha):
        alpha_client = factories.ClientFactory(email="only-in-alpha@alpha.test")

    response = api_client(beta, bob).get(f"/api/v1/clients/{alpha_client.pk}/")

    assert response.status_code == 404


@pytest.fixture
def alpha_audit_record(alpha, alice):
    with tenant_context(alpha):
        return audit_log(actor=alice, action="crm.client.alpha_secret_changed", after={"note": "alpha-private"})


def test_betas_audit_trail_never_shows_alphas_records(alpha, beta, alice, bob, alpha_audit_record):
    # Given beta has a record of its own
    with tenant_context(beta):
        audit_log(actor=bob, action="crm.client.beta_note_added")

    # When Bob reads beta's audit trail, as a page and through the API
    page = tenant_web_client(beta, bob).get("/ops/audit/")
    api = api_client(beta, bob).get("/api/v1/audit/")

    # Then he sees beta's record and nothing of alpha's
    assert page.status_code == 200
    assert b"crm.client.beta_note_added" in page.content
    assert b"alpha_secret" not in page.content
    assert b"alice@alpha.test" not in page.content
    assert [r["action"] for r in api.json()["results"]] == ["crm.client.beta_note_added"]
    # And alpha's trail still has it
    alpha_api = api_client(alpha, alice).get("/api/v1/audit/", {"action": "crm.client.alpha_secret"})
    assert [r["id"] for r in alpha_api.json()["results"]] == [alpha_audit_record.pk]


def test_an_audit_filter_on_betas_api_for_alphas_actor_finds_nothing(beta, bob, alpha_audit_record):
    response = api_client(beta, bob).get("/api/v1/audit/", {"actor_email": "alice@alpha.test"})

    assert response.status_code == 200
    assert response.json()["count"] == 0
    with tenant_context(beta):
        assert not AuditRecord.objects.filter(action="crm.client.alpha_secret_changed").exists()


# --- cache -------------------------------------------------------------------------------------


@pytest.fixture
def cache_key():
    """A key no other test run uses (the cache is the developer's shared Redis)."""
    return f"isolation-{uuid.uuid4().hex}"


def test_a_cache_value_set_in_alphas_schema_is_not_readable_in_betas(alpha, beta, cache_key):
    try:
        # Given a value cached while alpha's schema is active
        with tenant_context(alpha):
            cache.set(cache_key, "alpha-secret", 60)

        # When the same key is read in beta's schema
        with tenant_context(beta):
            seen_by_beta = cache.get(cache_key)

        # Then beta gets nothing, and alpha still gets its value
        assert seen_by_beta is None
        with tenant_context(alpha):
            assert cache.get(cache_key) == "alpha-secret"
    finally:
        with tenant_context(alpha):
            cache.delete(cache_key)


def test_two_tenants_can_cache_the_same_key_without_overwriting_each_other(alpha, beta, cache_key):
    try:
        with tenant_context(alpha):
            cache.set(cache_key, "alpha", 60)
        with tenant_context(beta):
            cache.set(cache_key, "beta", 60)

        with tenant_context(alpha):
            assert cache.get(cache_key) == "alpha"
        with tenant_context(beta):
            assert cache.get(cache_key) == "beta"
    finally:
        for tenant in (alpha, beta):
            with tenant_context(tenant):
                cache.delete(cache_key)


# --- hosts ---------------------------------------------------------------------------------------


def test_an_unknown_host_gets_a_json_404_on_api_paths():
    response = web_client("nowhere.localhost").get("/api/v1/me/")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


@pytest.mark.parametrize("path", ["/", "/ops/", "/accounts/login/"])
def test_an_unknown_host_gets_the_html_404_page_and_no_traceback(path):
    response = web_client("nowhere.localhost").get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert b"<h1>Page not found</h1>" in response.content
    assert b"Traceback" not in response.content
