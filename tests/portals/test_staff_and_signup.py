"""Staff management (/ops/staff/ and /api/v1/staff/), client sign-up on the portal, and login throttling."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from brokerage.models import AuditRecord, OutboxEvent, User
from crm.models import Client
from tests import factories
from tests.tenants.web import (
    api_client,
    forget_failed_logins,
    fresh_email,
    fresh_ip,
    platform_web_client,
    tenant_web_client,
    web_client,
)

pytestmark = pytest.mark.django_db

ALICES_IP = "203.0.113.7"
NEW_PASSWORD = "Sea-Lantern-Orbit-77"
WRONG_CREDENTIALS = b"The email address and/or password you specified are not correct."


@pytest.fixture
def sam(alpha):
    """A sales agent of alpha, with TOTP."""
    with tenant_context(alpha):
        return factories.staff_user("sam@alpha.test", roles=["sales"], mfa=True)


@pytest.fixture
def dave(alpha):
    """An admin of alpha (not an owner), with TOTP."""
    with tenant_context(alpha):
        return factories.staff_user("dave@alpha.test", roles=["admin"], mfa=True)


def reload(tenant, user) -> User:
    with tenant_context(tenant):
        return User.objects.get(pk=user.pk)


def roles_of(tenant, user) -> set[str]:
    return reload(tenant, user).role_names


def audit(tenant, action: str) -> list[AuditRecord]:
    with tenant_context(tenant):
        return list(AuditRecord.objects.filter(action=action))


def state_of(tenant) -> dict:
    """Everything a refused staff action must leave as it was."""
    with tenant_context(tenant):
        return {
            "users": sorted(
                (u.email, u.is_active, u.is_staff, tuple(sorted(u.groups.values_list("name", flat=True))))
                for u in User.objects.all()
            ),
            "audit": AuditRecord.objects.count(),
            "tokens": sorted(Token.objects.values_list("key", flat=True)),
        }


# --- inviting ----------------------------------------------------------------------------------


def test_an_owner_invites_a_colleague_on_the_staff_page_who_gets_an_email_roles_and_an_audit_record(
    alpha, alice, django_capture_on_commit_callbacks
):
    # Given Alice on the staff page
    client = tenant_web_client(alpha, alice, ip=ALICES_IP)

    # When she invites Nina as sales and support
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/ops/staff/",
            {"email": "Nina@Alpha.test", "first_name": "Nina", "last_name": "Novak", "roles": ["sales", "support"]},
        )

    # Then Nina exists with those roles and must still choose a password
    assert response.status_code == 302
    assert response["Location"] == "/ops/staff/"
    with tenant_context(alpha):
        nina = User.objects.get(email="nina@alpha.test")
        assert (nina.first_name, nina.last_name, nina.is_staff, nina.is_active) == ("Nina", "Novak", False, True)
        assert nina.role_names == {"sales", "support"}
        assert nina.has_usable_password() is False
    # And one invitation went to her
    assert [(m.to, m.subject) for m in mail.outbox] == [(["nina@alpha.test"], "Your invitation to Alpha")]
    assert "https://alpha.localhost/accounts/password/reset/key/" in mail.outbox[0].body
    # And the audit trail names Alice and where she was
    [record] = audit(alpha, "staff.invited")
    assert (record.actor_id, record.actor_email, record.ip_address) == (alice.pk, "alice@alpha.test", ALICES_IP)
    assert (record.object_type, record.object_id) == ("brokerage.User", str(nina.pk))
    assert record.after == {"email": "nina@alpha.test", "roles": ["sales", "support"]}
    # And the staff page lists her
    assert b"nina@alpha.test" in client.get("/ops/staff/").content


def test_an_invited_colleague_chooses_a_password_through_the_emailed_link_and_signs_in(
    alpha, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tenant_web_client(alpha, alice).post(
            "/ops/staff/", {"email": "nina@alpha.test", "first_name": "Nina", "last_name": "Novak", "roles": ["sales"]}
        )
    path = re.search(r"https://alpha\.localhost(/accounts/password/reset/key/\S+/)", mail.outbox[0].body).group(1)
    nina = web_client("alpha.localhost")

    opened = nina.get(path)
    assert opened.status_code == 302
    chosen = nina.post(opened["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert chosen["Location"] == "/accounts/password/reset/key/done/"
    signed_in = nina.post("/accounts/login/", {"login": "nina@alpha.test", "password": NEW_PASSWORD})

    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/"
    assert nina.get("/ops/")["Location"] == "/accounts/2fa/totp/activate/?next=%2Fops%2F"
    # The link works once
    assert b"Bad Token" in nina.get(path, follow=True).content


def test_an_owner_invites_a_colleague_through_the_api(alpha, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(alpha, alice, ip=ALICES_IP).post(
            "/api/v1/staff/",
            {"email": "Fred@Alpha.test", "first_name": "Fred", "roles": ["finance", "admin"]},
            content_type="application/json",
        )

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("email", "first_name", "last_name", "is_active", "roles", "last_login")} == {
        "email": "fred@alpha.test",
        "first_name": "Fred",
        "last_name": "",
        "is_active": True,
        "roles": ["admin", "finance"],
        "last_login": None,
    }
    assert reload(alpha, User(pk=body["id"])).is_staff is True  # admins reach /admin/
    assert [m.to for m in mail.outbox] == [["fred@alpha.test"]]
    [record] = audit(alpha, "staff.invited")
    assert (record.actor_email, record.ip_address, record.object_id) == ("alice@alpha.test", ALICES_IP, str(body["id"]))


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            {"email": "not-an-email", "roles": ["sales"]},
            {
                "code": "invalid",
                "message": "The request is not valid.",
                "fields": {"email": ["Enter a valid email address."]},
            },
            id="malformed email",
        ),
        pytest.param(
            {"roles": ["sales"]},
            {
                "code": "invalid",
                "message": "The request is not valid.",
                "fields": {"email": ["This field is required."]},
            },
            id="missing email",
        ),
        pytest.param(
            {"email": "carl@alpha.test", "roles": ["sales"]},
            {
                "code": "invalid",
                "message": "Someone with this email already has an account.",
                "fields": {"email": ["Already in use."]},
            },
            id="email of an existing client",
        ),
        pytest.param(
            {"email": "nina@alpha.test", "roles": []},
            {
                "code": "invalid",
                "message": "The request is not valid.",
                "fields": {"roles": ["Ensure this field has at least 1 elements."]},
            },
            id="no roles",
        ),
    ],
)
def test_invalid_invite_input_through_the_api_gets_400_with_a_field_map_and_changes_nothing(
    alpha, alice, carl, payload, expected, django_capture_on_commit_callbacks
):
    client = api_client(alpha, alice)
    before = state_of(alpha)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/staff/", payload, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"error": expected}
    assert state_of(alpha) == before
    assert mail.outbox == []


def test_an_api_invite_with_a_role_that_is_not_a_staff_role_names_the_problem_readably(alpha, alice):
    response = api_client(alpha, alice).post(
        "/api/v1/staff/", {"email": "nina@alpha.test", "roles": ["client"]}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"roles": ['"client" is not a valid choice.']}


def test_an_invite_on_the_staff_page_for_a_taken_email_shows_the_error_on_the_email_field(alpha, alice, carl):
    before = state_of(alpha)

    response = tenant_web_client(alpha, alice).post(
        "/ops/staff/", {"email": "carl@alpha.test", "first_name": "C", "last_name": "D", "roles": ["sales"]}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"email": ["Already in use."]}
    assert state_of(alpha) == before


# --- changing roles ----------------------------------------------------------------------------


def test_changing_roles_on_the_staff_page_is_audited_with_before_and_after(alpha, alice, sam):
    response = tenant_web_client(alpha, alice, ip=ALICES_IP).post(
        f"/ops/staff/{sam.pk}/", {"roles": ["finance", "support"]}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/ops/staff/{sam.pk}/"
    assert roles_of(alpha, sam) == {"finance", "support"}
    [record] = audit(alpha, "staff.roles_changed")
    assert (record.actor_email, record.ip_address, record.object_id) == ("alice@alpha.test", ALICES_IP, str(sam.pk))
    assert record.before == {"roles": ["sales"]}
    assert record.after == {"roles": ["finance", "support"]}


def test_changing_roles_through_the_api_is_audited_and_takes_effect_at_once(alpha, alice, sam):
    sams_api = api_client(alpha, sam)
    assert sams_api.get("/api/v1/audit/").status_code == 403

    response = api_client(alpha, alice).patch(
        f"/api/v1/staff/{sam.pk}/", {"roles": ["compliance"]}, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["roles"] == ["compliance"]
    [record] = audit(alpha, "staff.roles_changed")
    assert (record.before, record.after) == ({"roles": ["sales"]}, {"roles": ["compliance"]})
    assert sams_api.get("/api/v1/audit/").status_code == 200


# --- deactivating ----------------------------------------------------------------------------------


def test_a_deactivated_colleague_is_signed_out_loses_the_api_token_and_cannot_sign_in(alpha, alice, sam):
    # Given Sam is signed in and has an API token
    sams_pages = tenant_web_client(alpha, sam)
    sams_api = api_client(alpha, sam)
    assert sams_pages.get("/ops/").status_code == 200
    assert sams_api.get("/api/v1/me/").status_code == 200

    # When Alice deactivates him
    response = tenant_web_client(alpha, alice, ip=ALICES_IP).post(f"/ops/staff/{sam.pk}/active/", {"active": "0"})

    # Then he is inactive, his session and token no longer work, and his password does not let him in
    assert response.status_code == 302
    assert reload(alpha, sam).is_active is False
    assert sams_pages.get("/ops/")["Location"] == "/accounts/login/?next=/ops/"
    assert sams_api.get("/api/v1/me/").status_code == 401
    with tenant_context(alpha):
        assert not Token.objects.filter(user_id=sam.pk).exists()
    forget_failed_logins(alpha, "sam@alpha.test")
    fresh_login = web_client("alpha.localhost")
    login = fresh_login.post("/accounts/login/", {"login": "sam@alpha.test", "password": factories.PASSWORD})
    assert login["Location"] == "/accounts/inactive/"
    assert fresh_login.get("/ops/")["Location"] == "/accounts/login/?next=/ops/"
    # And it is audited
    [record] = audit(alpha, "staff.deactivated")
    assert (record.actor_email, record.ip_address) == ("alice@alpha.test", ALICES_IP)
    assert (record.before, record.after) == ({"is_active": True}, {"is_active": False})


def test_deactivating_through_the_api_is_audited(alpha, alice, sam):
    response = api_client(alpha, alice).patch(
        f"/api/v1/staff/{sam.pk}/", {"is_active": False}, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert reload(alpha, sam).is_active is False
    assert [r.actor_email for r in audit(alpha, "staff.deactivated")] == ["alice@alpha.test"]


# --- the last owner ------------------------------------------------------------------------------

LAST_OWNER = "A tenant must keep at least one active owner."


def test_the_last_owner_cannot_be_demoted_on_the_staff_page(alpha, alice):
    before = state_of(alpha)

    response = tenant_web_client(alpha, alice).post(f"/ops/staff/{alice.pk}/", {"roles": ["admin"]})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [LAST_OWNER]
    assert state_of(alpha) == before


def test_the_last_owner_cannot_be_demoted_through_the_api(alpha, alice, dave):
    client = api_client(alpha, dave)
    before = state_of(alpha)

    response = client.patch(f"/api/v1/staff/{alice.pk}/", {"roles": ["sales"]}, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"error": {"code": "invalid", "message": LAST_OWNER, "fields": {}}}
    assert state_of(alpha) == before
    assert roles_of(alpha, alice) == {"owner"}


def test_the_last_owner_cannot_be_deactivated_by_an_admin(alpha, alice, dave):
    before = state_of(alpha)

    response = tenant_web_client(alpha, dave).post(f"/ops/staff/{alice.pk}/active/", {"active": "0"}, follow=True)

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [LAST_OWNER]
    assert state_of(alpha) == before
    assert reload(alpha, alice).is_active is True


def test_the_last_owner_cannot_be_deactivated_through_the_api_nor_deactivate_herself(alpha, alice, dave):
    by_dave = api_client(alpha, dave).patch(
        f"/api/v1/staff/{alice.pk}/", {"is_active": False}, content_type="application/json"
    )
    by_herself = api_client(alpha, alice).patch(
        f"/api/v1/staff/{alice.pk}/", {"is_active": False}, content_type="application/json"
    )

    assert (by_dave.status_code, by_dave.json()["error"]["message"]) == (400, LAST_OWNER)
    assert (by_herself.status_code, by_herself.json()["error"]["message"]) == (400, "You cannot deactivate yourself.")
    assert reload(alpha, alice).is_active is True
    assert audit(alpha, "staff.deactivated") == []


def test_an_owner_can_be_demoted_while_another_active_owner_remains(alpha, alice):
    with tenant_context(alpha):
        olive = factories.staff_user("olive@alpha.test", roles=["owner"], mfa=True)

    response = api_client(alpha, alice).patch(
        f"/api/v1/staff/{olive.pk}/", {"roles": ["admin"]}, content_type="application/json"
    )

    assert response.status_code == 200
    assert roles_of(alpha, olive) == {"admin"}


def test_an_admin_cannot_demote_or_deactivate_an_owner_even_when_another_remains(alpha, alice, dave):
    with tenant_context(alpha):
        factories.staff_user("olive@alpha.test", roles=["owner"], mfa=True)
    client = api_client(alpha, dave)
    before = state_of(alpha)

    demote = client.patch(f"/api/v1/staff/{alice.pk}/", {"roles": ["admin"]}, content_type="application/json")
    deactivate = client.patch(f"/api/v1/staff/{alice.pk}/", {"is_active": False}, content_type="application/json")
    promote = client.patch(f"/api/v1/staff/{dave.pk}/", {"roles": ["owner"]}, content_type="application/json")

    only_owners = "Only an owner can make or remove an owner."
    assert [(r.status_code, r.json()["error"]["message"]) for r in (demote, deactivate, promote)] == [
        (400, only_owners)
    ] * 3
    assert state_of(alpha) == before


def test_a_refused_staff_update_changes_nothing_even_when_part_of_it_was_valid(alpha, alice):
    client = api_client(alpha, alice)
    before = state_of(alpha)

    response = client.patch(
        f"/api/v1/staff/{alice.pk}/",
        {"roles": ["owner", "finance"], "is_active": False},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert roles_of(alpha, alice) == {"owner"}
    assert state_of(alpha) == before


# --- a sales agent may not manage staff -----------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "method", "path", "data"),
    [
        ("page", "get", "/ops/staff/", None),
        (
            "page",
            "post",
            "/ops/staff/",
            {"email": "x@alpha.test", "first_name": "X", "last_name": "Y", "roles": ["owner"]},
        ),
        ("page", "get", "/ops/staff/{alice}/", None),
        ("page", "post", "/ops/staff/{alice}/", {"roles": ["sales"]}),
        ("page", "post", "/ops/staff/{alice}/active/", {"active": "0"}),
        ("api", "get", "/api/v1/staff/", None),
        ("api", "get", "/api/v1/staff/roles/", None),
        ("api", "get", "/api/v1/staff/{alice}/", None),
        ("api", "post", "/api/v1/staff/", {"email": "x@alpha.test", "roles": ["owner"]}),
        ("api", "patch", "/api/v1/staff/{alice}/", {"roles": ["sales"], "is_active": False}),
    ],
)
def test_a_sales_agent_gets_403_on_every_staff_action_and_nothing_changes(
    alpha, alice, sam, how, method, path, data, django_capture_on_commit_callbacks
):
    client = tenant_web_client(alpha, sam) if how == "page" else api_client(alpha, sam)
    before = state_of(alpha)
    kwargs = {"content_type": "application/json"} if how == "api" and data is not None else {}

    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(client, method)(path.format(alice=alice.pk), data, **kwargs)

    assert response.status_code == 403
    assert state_of(alpha) == before
    assert mail.outbox == []


# --- client sign-up ----------------------------------------------------------------------------------

SIGNUP_PASSWORD = "Sunny-Meadow-42"
CONFIRM_LINK = re.compile(r"http://alpha\.localhost(/accounts/confirm-email/\S+/)")


def signup(client, email: str, **changes):
    data = {
        "first_name": "Dora",
        "last_name": "Explorer",
        "country": "DE",
        "email": email,
        "password1": SIGNUP_PASSWORD,
        "password2": SIGNUP_PASSWORD,
        **changes,
    }
    return client.post("/accounts/signup/", data)


@pytest.fixture
def dora_email():
    """A new address each run: allauth's per-address limits live in the shared Redis."""
    return fresh_email("dora")


