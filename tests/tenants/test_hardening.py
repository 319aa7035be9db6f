"""Holes found in review, each closed and kept closed."""

import threading

import pytest
from allauth.account.models import EmailAddress, EmailConfirmation
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, connections, transaction
from django.test import override_settings
from django_tenants.utils import tenant_context

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.events import event_publish
from brokerage.models import AuditRecord, OutboxEvent, User
from brokerage.staff import staff_invite
from crm.models import Client
from tenants.services import tenant_provision
from tests import factories
from tests.tenants.web import api_client, fresh_email, tenant_web_client


def test_an_email_confirmation_key_of_alpha_verifies_nothing_on_beta(alpha, beta):
    """Ids repeat across schemas: a key must not be a signature of the id alone."""
    from allauth.account.models import EmailConfirmationHMAC

    with tenant_context(alpha):
        mallory = factories.UserFactory(email=fresh_email("mallory"))
        address = EmailAddress.objects.get(user=mallory)
        signed_key = EmailConfirmationHMAC(address).key
        stored_key = EmailConfirmation.create(address).key
    with tenant_context(beta):
        victim = factories.UserFactory(email=fresh_email("victim"))
        EmailAddress.objects.filter(user=victim).delete()
        EmailAddress.objects.create(pk=address.pk, user=victim, email=victim.email, verified=False, primary=True)

    client = tenant_web_client(beta)
    assert client.post(f"/accounts/confirm-email/{signed_key}/").status_code == 404
    assert client.post(f"/accounts/confirm-email/{stored_key}/").status_code == 404
    with tenant_context(beta):
        assert EmailAddress.objects.get(pk=address.pk).verified is False


def test_staff_without_totp_cannot_use_the_api_with_their_session(alpha):
    with tenant_context(alpha):
        nina = factories.staff_user("nina@alpha.test", roles=["owner"], mfa=False)

    response = tenant_web_client(alpha, nina).get("/api/v1/staff/")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "mfa_required"


def test_an_admin_cannot_invite_an_owner(alpha, alice):
    with tenant_context(alpha):
        dave = factories.staff_user("dave@alpha.test", roles=["admin"], mfa=True)
    response = api_client(alpha, dave).post(
        "/api/v1/staff/", {"email": "new.owner@alpha.test", "roles": ["owner"]}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Only an owner can make someone an owner."
    with tenant_context(alpha):
        assert not User.objects.filter(email="new.owner@alpha.test").exists()
        # Provisioning (no acting person) and owners still can.
        assert staff_invite(email="second.owner@alpha.test", roles=["owner"], actor=alice).role_names == {"owner"}


def test_the_admin_cannot_set_passwords_or_switch_people_off(alpha, alice, carl):
    with tenant_context(alpha):
        dave = factories.staff_user("dave@alpha.test", roles=["admin"], mfa=True)
    client = tenant_web_client(alpha, dave)

    assert client.get(f"/admin/brokerage/user/{carl.pk}/password/").status_code == 403
    client.post(
        f"/admin/brokerage/user/{alice.pk}/change/",
        {"first_name": "Alice", "last_name": "Owner", "is_active": "", "email": "x@evil.test"},
    )
    with tenant_context(alpha):
        alice.refresh_from_db()
        assert alice.is_active is True
        assert alice.email == "alice@alpha.test"


def test_a_client_changed_in_the_admin_is_audited(alpha, alice):
    with tenant_context(alpha):
        client_row = factories.ClientFactory(first_name="Old")
    response = tenant_web_client(alpha, alice).post(
        f"/admin/crm/client/{client_row.pk}/change/",
        {
            "first_name": "New",
            "last_name": client_row.last_name,
            "email": client_row.email,
            "country": "GB",
            "status": "verified",
            "kyc_status": "approved",
            "risk_level": "low",
        },
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        record = AuditRecord.objects.get(action="admin.crm.client.updated")
    assert (record.actor_email, record.before["first_name"], record.after["first_name"]) == (
        "alice@alpha.test",
        "Old",
        "New",
    )


def test_a_tenant_domain_serves_only_its_own_logo(alpha, beta, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "branding" / "alpha").mkdir(parents=True)
    (tmp_path / "branding" / "alpha" / "logo.png").write_bytes(b"\x89PNG fake")

    assert tenant_web_client(alpha).get("/media/branding/alpha/logo.png").status_code == 200
    assert tenant_web_client(beta).get("/media/branding/alpha/logo.png").status_code == 404


def test_seed_demo_refuses_outside_a_demo():
    with (
        override_settings(DEBUG=False, TESTING=False, BROKERAGE_DEMO=False),
        pytest.raises(CommandError, match="published passwords"),
    ):
        call_command("seed_demo")


def test_an_event_is_dispatched_from_the_schema_it_was_published_in(alpha, beta, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with tenant_context(beta):
            unrelated = OutboxEvent.objects.create(topic="tests.unrelated")
        with tenant_context(alpha):
            event = event_publish("tests.dispatched", {"n": 1})
    with tenant_context(alpha):
        event.refresh_from_db()
        assert event.delivered_at is not None
    with tenant_context(beta):
        unrelated.refresh_from_db()
        assert unrelated.delivered_at is None


def test_signing_up_with_the_email_of_a_lead_makes_the_lead_the_client(alpha):
    email = fresh_email("lead")
    with tenant_context(alpha):
        lead = factories.ClientFactory(email=email, status=Client.Status.LEAD, first_name="Lead")
        audit_log(actor=None, action="crm.lead.created", obj=lead)

    response = tenant_web_client(alpha).post(
        "/accounts/signup/",
        {
            "first_name": "Linda",
            "last_name": "Lead",
            "country": "GB",
            "email": email,
            "password1": "a-long-signup-password",
            "password2": "a-long-signup-password",
        },
    )

    assert response.status_code == 302
    with tenant_context(alpha):
        client_row = Client.objects.get(email=email)
        assert client_row.pk == lead.pk
        assert (client_row.first_name, client_row.status, client_row.user.email) == ("Linda", "registered", email)


def test_a_failed_sign_up_leaves_no_user_behind(alpha, monkeypatch):
    email = fresh_email("broken")

    def refuse(**kwargs):
        raise IntegrityError("simulated")

    monkeypatch.setattr("crm.forms.services.client_register", refuse)
    with pytest.raises(IntegrityError):
        tenant_web_client(alpha).post(
            "/accounts/signup/",
            {
                "first_name": "B",
                "last_name": "Roken",
                "country": "GB",
                "email": email,
                "password1": "a-long-signup-password",
                "password2": "a-long-signup-password",
            },
        )
    with tenant_context(alpha):
        assert not User.objects.filter(email=email).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "N" * 101}, "name"),
        ({"jurisdiction": "J" * 101}, "jurisdiction"),
        ({"support_email": "not-an-email"}, "support_email"),
    ],
)
def test_overlong_or_malformed_tenant_details_are_named_not_crashed(db, changes, field):
    details = {"name": "Gamma", "domain": "gamma.localhost", "admin_email": "owner@gamma.test", **changes}
    with pytest.raises(ApplicationError) as refused:
        tenant_provision(**details)
    assert field in refused.value.fields


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner(alpha):
    from brokerage.staff import staff_set_roles

    with tenant_context(alpha):
        ann = factories.staff_user("ann@alpha.test", roles=["owner"])
        ben = factories.staff_user("ben@alpha.test", roles=["owner"])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(actor_pk: int, target_pk: int) -> None:
        try:
            connection.set_tenant(alpha)
            actor, target = User.objects.get(pk=actor_pk), User.objects.get(pk=target_pk)
            barrier.wait()
            staff_set_roles(user=target, roles=["admin"], actor=actor)
            outcomes.append("demoted")
        except ApplicationError as error:
            outcomes.append(error.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=demote, args=pair) for pair in ((ann.pk, ben.pk), (ben.pk, ann.pk))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["A tenant must keep at least one active owner.", "demoted"]
    with tenant_context(alpha):
        assert User.objects.filter(groups__name="owner").count() == 1


