"""Test clients for the tenants' domains, shared by tests/tenants and tests/portals.

One Django `ClientHandler` serves every client made here: building the
middleware chain costs ~0.2 s per client in tests (WhiteNoise scans every
static file through the finders), which would dominate a matrix of hundreds of
requests. The handler keeps no per-request state, so sharing it is safe.

Each client gets its own REMOTE_ADDR, so allauth's per-IP rate limits (kept in
Redis, shared with other test runs) never carry over from one test to the next.
"""

from __future__ import annotations

import random
import uuid

from allauth.core import ratelimit
from django.test import Client, RequestFactory
from django.test.client import ClientHandler
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from tests.conftest import PLATFORM_HOST, TENANTS

_HANDLER = ClientHandler(enforce_csrf_checks=False)
_IPS = random.Random(uuid.uuid4().int)


def fresh_ip() -> str:
    """A random private (10/8) address, so per-IP limits left by other tests do not apply."""
    return f"10.{_IPS.randrange(256)}.{_IPS.randrange(256)}.{_IPS.randrange(1, 255)}"


def fresh_email(name: str, domain: str = "example.test") -> str:
    """An address never used before, so allauth's per-address limits start empty."""
    return f"{name}.{uuid.uuid4().hex[:10]}@{domain}"


def web_client(host: str, *, ip: str | None = None, **defaults) -> Client:
    client = Client(HTTP_HOST=host, REMOTE_ADDR=ip or fresh_ip(), **defaults)
    client.handler = _HANDLER
    return client


def tenant_web_client(tenant, user=None, *, ip: str | None = None) -> Client:
    """A client on the tenant's domain, signed in there as `user` when given."""
    client = web_client(TENANTS[tenant.slug], ip=ip)
    if user is not None:
        with tenant_context(tenant):  # sessions live in the tenant's schema
            client.force_login(user)
    return client


def platform_web_client(user=None, *, ip: str | None = None) -> Client:
    """A client on the operator console's host, signed in as a public-schema user when given."""
    from django.db import connection

    client = web_client(PLATFORM_HOST, ip=ip)
    if user is not None:
        connection.set_schema_to_public()
        client.force_login(user)
    return client


def api_client(tenant, user, *, ip: str | None = None) -> Client:
    """A client calling the tenant's API with `user`'s token (made here, in the tenant's schema)."""
    with tenant_context(tenant):
        token, _ = Token.objects.get_or_create(user=user)
    return web_client(TENANTS[tenant.slug], ip=ip, HTTP_AUTHORIZATION=f"Token {token.key}")


def forget_failed_logins(tenant, email: str) -> None:
    """Clear allauth's failed-login counter of one account on one tenant's domain.

    The counter (5 per 5 minutes, key "<host>:<email>") lives in the shared Redis, so a
    fixed persona's failed logins from earlier runs would otherwise lock the account.
    """
    host = TENANTS[tenant.slug]
    request = RequestFactory().post("/accounts/login/", HTTP_HOST=host, REMOTE_ADDR=fresh_ip())
    with tenant_context(tenant):
        ratelimit.clear(request, action="login_failed", key=f"{host}:{email.lower()}")
