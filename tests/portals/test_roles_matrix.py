"""The role matrix: every role against every capability, page and endpoint.

The expected answers are read from `brokerage.roles.ROLE_CAPABILITIES` (the one
table), so a change to the table changes what these tests demand, and a check
in a view that disagrees with the table fails here.

Personas in this matrix all have TOTP set up, so the only thing deciding the
answer is the role table; the TOTP gate itself has its own tests at the end.
"""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group
from django_tenants.utils import tenant_context

from brokerage.models import User
from brokerage.roles import CAPABILITIES, EXTERNAL_ROLES, ROLE_CAPABILITIES, STAFF_ROLES, Role
from tests import factories
from tests.tenants.web import api_client, tenant_web_client

ANONYMOUS = "anonymous"
EVERY_ROLE = [role.value for role in Role]

PAGES = [
    ("/ops/", "ops_access"),
    ("/ops/staff/", "staff_manage"),
    ("/ops/audit/", "audit_view"),
    ("/ops/crm/clients/", "crm_view_client"),
    ("/ops/kyc/", "kyc_review"),
    ("/ops/payments/", "payments_view"),
    ("/ops/trading/", "trading_view"),
    ("/ops/partners/", "partners_view"),
    ("/ops/risk/", "risk_view"),
    ("/ops/reporting/", "reporting_view"),
    ("/portal/", "portal_access"),
    ("/partners/", "partner_portal_access"),
]
ENDPOINTS = [
    ("/api/v1/staff/", "staff_manage"),
    ("/api/v1/audit/", "audit_view"),
    ("/api/v1/clients/", "crm_view_client"),
]


def persona(role: str):
    """One user of alpha holding exactly `role`, with TOTP set up. Call inside alpha's schema."""
    email = f"{role}@alpha.test"
    if role in STAFF_ROLES:
        return factories.staff_user(email, roles=[role], mfa=True)
    user = factories.client_user(email) if role == Role.CLIENT else factories.partner_user(email)
    TOTP.activate(user, factories.TOTP_SECRET)
    return user


# --- the table itself ------------------------------------------------------------------------


def test_the_table_names_every_role_once_and_only_known_capabilities():
    assert set(ROLE_CAPABILITIES) == set(Role)
    for role, capabilities in ROLE_CAPABILITIES.items():
        assert capabilities <= set(CAPABILITIES), role
    assert set(Role) == STAFF_ROLES | EXTERNAL_ROLES
    assert not STAFF_ROLES & EXTERNAL_ROLES


def test_only_clients_reach_the_portal_and_only_partners_the_partner_portal():
    assert [r for r in Role if "portal_access" in ROLE_CAPABILITIES[r]] == [Role.CLIENT]
    assert [r for r in Role if "partner_portal_access" in ROLE_CAPABILITIES[r]] == [Role.PARTNER]


@pytest.mark.parametrize("capability", sorted(CAPABILITIES))
@pytest.mark.parametrize("role", EVERY_ROLE)
def test_a_user_holding_only_one_role_has_a_capability_exactly_when_the_table_grants_it(in_alpha, role, capability):
    # Given a user of alpha whose only role is `role`
    user = User.objects.create_user(f"{role}@alpha.test")
    user.groups.add(Group.objects.get(name=role))

    # When Django is asked whether they hold the capability
    granted = user.has_perm(f"brokerage.{capability}")

    # Then the answer is the table's
    assert granted is (capability in ROLE_CAPABILITIES[role])


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_a_users_capabilities_through_the_api_are_exactly_their_roles_row(alpha, role):
    # Given a user with one role and an API token
    with tenant_context(alpha):
        user = persona(role)

    # When they ask who they are
    response = api_client(alpha, user).get("/api/v1/me/")

    # Then they see their role and exactly the capabilities of its row
    assert response.status_code == 200
    assert response.json()["roles"] == [role]
    assert response.json()["capabilities"] == sorted(ROLE_CAPABILITIES[role])


# --- pages and endpoints -------------------------------------------------------------------------