def test_signing_up_on_alpha_makes_a_client_and_sends_a_verification_email(
    alpha, dora_email, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signup(web_client("alpha.localhost"), dora_email)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    with tenant_context(alpha):
        user = User.objects.get(email=dora_email)
        assert (user.first_name, user.last_name, user.is_staff) == ("Dora", "Explorer", False)
        assert user.role_names == {"client"}
        client = Client.objects.get(user=user)
        assert (client.first_name, client.last_name, client.email, client.country, client.status) == (
            "Dora",
            "Explorer",
            dora_email,
            "DE",
            "registered",
        )
        assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [(dora_email, False)]
        assert list(OutboxEvent.objects.values_list("topic", "payload")) == [
            ("crm.client.registered", {"client_id": client.pk, "email": dora_email})
        ]
    assert [m.to for m in mail.outbox] == [[dora_email]]
    assert CONFIRM_LINK.search(mail.outbox[0].body)


def test_an_unverified_client_is_not_let_in(alpha, dora_email):
    signup(web_client("alpha.localhost"), dora_email)
    client = web_client("alpha.localhost")

    response = client.post("/accounts/login/", {"login": dora_email, "password": SIGNUP_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/portal/")["Location"] == "/accounts/login/?next=/portal/"


def test_after_confirming_through_the_emailed_link_the_client_reaches_the_portal_and_sees_their_name(alpha, dora_email):
    # Given Dora signed up and got the link
    signup(web_client("alpha.localhost"), dora_email)
    path = CONFIRM_LINK.search(mail.outbox[-1].body).group(1)
    client = web_client("alpha.localhost")

    # When she confirms and signs in
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 302
    login = client.post("/accounts/login/", {"login": dora_email, "password": SIGNUP_PASSWORD})

    # Then she lands on the portal with her own profile
    assert login["Location"] == "/"
    assert client.get("/")["Location"] == "/portal/"
    portal = client.get("/portal/")
    assert portal.status_code == 200
    assert b"<h1>Welcome, Dora</h1>" in portal.content
    assert f"Dora Explorer<br>{dora_email}<br>Country: DE".encode() in portal.content
    with tenant_context(alpha):
        assert EmailAddress.objects.get(email=dora_email).verified is True


def test_sign_up_on_the_platform_host_is_closed(db, dora_email):
    client = platform_web_client()

    page = client.get("/accounts/signup/")
    attempt = signup(client, dora_email)

    assert page.status_code == 200
    assert b"Sign Up Closed" in page.content
    assert b"Sign Up Closed" in attempt.content
    assert not User.objects.filter(email=dora_email).exists()  # public schema after a request on the platform host
    assert mail.outbox == []


def test_the_same_email_cannot_sign_up_twice(alpha):
    # Given a client of alpha (a new address each run: allauth sends one email per address per 3 minutes)
    email = fresh_email("existing", "alpha.test")
    with tenant_context(alpha):
        existing = factories.client_user(email)
        users, clients = User.objects.count(), Client.objects.count()

    # When someone signs up again with that address, in capitals
    response = signup(web_client("alpha.localhost"), email.upper(), first_name="Impostor")

    # Then allauth does not reveal that the address is taken: it answers as for a new sign-up...
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    # ...but creates and changes nothing, and tells the address's owner instead
    with tenant_context(alpha):
        assert (User.objects.count(), Client.objects.count()) == (users, clients)
        assert User.objects.get(email=email).first_name == existing.first_name != "Impostor"
    assert [(m.to, m.subject) for m in mail.outbox] == [([email], "[Alpha] Account Already Exists")]


# --- login throttling ----------------------------------------------------------------------------------


def test_after_five_failed_logins_the_account_is_locked_even_for_the_right_password(alpha):
    # Given an account of alpha (a new address, so no earlier run's failures count)
    email = fresh_email("throttled", "alpha.test")
    with tenant_context(alpha):
        factories.staff_user(email, roles=["sales"], mfa=False)
    attacker = web_client("alpha.localhost", ip=fresh_ip())

    # When five wrong passwords are tried
    for _ in range(5):
        failed = attacker.post("/accounts/login/", {"login": email, "password": "wrong-password-1"})
        assert failed.status_code == 200
        assert WRONG_CREDENTIALS in failed.content

    # Then the sixth attempt, with the right password and from another address, is refused too
    owner = web_client("alpha.localhost", ip=fresh_ip())
    refused = owner.post("/accounts/login/", {"login": email, "password": factories.PASSWORD})
    assert refused.status_code == 200
    assert b"Too many failed login attempts. Try again later." in refused.content
    assert "_auth_user_id" not in owner.session
    assert owner.get("/ops/")["Location"] == "/accounts/login/?next=/ops/"


def test_failed_logins_for_one_account_do_not_lock_another(alpha):
    locked, other = fresh_email("throttled", "alpha.test"), fresh_email("other", "alpha.test")
    with tenant_context(alpha):
        factories.client_user(locked)
        factories.client_user(other)
    client = web_client("alpha.localhost", ip=fresh_ip())
    for _ in range(5):
        client.post("/accounts/login/", {"login": locked, "password": "wrong-password-1"})

    response = client.post("/accounts/login/", {"login": other, "password": factories.PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
