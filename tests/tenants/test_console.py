"""The operator console on the platform host: who gets in, suspending and reactivating a tenant,
and branding it (colour and logo, with uploads checked by content, size and type)."""

from __future__ import annotations

import io
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from brokerage.models import AuditRecord
from tenants.models import Tenant
from tenants.services import tenant_suspend
from tests import factories
from tests.tenants.web import api_client, platform_web_client, tenant_web_client

pytestmark = pytest.mark.django_db


def public_user(email: str, *, is_staff: bool, mfa: bool = True):
    """A user of the public schema (the platform's own accounts)."""
    connection.set_schema_to_public()
    user = factories.staff_user(email, roles=[], mfa=mfa)
    user.is_staff = is_staff
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def operator(db):
    return public_user("olga@platform.test", is_staff=True)


def fresh(tenant: Tenant) -> Tenant:
    connection.set_schema_to_public()
    return Tenant.objects.get(pk=tenant.pk)


def platform_audit(action: str) -> list[AuditRecord]:
    connection.set_schema_to_public()
    return list(AuditRecord.objects.filter(action=action))


# --- who gets in ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/tenants/alpha/"])
def test_an_anonymous_visitor_is_sent_to_sign_in(path):
    response = platform_web_client().get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize("mfa", [True, False], ids=["with TOTP", "without TOTP"])
def test_a_public_user_who_is_not_staff_is_refused_and_cannot_suspend(alpha, mfa):
    # Given a platform account without operator rights
    client = platform_web_client(public_user("visitor@platform.test", is_staff=False, mfa=mfa))

    # When they open the console and try to suspend alpha
    listing = client.get("/")
    suspending = client.post("/tenants/alpha/status/", {"action": "suspend", "reason": "Because"})

    # Then both are refused and alpha is untouched
    assert listing.status_code == 403
    assert suspending.status_code == 403
    assert fresh(alpha).status == "active"
    assert platform_audit("tenants.tenant.suspended") == []


def test_an_operator_sees_every_tenant_but_not_the_platform_itself(operator, alpha, beta):
    response = platform_web_client(operator).get("/")

    assert response.status_code == 200
    assert [t.slug for t in response.context["tenants"]] == ["alpha", "beta"]
    assert b"alpha.localhost" in response.content
    assert b"beta.localhost" in response.content


def test_an_operator_without_totp_is_sent_to_set_it_up_first(db):
    client = platform_web_client(public_user("newbie@platform.test", is_staff=True, mfa=False))

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/?next=%2F"


# --- suspending and reactivating -------------------------------------------------------------------


def test_suspending_a_tenant_with_a_reason_is_audited_and_closes_its_pages_and_api(operator, alpha, beta, alice, bob):
    # Given alpha is working for Alice, by page and by token
    alices_pages = tenant_web_client(alpha, alice)
    alices_api = api_client(alpha, alice)
    assert alices_pages.get("/ops/").status_code == 200

    # When the operator suspends alpha with a reason
    response = platform_web_client(operator).post(
        "/tenants/alpha/status/", {"action": "suspend", "reason": " Unpaid invoice "}
    )

    # Then alpha is suspended, and the platform's audit trail says who and why
    assert response.status_code == 302
    assert response["Location"] == "/tenants/alpha/"
    alpha = fresh(alpha)
    assert (alpha.status, alpha.suspended_reason) == ("suspended", "Unpaid invoice")
    [record] = platform_audit("tenants.tenant.suspended")
    assert (record.actor_id, record.actor_email, record.object_id) == (operator.pk, "olga@platform.test", str(alpha.pk))
    assert record.before == {"status": "active", "suspended_reason": ""}
    assert record.after == {"status": "suspended", "suspended_reason": "Unpaid invoice"}

    # And alpha's pages show the suspended notice with 403, signed in or not
    for client, path in [
        (alices_pages, "/ops/"),
        (alices_pages, "/portal/"),
        (tenant_web_client(alpha), "/accounts/login/"),
    ]:
        page = client.get(path)
        assert page.status_code == 403, path
        assert b"<h1>Service suspended</h1>" in page.content
        assert b"Alpha's back office is suspended by the platform operator." in page.content

    # And alpha's API refuses with a JSON error
    api = alices_api.get("/api/v1/me/")
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "tenant_suspended"
    assert api.json()["error"]["message"] == "This broker's service is suspended."

    # And beta carries on
    assert tenant_web_client(beta, bob).get("/ops/").status_code == 200


def test_a_suspended_tenants_api_error_has_the_standard_error_shape(operator, alpha, alice):
    tenant_suspend(tenant=alpha, reason="Unpaid invoice", actor=operator)

    response = api_client(alpha, alice).get("/api/v1/me/")

    assert response.json() == {
        "error": {"code": "tenant_suspended", "message": "This broker's service is suspended.", "fields": {}}
    }


def test_suspending_without_a_reason_is_refused_and_changes_nothing(operator, alpha):
    client = platform_web_client(operator)

    response = client.post("/tenants/alpha/status/", {"action": "suspend", "reason": "   "}, follow=True)

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == ["Say why the tenant is suspended."]
    assert fresh(alpha).status == "active"
    assert platform_audit("tenants.tenant.suspended") == []


