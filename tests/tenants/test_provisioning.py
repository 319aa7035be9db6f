"""Provisioning a sub-broker: `tenants.services.tenant_provision` and `manage.py provision_tenant`.

Creating a tenant runs DDL (CREATE SCHEMA, the tenant migrations). PostgreSQL's
DDL is transactional, so these tests run inside pytest-django's ordinary
per-test transaction: the rollback at the end drops the new schema, tenant and
domain again (no `transaction=True`, no truncating and re-creating alpha/beta).
Invitation emails are sent on commit, so `django_capture_on_commit_callbacks`
runs those callbacks.

Each real creation costs ~2.5 s; there are three.
"""

from __future__ import annotations

import re
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import tenant_context

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord, User
from brokerage.roles import ROLE_CAPABILITIES, ROLE_MODEL_PERMISSIONS, Role
from tenants.models import Domain, Tenant
from tenants.services import tenant_provision
from tests import factories
from tests.tenants.web import web_client

pytestmark = pytest.mark.django_db

INVITATION_LINK = re.compile(r"https://gamma\.localhost(/accounts/password/reset/key/[0-9a-z]+-[0-9a-z]+-[0-9a-f]+/)")
NEW_PASSWORD = "Sea-Lantern-Orbit-77"


def schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def schema_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 't\\_%%'")
        return cursor.fetchone()[0]


@pytest.fixture
def first_operator(db):
    """The platform's first operator: user 1 of the public schema, as `createsuperuser` makes it.

    The new tenant's owner is user 1 of the new schema too. Invitations once computed their
    token in the public schema, which attached the owner's address to this operator and broke
    the link; the same ids keep that case covered.
    """
    connection.set_schema_to_public()
    return User.objects.filter(pk=1).first() or factories.UserFactory(
        id=1, email="olga@platform.test", is_staff=True, roles=[]
    )


def roles_in_current_schema() -> dict[str, set[str]]:
    """Each group of the current schema with its permissions as "app_label.codename"."""
    return {
        group.name: {
            f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
        }
        for group in Group.objects.all()
    }


EXPECTED_ROLES = {
    role.value: {f"brokerage.{c}" for c in ROLE_CAPABILITIES[role]} | set(ROLE_MODEL_PERMISSIONS.get(role, ()))
    for role in Role
}


# --- the happy path ------------------------------------------------------------------------------


def test_provisioning_creates_schema_domain_roles_owner_and_sends_one_invitation(
    first_operator, django_capture_on_commit_callbacks
):
    # Given valid details (with stray spaces and capitals)
    # When the operator provisions a tenant
    with django_capture_on_commit_callbacks(execute=True):
        tenant = tenant_provision(
            name=" Gamma Markets ",
            domain=" Gamma.Localhost ",
            admin_email="Owner@Gamma.test",
            base_currency="EUR",
            jurisdiction="CySEC",
            actor=first_operator,
        )
    connection.set_schema_to_public()

    # Then the tenant row, its schema and its domain exist
    tenant = Tenant.objects.get(pk=tenant.pk)
    assert (tenant.name, tenant.slug, tenant.schema_name) == ("Gamma Markets", "gamma-markets", "t_gamma_markets")
    assert (tenant.status, tenant.base_currency, tenant.jurisdiction) == ("active", "EUR", "CySEC")
    assert tenant.support_email == ""  # a support address is set in branding, not guessed from the owner's login
    assert schema_exists("t_gamma_markets")
    assert list(Domain.objects.filter(tenant=tenant).values_list("domain", "is_primary")) == [("gamma.localhost", True)]

    with tenant_context(tenant):
        # And the ten role groups carry exactly their capabilities (owners and admins also the admin site's)
        assert len(EXPECTED_ROLES) == 10
        assert roles_in_current_schema() == EXPECTED_ROLES
        # And the first admin is an owner who still has to choose a password
        owner = User.objects.get()
        assert owner.email == "owner@gamma.test"
        assert owner.role_names == {Role.OWNER.value}
        assert owner.is_staff is True
        assert owner.is_active is True
        assert owner.has_usable_password() is False
        assert list(EmailAddress.objects.values_list("email", "verified", "primary")) == [
            ("owner@gamma.test", True, True)
        ]
        invited = AuditRecord.objects.get(action="staff.invited")
        assert (invited.actor_id, invited.object_id) == (None, str(owner.pk))
        assert invited.after == {"email": "owner@gamma.test", "roles": ["owner"]}

    # And exactly one invitation went out, with a link on the new domain
    assert len(mail.outbox) == 1
    invitation = mail.outbox[0]
    assert invitation.to == ["owner@gamma.test"]
    assert invitation.subject == "Your invitation to Gamma Markets"
    assert INVITATION_LINK.search(invitation.body)

    # And the platform's audit trail names the operator
    provisioned = AuditRecord.objects.get(action="tenants.tenant.provisioned")
    assert (provisioned.actor_id, provisioned.actor_email) == (first_operator.pk, first_operator.email)
    assert provisioned.object_id == str(tenant.pk)
    assert provisioned.after == {
        "slug": "gamma-markets",
        "domain": "gamma.localhost",
        "admin_email": "owner@gamma.test",
    }


