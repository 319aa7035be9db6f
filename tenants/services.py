"""Tenant lifecycle: provision, brand, suspend, reactivate. Used by the console and the CLI."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django_tenants.utils import tenant_context

from brokerage.audit import audit_log, snapshot
from brokerage.errors import ApplicationError
from brokerage.money import FIAT_CURRENCIES
from brokerage.roles import Role
from brokerage.validators import INVALID_EMAIL, email_clean, is_email
from tenants.models import COLOUR_PATTERN, SLUG_PATTERN, Domain, Tenant

DOMAIN_PATTERN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
)
RESERVED_SLUGS = {"public", "www", "admin", "api", "static", "media"}
LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_PIXELS = 2000
LOGO_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}


def _schema_name(slug: str) -> str:
    return "t_" + slug.replace("-", "_")


def tenant_validate_new(
    *,
    name: str,
    slug: str,
    domain: str,
    admin_email: str,
    base_currency: str,
    jurisdiction: str = "",
    support_email: str = "",
) -> dict[str, list[str]]:
    """Every problem with a new tenant's details, by field; empty when all is well."""
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["Give the broker a name."]
    elif len(name.strip()) > Tenant._meta.get_field("name").max_length:
        errors["name"] = ["Keep the name under 100 characters."]
    elif Tenant.objects.filter(name__iexact=name.strip()).exists():
        errors["name"] = [f"A tenant named {name.strip()!r} exists already."]
    if len(jurisdiction.strip()) > Tenant._meta.get_field("jurisdiction").max_length:
        errors["jurisdiction"] = ["Keep the jurisdiction under 100 characters."]
    if support_email.strip() and not is_email(support_email.strip()):
        errors["support_email"] = [INVALID_EMAIL]
    if slug in RESERVED_SLUGS:
        errors["slug"] = [f"{slug!r} is reserved by the platform."]
    elif not re.match(SLUG_PATTERN, slug):
        errors["slug"] = ["Use 3-40 lowercase letters, digits and hyphens, starting with a letter."]
    elif Tenant.objects.filter(slug=slug).exists() or Tenant.objects.filter(schema_name=_schema_name(slug)).exists():
        errors["slug"] = [f"The slug {slug!r} is taken."]
    if not DOMAIN_PATTERN.match(domain):
        errors["domain"] = ["Enter a host name such as broker.example.com (no scheme, port or path)."]
    elif Domain.objects.filter(domain=domain).exists():
        errors["domain"] = [f"{domain} already belongs to a tenant."]
    if not is_email(admin_email):
        errors["admin_email"] = [INVALID_EMAIL]
    if base_currency not in FIAT_CURRENCIES:
        errors["base_currency"] = ["Choose a fiat currency."]
    return errors


def tenant_provision(
    *,
    name: str,
    domain: str,
    admin_email: str,
    slug: str = "",
    base_currency: str = "USD",
    jurisdiction: str = "",
    support_email: str = "",
    actor=None,
) -> Tenant:
    """Create schema, domain, roles and the first admin (an owner), then email the invitation.

    All input is checked before anything is created; if creation fails midway
    the schema is dropped again, so a failed provisioning leaves nothing behind.
    """
    from brokerage.staff import roles_sync, staff_invite

    domain = domain.strip().lower()
    admin_email = admin_email.strip().lower()
    slug = (slug or slugify(name)).strip().lower()
    errors = tenant_validate_new(
        name=name,
        slug=slug,
        domain=domain,
        admin_email=admin_email,
        base_currency=base_currency,
        jurisdiction=jurisdiction,
        support_email=support_email,
    )
    if errors:
        raise ApplicationError("The tenant cannot be created.", fields=errors)

    tenant = Tenant(
        schema_name=_schema_name(slug),
        name=name.strip(),
        slug=slug,
        base_currency=base_currency,
        jurisdiction=jurisdiction.strip(),
        support_email=support_email.strip(),
    )
    try:
        tenant.save(verbosity=0)  # creates the schema and runs the tenant migrations
    except IntegrityError:  # another provisioning took the slug a moment ago
        raise ApplicationError(
            "The tenant cannot be created.", fields={"slug": [f"The slug {slug!r} is taken."]}
        ) from None
    try:
        with transaction.atomic():
            Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
            with tenant_context(tenant):
                roles_sync()
                staff_invite(email=admin_email, roles=[Role.OWNER], actor=None, domain=domain)
            audit_log(
                actor=actor,
                action="tenants.tenant.provisioned",
                obj=tenant,
                after={"slug": slug, "domain": domain, "admin_email": admin_email},
            )
    except IntegrityError:  # another provisioning took the domain a moment ago
        tenant.delete(force_drop=True)
        raise ApplicationError("The tenant cannot be created.", fields={"domain": [f"{domain} is taken."]}) from None
    except Exception:
        tenant.delete(force_drop=True)
        raise
    return tenant


def _change_status(tenant: Tenant, *, to: str, reason: str, actor) -> Tenant:
    if tenant.schema_name == "public":
        raise ApplicationError("The platform itself cannot be suspended.")
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if to not in Tenant.TRANSITIONS[locked.status]:
            raise ApplicationError(f"A {locked.get_status_display().lower()} tenant cannot become {to}.")
        before = {"status": locked.status, "suspended_reason": locked.suspended_reason}
        locked.status = to
        locked.suspended_reason = reason if to == Tenant.Status.SUSPENDED else ""
        locked.save(update_fields=["status", "suspended_reason"])
        audit_log(
            actor=actor,
            action=f"tenants.tenant.{'suspended' if to == Tenant.Status.SUSPENDED else 'reactivated'}",
            obj=locked,
            before=before,
            after={"status": to, "suspended_reason": locked.suspended_reason},
        )
    return locked


