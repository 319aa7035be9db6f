import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import RequestFactory, override_settings
from django_tenants.utils import schema_context

from brokerage.models import User
from brokerage.request_context import client_ip
from tenants.models import Domain
from tests.conftest import tenant_client


def test_create_platform_sets_up_the_console_domain_and_invites_the_operator(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("create_platform", "console.example.com", "Ops@Example.com")
    assert Domain.objects.get(domain="console.example.com").tenant.schema_name == "public"
    with schema_context("public"):
        operator = User.objects.get(email="ops@example.com")
    assert operator.is_staff and operator.is_superuser and not operator.has_usable_password()
    assert len(mail.outbox) == 1
    assert "://console.example.com/accounts/password/reset/key/" in mail.outbox[0].body

    # Again: the domain is kept, and a second invitation for the same person is refused.
    with pytest.raises(CommandError, match="exists already"):
        call_command("create_platform", "console.example.com", "ops@example.com")
    assert Domain.objects.filter(domain="console.example.com").count() == 1


def test_create_platform_refuses_a_tenant_domain_and_bad_email(alpha):
    with pytest.raises(CommandError, match="belongs to a tenant"):
        call_command("create_platform", "alpha.localhost")
    with pytest.raises(CommandError, match="valid email"):
        call_command("create_platform", "console.example.com", "not-an-email")
    with schema_context("public"):
        assert not User.objects.filter(email="not-an-email").exists()


def test_the_admin_has_no_password_only_login(alpha):
    response = tenant_client(alpha).get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_client_on_ops_gets_a_plain_refusal_not_an_mfa_prompt(alpha, carl):
    response = tenant_client(alpha, carl).get("/ops/")
    assert response.status_code == 403


def test_staff_without_totp_are_sent_to_set_it_up(alpha):
    from django_tenants.utils import tenant_context

    from tests.factories import staff_user

    with tenant_context(alpha):
        dora = staff_user("dora@alpha.test", roles=["finance"], mfa=False)
    response = tenant_client(alpha, dora).get("/ops/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate/")


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1"),  # no proxy configured: a forged header is ignored
        (1, "198.51.100.7, 203.0.113.9", "203.0.113.9"),  # the address our proxy saw
        (2, "198.51.100.7, 203.0.113.9", "198.51.100.7"),
        (2, "203.0.113.9", "10.0.0.1"),  # fewer hops than proxies: fall back to the peer
    ],
)
def test_client_ip_trusts_only_our_own_proxies(proxies, forwarded, expected):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(BROKERAGE_TRUSTED_PROXY_COUNT=proxies):
        assert client_ip(request) == expected