def test_the_new_owners_invitation_link_lets_them_choose_a_password_and_sign_in(
    first_operator, django_capture_on_commit_callbacks
):
    # Given the platform's accounts before provisioning
    public_addresses = set(EmailAddress.objects.values_list("user_id", "email"))
    with django_capture_on_commit_callbacks(execute=True):
        tenant_provision(
            name="Gamma Markets", domain="gamma.localhost", admin_email="owner@gamma.test", actor=first_operator
        )

    # Then nothing of the new tenant was written onto the platform's accounts
    connection.set_schema_to_public()
    assert set(EmailAddress.objects.values_list("user_id", "email")) == public_addresses

    # When the owner opens the emailed link on the new domain
    link = INVITATION_LINK.search(mail.outbox[0].body).group(1)
    client = web_client("gamma.localhost")
    response = client.get(link)

    # Then allauth accepts the key and shows the set-password form
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/key/1-set-password/"

    # When they choose a password
    response = client.post(response["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/key/done/"

    # Then they can sign in with it, and are asked to set up TOTP before /ops/
    response = client.post("/accounts/login/", {"login": "owner@gamma.test", "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/ops/")["Location"] == "/accounts/2fa/totp/activate/?next=%2Fops%2F"


def test_the_provision_tenant_command_creates_the_tenant_and_reports_where(
    first_operator, django_capture_on_commit_callbacks
):
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "provision_tenant",
            "Delta Brokers",
            "delta.localhost",
            "boss@delta.test",
            "--slug",
            "delta",
            "--currency",
            "gbp",
            "--jurisdiction",
            "FCA",
            stdout=out,
        )

    assert out.getvalue() == "Tenant delta created on delta.localhost (schema t_delta).\n"
    connection.set_schema_to_public()
    tenant = Tenant.objects.get(slug="delta")
    assert (tenant.name, tenant.base_currency, tenant.jurisdiction) == ("Delta Brokers", "GBP", "FCA")
    assert tenant.primary_domain == "delta.localhost"
    assert schema_exists("t_delta")
    with tenant_context(tenant):
        assert list(User.objects.values_list("email", flat=True)) == ["boss@delta.test"]
        assert roles_in_current_schema() == EXPECTED_ROLES
    assert [m.to for m in mail.outbox] == [["boss@delta.test"]]
    audit = AuditRecord.objects.get(action="tenants.tenant.provisioned")
    assert (audit.actor_id, audit.actor_email) == (None, "")


# --- bad input -------------------------------------------------------------------------------------

VALID = {"name": "Gamma Markets", "domain": "gamma.localhost", "admin_email": "owner@gamma.test"}
DOMAIN_HELP = ["Enter a host name such as broker.example.com (no scheme, port or path)."]
SLUG_HELP = ["Use 3-40 lowercase letters, digits and hyphens, starting with a letter."]


@pytest.mark.parametrize(
    ("changes", "expected_fields"),
    [
        pytest.param({"slug": "alpha"}, {"slug": ["The slug 'alpha' is taken."]}, id="taken slug"),
        pytest.param(
            {"name": "Beta"},
            {"name": ["A tenant named 'Beta' exists already."], "slug": ["The slug 'beta' is taken."]},
            id="name whose slug is taken",
        ),
        pytest.param({"slug": "admin"}, {"slug": ["'admin' is reserved by the platform."]}, id="reserved slug"),
        pytest.param({"slug": "Not A Slug"}, {"slug": SLUG_HELP}, id="malformed slug"),
        pytest.param(
            {"domain": "alpha.localhost"},
            {"domain": ["alpha.localhost already belongs to a tenant."]},
            id="taken domain",
        ),
        pytest.param(
            {"domain": "BETA.localhost"},
            {"domain": ["beta.localhost already belongs to a tenant."]},
            id="taken domain in capitals",
        ),
        pytest.param({"domain": "http://x"}, {"domain": DOMAIN_HELP}, id="domain with a scheme"),
        pytest.param({"domain": "bad domain"}, {"domain": DOMAIN_HELP}, id="domain with a space"),
        pytest.param({"domain": "gamma.localhost:8000"}, {"domain": DOMAIN_HELP}, id="domain with a port"),
        pytest.param({"domain": "gamma.localhost/ops"}, {"domain": DOMAIN_HELP}, id="domain with a path"),
        pytest.param(
            {"admin_email": "not-an-email"}, {"admin_email": ["Enter a valid email address."]}, id="bad email"
        ),
        pytest.param({"base_currency": "XXX"}, {"base_currency": ["Choose a fiat currency."]}, id="unknown currency"),
        pytest.param({"base_currency": "BTC"}, {"base_currency": ["Choose a fiat currency."]}, id="crypto currency"),
        pytest.param(
            {"slug": "alpha", "domain": "http://x", "admin_email": "owner@"},
            {
                "slug": ["The slug 'alpha' is taken."],
                "domain": DOMAIN_HELP,
                "admin_email": ["Enter a valid email address."],
            },
            id="everything wrong at once",
        ),
    ],
)
def test_bad_input_is_refused_field_by_field_and_creates_nothing(
    first_operator, changes, expected_fields, django_capture_on_commit_callbacks
):
    # Given how much exists now
    counts = (Tenant.objects.count(), Domain.objects.count(), schema_count(), AuditRecord.objects.count())

    # When provisioning is asked for with one bad detail
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError) as refused:
        tenant_provision(**{**VALID, **changes}, actor=first_operator)

    # Then each problem is named on its field
    assert refused.value.message == "The tenant cannot be created."
    assert refused.value.fields == expected_fields
    # And nothing was created, written or sent
    connection.set_schema_to_public()
    assert (Tenant.objects.count(), Domain.objects.count(), schema_count(), AuditRecord.objects.count()) == counts
    assert not schema_exists("t_gamma_markets")
    assert mail.outbox == []


def test_the_command_reports_bad_input_as_a_command_error_and_creates_nothing(first_operator):
    counts = (Tenant.objects.count(), schema_count())

    with pytest.raises(CommandError) as refused:
        call_command("provision_tenant", "Alpha", "alpha.localhost", "owner@alpha.test", stdout=StringIO())

    assert str(refused.value) == (
        "The tenant cannot be created. name: A tenant named 'Alpha' exists already.; slug: The slug 'alpha' is taken.; "
        "domain: alpha.localhost already belongs to a tenant."
    )
    connection.set_schema_to_public()
    assert (Tenant.objects.count(), schema_count()) == counts
    assert mail.outbox == []