def tenant_suspend(*, tenant: Tenant, reason: str, actor) -> Tenant:
    if not reason.strip():
        raise ApplicationError("Say why the tenant is suspended.", fields={"reason": ["Required."]})
    return _change_status(tenant, to=Tenant.Status.SUSPENDED, reason=reason.strip(), actor=actor)


def tenant_reactivate(*, tenant: Tenant, actor) -> Tenant:
    return _change_status(tenant, to=Tenant.Status.ACTIVE, reason="", actor=actor)


def _check_logo(logo: UploadedFile) -> str:
    """Accept only real PNG/JPEG/WebP images under the size limit; returns the extension."""
    from PIL import Image, UnidentifiedImageError

    if logo.size > LOGO_MAX_BYTES:
        raise ApplicationError(
            "The logo is too large.", fields={"logo": [f"Keep it under {LOGO_MAX_BYTES // 1024} KB."]}
        )
    try:
        image = Image.open(logo)
        image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise ApplicationError(
            "The logo is not an image.", fields={"logo": ["Upload a PNG, JPEG or WebP image."]}
        ) from None
    if image.format not in LOGO_FORMATS:
        raise ApplicationError("Unsupported logo format.", fields={"logo": ["Upload a PNG, JPEG or WebP image."]})
    if max(image.size) > LOGO_MAX_PIXELS:
        raise ApplicationError(
            "The logo is too large.", fields={"logo": [f"Keep it within {LOGO_MAX_PIXELS}×{LOGO_MAX_PIXELS} pixels."]}
        )
    logo.seek(0)
    return LOGO_FORMATS[image.format]


BRANDING_FIELDS = ["display_name", "primary_colour", "support_email", "jurisdiction", "base_currency"]


def tenant_brand(*, tenant: Tenant, actor, logo: UploadedFile | None = None, **changes) -> Tenant:
    unknown = set(changes) - set(BRANDING_FIELDS)
    if unknown:
        raise ApplicationError(f"Cannot change {', '.join(sorted(unknown))} here.")
    errors: dict[str, list[str]] = {}
    if "primary_colour" in changes and not re.match(COLOUR_PATTERN, changes["primary_colour"] or ""):
        errors["primary_colour"] = ["Use a colour like #1f6feb."]
    if changes.get("support_email") and not is_email(changes["support_email"]):
        errors["support_email"] = [INVALID_EMAIL]
    if "base_currency" in changes and changes["base_currency"] not in FIAT_CURRENCIES:
        errors["base_currency"] = ["Choose a fiat currency."]
    if errors:
        raise ApplicationError("The branding was not saved.", fields=errors)
    extension = _check_logo(logo) if logo else None
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        before = snapshot(locked, BRANDING_FIELDS + ["logo"])
        for field, value in changes.items():
            setattr(locked, field, value.strip() if isinstance(value, str) else value)
        if logo:
            if locked.logo:
                locked.logo.delete(save=False)
            locked.logo.save(f"logo.{extension}", logo, save=False)
        locked.save()
        audit_log(
            actor=actor,
            action="tenants.tenant.branded",
            obj=locked,
            before=before,
            after=snapshot(locked, BRANDING_FIELDS + ["logo"]),
        )
    return locked


def platform_ensure(*, domain: str) -> Tenant:
    """The public tenant that serves the operator console on `domain` (created once)."""
    from django.conf import settings

    domain = domain.strip().lower()
    if not DOMAIN_PATTERN.match(domain) and domain != "localhost":
        raise ApplicationError("Invalid platform domain.", fields={"domain": ["Enter a host name."]})
    public, _ = Tenant.objects.get_or_create(
        schema_name=settings.PUBLIC_SCHEMA_NAME, defaults={"name": "Platform", "slug": "platform"}
    )
    owner = Domain.objects.filter(domain=domain).values_list("tenant__schema_name", flat=True).first()
    if owner not in (None, settings.PUBLIC_SCHEMA_NAME):
        raise ApplicationError(f"{domain} belongs to a tenant.", fields={"domain": ["Already in use."]})
    Domain.objects.get_or_create(domain=domain, defaults={"tenant": public, "is_primary": True})
    return public


def operator_invite(*, email: str, actor=None):
    """A platform operator (public-schema staff); they choose a password from the emailed link."""
    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django_tenants.utils import schema_context

    from brokerage.models import User
    from brokerage.staff import invitation_send

    email = email_clean(email)
    public = Tenant.objects.get(schema_name=settings.PUBLIC_SCHEMA_NAME)
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        if User.objects.filter(email=email).exists():
            raise ApplicationError("This operator exists already.", fields={"email": ["Already in use."]})
        user = User.objects.create_user(email, is_staff=True, is_superuser=True)
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
        audit_log(actor=actor, action="tenants.operator.invited", obj=user, after={"email": email})
        transaction.on_commit(lambda: invitation_send(user=user, tenant=public))
    return user