def test_reactivating_a_suspended_tenant_restores_its_pages_and_api(operator, alpha, alice):
    # Given alpha was suspended
    tenant_suspend(tenant=alpha, reason="Unpaid invoice", actor=operator)
    assert tenant_web_client(alpha, alice).get("/ops/").status_code == 403

    # When the operator reactivates it
    response = platform_web_client(operator).post("/tenants/alpha/status/", {"action": "reactivate"})

    # Then it is active again, audited, and Alice is back in by page and API
    assert response.status_code == 302
    alpha = fresh(alpha)
    assert (alpha.status, alpha.suspended_reason) == ("active", "")
    [record] = platform_audit("tenants.tenant.reactivated")
    assert record.actor_email == "olga@platform.test"
    assert record.before == {"status": "suspended", "suspended_reason": "Unpaid invoice"}
    assert record.after == {"status": "active", "suspended_reason": ""}
    assert tenant_web_client(alpha, alice).get("/ops/").status_code == 200
    assert api_client(alpha, alice).get("/api/v1/me/").status_code == 200


# --- branding --------------------------------------------------------------------------------------


def png(size: tuple[int, int] = (8, 8), *, noise: bool = False) -> bytes:
    if noise:  # random pixels barely compress: a big file from a modest image
        pixels = random.Random(7).randbytes(size[0] * size[1] * 3)
        image = Image.frombytes("RGB", size, pixels)
    else:
        image = Image.new("RGB", size, (171, 18, 205))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="#ab12cd"/></svg>'
BRANDING = {
    "display_name": "Alpha FX",
    "primary_colour": "#ab12cd",
    "support_email": "desk@alpha.test",
    "jurisdiction": "CySEC",
    "base_currency": "EUR",
}


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_branding_with_a_colour_and_a_real_png_logo_is_saved_and_shown_on_alphas_pages(operator, alpha, media_root):
    # Given a small real PNG
    logo = png()

    # When the operator saves alpha's branding
    response = platform_web_client(operator).post(
        "/tenants/alpha/", {**BRANDING, "logo": SimpleUploadedFile("my logo.PNG", logo, content_type="image/png")}
    )

    # Then it is stored
    assert response.status_code == 302
    assert response["Location"] == "/tenants/alpha/"
    alpha = fresh(alpha)
    assert (alpha.display_name, alpha.primary_colour, alpha.support_email) == ("Alpha FX", "#ab12cd", "desk@alpha.test")
    assert (alpha.jurisdiction, alpha.base_currency) == ("CySEC", "EUR")
    assert alpha.logo.name == "branding/alpha/logo.png"
    assert (media_root / "branding" / "alpha" / "logo.png").read_bytes() == logo
    [record] = platform_audit("tenants.tenant.branded")
    assert record.actor_email == "olga@platform.test"
    assert record.after["primary_colour"] == "#ab12cd"
    assert record.after["logo"] == "branding/alpha/logo.png"

    # And alpha's pages wear it
    page = tenant_web_client(alpha).get("/accounts/login/")
    assert b":root { --brand: #ab12cd; }" in page.content
    assert b'<img src="/media/branding/alpha/logo.png" alt="">' in page.content
    assert b"<span>Alpha FX</span>" in page.content


NOT_AN_IMAGE = {"logo": ["Upload a PNG, JPEG or WebP image."]}


@pytest.mark.parametrize(
    ("upload", "expected_errors"),
    [
        pytest.param(
            lambda: SimpleUploadedFile("logo.png", b"this is not a picture", content_type="image/png"),
            NOT_AN_IMAGE,
            id="text named logo.png",
        ),
        pytest.param(lambda: SimpleUploadedFile("logo.svg", SVG, content_type="image/svg+xml"), NOT_AN_IMAGE, id="svg"),
        pytest.param(
            lambda: SimpleUploadedFile("logo.png", SVG, content_type="image/png"), NOT_AN_IMAGE, id="svg named logo.png"
        ),
        pytest.param(
            lambda: SimpleUploadedFile("logo.png", png((600, 600), noise=True), content_type="image/png"),
            {"logo": ["Keep it under 512 KB."]},
            id="real png over 512 KB",
        ),
    ],
)
def test_a_logo_that_is_not_an_acceptable_image_is_refused_and_nothing_is_saved(
    operator, alpha, media_root, upload, expected_errors
):
    before = fresh(alpha)

    response = platform_web_client(operator).post("/tenants/alpha/", {**BRANDING, "logo": upload()})

    assert response.status_code == 200
    assert response.context["form"].errors == expected_errors
    assert expected_errors["logo"][0].encode() in response.content
    after = fresh(alpha)
    assert (after.display_name, after.primary_colour, after.logo.name) == (
        before.display_name,
        before.primary_colour,
        "",
    )
    assert list(media_root.rglob("*")) == []
    assert platform_audit("tenants.tenant.branded") == []


def test_an_oversized_upload_really_is_over_the_limit():
    assert len(png((600, 600), noise=True)) > 512 * 1024


def test_a_colour_that_is_not_a_hex_colour_is_refused(operator, alpha, media_root):
    before = fresh(alpha)

    response = platform_web_client(operator).post("/tenants/alpha/", {**BRANDING, "primary_colour": "red"})

    assert response.status_code == 200
    assert response.context["form"].errors == {"primary_colour": ["Use a colour like #1f6feb."]}
    assert fresh(alpha).primary_colour == before.primary_colour
    assert platform_audit("tenants.tenant.branded") == []