@pytest.mark.parametrize("url", ["/ops/crm/clients/?q=%00", "/ops/audit/?actor=%00", "/api/v1/clients/?search=%00"])
def test_a_nul_byte_in_a_filter_is_a_bad_request_not_a_crash(alpha, alice, url):
    response = tenant_web_client(alpha, alice).get(url)
    assert response.status_code == 400


@pytest.mark.parametrize("day", ["2026-02-30", "2026-13-45", "yesterday"])
def test_an_impossible_date_in_the_audit_filter_is_ignored(alpha, alice, day):
    with tenant_context(alpha):
        audit_log(actor=alice, action="staff.invited", obj=alice)
    response = tenant_web_client(alpha, alice).get("/ops/audit/", {"until": day})
    assert response.status_code == 200
    assert b"staff.invited" in response.content


def test_a_logo_that_decodes_to_a_huge_image_is_refused(alpha):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from tenants.services import tenant_brand

    buffer = io.BytesIO()
    Image.new("1", (4000, 4000)).save(buffer, format="PNG")  # tiny file, 16 megapixels
    logo = SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")
    with pytest.raises(ApplicationError) as refused:
        tenant_brand(tenant=alpha, actor=None, logo=logo)
    assert refused.value.fields == {"logo": ["Keep it within 2000×2000 pixels."]}
    alpha.refresh_from_db()
    assert not alpha.logo


def test_a_new_primary_email_follows_into_the_client_record(alpha, carl):
    from allauth.account.signals import email_changed

    with tenant_context(alpha):
        old = EmailAddress.objects.get(user=carl)
        EmailAddress.objects.filter(pk=old.pk).update(primary=False)
        carl.email = "carl.new@alpha.test"
        carl.save()
        new = EmailAddress.objects.create(user=carl, email=carl.email, verified=True, primary=True)
        email_changed.send(sender=User, request=None, user=carl, from_email_address=old, to_email_address=new)
        assert Client.objects.get(user=carl).email == "carl.new@alpha.test"
        record = AuditRecord.objects.get(action="crm.client.email_changed")
        assert (record.before, record.after) == ({"email": "carl@alpha.test"}, {"email": "carl.new@alpha.test"})


def test_sign_up_needs_a_real_country(alpha):
    response = tenant_web_client(alpha).post(
        "/accounts/signup/",
        {
            "first_name": "Z",
            "last_name": "Z",
            "country": "ZZ",
            "email": fresh_email("zz"),
            "password1": "a-long-signup-password",
            "password2": "a-long-signup-password",
        },
    )
    assert response.status_code == 200
    assert "country" in response.context["form"].errors
