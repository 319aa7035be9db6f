"""Staff of a tenant: invite, give roles, deactivate. Every write is audited."""

from __future__ import annotations

from collections.abc import Iterable

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.mail import send_mail
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django_tenants.utils import tenant_context

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.models import User
from brokerage.roles import (
    CAPABILITIES,
    ROLE_CAPABILITIES,
    ROLE_MODEL_PERMISSIONS,
    STAFF_ROLES,
    Role,
    opens_admin_site,
)
from brokerage.validators import email_clean


def roles_sync() -> None:
    """Create (or correct) one group per role in the current schema, with its capabilities."""
    permissions = {p.codename: p for p in Permission.objects.filter(content_type__app_label="brokerage")}
    missing = set(CAPABILITIES) - set(permissions)
    if missing:
        raise RuntimeError(f"capability permissions missing, run migrations: {sorted(missing)}")
    model_permissions = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type").filter(
            codename__in=[name.split(".", 1)[1] for names in ROLE_MODEL_PERMISSIONS.values() for name in names]
        )
    }
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        granted = [permissions[c] for c in ROLE_CAPABILITIES[role]]
        granted += [model_permissions[name] for name in ROLE_MODEL_PERMISSIONS.get(role, ())]
        group.permissions.set(granted)


def _clean_roles(roles: Iterable[str], *, allowed: frozenset[str]) -> list[str]:
    roles = list(dict.fromkeys(roles))
    unknown = [r for r in roles if r not in allowed]
    if unknown or not roles:
        raise ApplicationError("Choose at least one staff role.", fields={"roles": ["Pick valid staff roles."]})
    return roles


def tenant_url(path: str, *, tenant, domain: str | None = None) -> str:
    """Absolute URL on a tenant's domain (for emails sent outside a request)."""
    if domain is None:
        domain = tenant.primary_domain
    port = f":{settings.BROKERAGE_URL_PORT}" if settings.BROKERAGE_URL_PORT else ""
    return f"{settings.BROKERAGE_URL_SCHEME}://{domain}{port}{path}"


def invitation_send(*, user: User, tenant, domain: str | None = None) -> None:
    """Email a link where the person chooses a password (allauth's reset-from-key page).

    Runs in the tenant's schema: the token covers the person's email rows, which live there.
    """
    with tenant_context(tenant):
        _invitation_send(user=user, tenant=tenant, domain=domain)


def _invitation_send(*, user: User, tenant, domain: str | None) -> None:
    path = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(user), "key": default_token_generator.make_token(user)},
    )
    context = {"user": user, "tenant": tenant, "link": tenant_url(path, tenant=tenant, domain=domain)}
    send_mail(
        subject=f"Your invitation to {tenant.brand_name}",
        message=render_to_string("emails/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )


@transaction.atomic
def staff_invite(
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    roles: Iterable[str],
    actor: User | None,
    domain: str | None = None,
) -> User:
    email = email_clean(email)
    roles = _clean_roles(roles, allowed=STAFF_ROLES)
    if Role.OWNER in roles and actor is not None and Role.OWNER not in actor.role_names:
        raise ApplicationError("Only an owner can make someone an owner.", fields={"roles": ["Owners invite owners."]})
    if User.objects.filter(email=email).exists():
        raise ApplicationError("Someone with this email already has an account.", fields={"email": ["Already in use."]})
    user = User.objects.create_user(
        email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        is_staff=opens_admin_site(roles),
    )
    user.groups.set(Group.objects.filter(name__in=roles))
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    audit_log(actor=actor, action="staff.invited", obj=user, after={"email": email, "roles": sorted(roles)})
    tenant = connection.tenant  # captured now: after commit the connection may be in another schema
    transaction.on_commit(lambda: invitation_send(user=user, tenant=tenant, domain=domain))
    return user


def _guard_owner_change(user: User, *, actor: User, removing: bool) -> None:
    """Owners are made and unmade only by owners, and a tenant always keeps one.

    One owner change at a time per tenant: two owners demoting each other at
    once would otherwise each see the other and leave the tenant with none.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.owners'))")
    if removing:
        owners = User.objects.filter(groups__name=Role.OWNER, is_active=True).exclude(pk=user.pk)
        if not owners.exists():
            raise ApplicationError("A tenant must keep at least one active owner.")
    if Role.OWNER not in actor.role_names:
        raise ApplicationError("Only an owner can make or remove an owner.")


@transaction.atomic
def staff_set_roles(*, user: User, roles: Iterable[str], actor: User) -> User:
    roles = _clean_roles(roles, allowed=STAFF_ROLES)
    user = User.objects.select_for_update().get(pk=user.pk)
    before = sorted(user.role_names)
    if before == sorted(roles):
        return user
    if (Role.OWNER in roles) != (Role.OWNER in before):
        _guard_owner_change(user, actor=actor, removing=Role.OWNER in before)
    user.groups.set(Group.objects.filter(name__in=roles))
    user.is_staff = opens_admin_site(roles)
    user.save(update_fields=["is_staff"])
    audit_log(
        actor=actor, action="staff.roles_changed", obj=user, before={"roles": before}, after={"roles": sorted(roles)}
    )
    return user


@transaction.atomic
def staff_set_active(*, user: User, is_active: bool, actor: User) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active == is_active:
        return user
    if not is_active:
        if user.pk == actor.pk:
            raise ApplicationError("You cannot deactivate yourself.")
        if Role.OWNER in user.role_names:
            _guard_owner_change(user, actor=actor, removing=True)
    user.is_active = is_active
    user.save(update_fields=["is_active"])
    if not is_active:
        # Signing out everywhere: drop the API token; sessions check is_active on every request.
        from rest_framework.authtoken.models import Token

        Token.objects.filter(user=user).delete()
    audit_log(
        actor=actor,
        action="staff.reactivated" if is_active else "staff.deactivated",
        obj=user,
        before={"is_active": not is_active},
        after={"is_active": is_active},
    )
    return user


@transaction.atomic
def api_token_issue(*, user: User) -> str:
    """Replace the person's API token; the key is returned once, to be shown once."""
    from rest_framework.authtoken.models import Token

    User.objects.select_for_update().get(pk=user.pk)  # two clicks at once get one token, not an error
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    audit_log(actor=user, action="auth.api_token.issued", obj=user)
    return token.key