@pytest.mark.parametrize("role", [ANONYMOUS, *EVERY_ROLE])
@pytest.mark.parametrize(("url", "capability"), PAGES, ids=[url for url, _ in PAGES])
def test_a_page_answers_200_with_the_capability_403_without_and_sends_strangers_to_sign_in(
    alpha, url, capability, role
):
    # Given a visitor of alpha: anonymous, or signed in with one role
    if role == ANONYMOUS:
        client = tenant_web_client(alpha)
    else:
        with tenant_context(alpha):
            user = persona(role)
        client = tenant_web_client(alpha, user)

    # When they open the page
    response = client.get(url)

    # Then the role table decides
    if role == ANONYMOUS:
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"
    elif capability in ROLE_CAPABILITIES[role]:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert b"Not allowed" in response.content


@pytest.mark.parametrize("role", [ANONYMOUS, *EVERY_ROLE])
@pytest.mark.parametrize(("url", "capability"), ENDPOINTS, ids=[url for url, _ in ENDPOINTS])
def test_an_endpoint_answers_200_with_the_capability_403_without_and_401_to_strangers(alpha, url, capability, role):
    # Given an API caller of alpha: anonymous, or one role's token
    if role == ANONYMOUS:
        client = tenant_web_client(alpha)
    else:
        with tenant_context(alpha):
            user = persona(role)
        client = api_client(alpha, user)

    # When they call the endpoint
    response = client.get(url)

    # Then the role table decides, and refusals have the API's error shape
    if role == ANONYMOUS:
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
    elif capability in ROLE_CAPABILITIES[role]:
        assert response.status_code == 200
        assert "results" in response.json()
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"


# --- the TOTP gate in front of /ops/ ------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(r.value for r in STAFF_ROLES))
def test_a_staff_member_without_totp_is_sent_to_set_it_up_before_the_ops_dashboard(alpha, role):
    # Given a staff member who has not set up TOTP
    with tenant_context(alpha):
        user = factories.staff_user(f"{role}@alpha.test", roles=[role], mfa=False)

    # When they open /ops/
    response = tenant_web_client(alpha, user).get("/ops/")

    # Then they are sent to TOTP activation, and come back to /ops/ afterwards
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/?next=%2Fops%2F"


@pytest.mark.parametrize("path", ["/ops/", "/ops/crm/clients/"])
@pytest.mark.parametrize("role", ["client", "partner"])
def test_a_client_or_partner_without_totp_is_refused_on_ops_rather_than_asked_to_set_up_totp(alpha, role, path):
    # Given a client or partner as they sign up: no TOTP
    with tenant_context(alpha):
        user = (
            factories.client_user(f"{role}@alpha.test")
            if role == "client"
            else factories.partner_user(f"{role}@alpha.test")
        )

    # When they open an ops page
    response = tenant_web_client(alpha, user).get(path)

    # Then they are refused; setting up TOTP would not let them in anyway
    assert response.status_code == 403


# --- query counts on list pages -------------------------------------------------------------------


@pytest.fixture
def alpha_with_25_clients(alpha, alice):
    with tenant_context(alpha):
        factories.ClientFactory.create_batch(25)
    return alpha


def test_the_client_list_page_costs_a_fixed_number_of_queries_for_25_clients(
    alpha_with_25_clients, alice, django_assert_max_num_queries
):
    client = tenant_web_client(alpha_with_25_clients, alice)

    # 11 statements (tenant, session, user, TOTP, 2 x permissions, the agent filter's choices, the
    # page of clients with their agents, the bell's unread count, the bulk form's agents and email
    # templates), each preceded by django-tenants' SET search_path: measured 22. No COUNT over the
    # clients. One more query per row would be 47.
    with django_assert_max_num_queries(22):
        response = client.get("/ops/crm/clients/")

    assert response.status_code == 200
    assert len(response.context["clients"]) == 25


def test_the_client_list_endpoint_costs_a_fixed_number_of_queries_for_25_clients(
    alpha_with_25_clients, alice, django_assert_max_num_queries
):
    client = api_client(alpha_with_25_clients, alice)

    # 5 statements (tenant, token with user, 2 x permissions, page; no COUNT: cursor pages), each
    # preceded by SET search_path: measured 10.
    with django_assert_max_num_queries(12):
        response = client.get("/api/v1/clients/")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 25
