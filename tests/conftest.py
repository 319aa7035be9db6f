"""Test harness: a public schema and two tenants, created once per session.

Personas: in tenant "alpha", Alice is the owner and Carl a client; in tenant
"beta", Bob is the owner. Nothing of alpha may ever be visible to beta's people.

django-tenants gotcha (STACK-NOTES): a `transaction=True` or `live_server`
test truncates the public tables (tenants, domains) when it ends, and leaves
rows in the tenant schemas. `_tenants_restored` puts the tenants back and
empties the tenant schemas' data tables around every such test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

os.environ.setdefault("BROKERAGE_TESTING", "1")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import get_public_schema_name, tenant_context

from tests import factories

TENANTS = {"alpha": "alpha.localhost", "beta": "beta.localhost"}
ROOT = Path(__file__).resolve().parents[1]
PLATFORM_HOST = "testserver"
# Tables whose rows come from migrations, not from tests.
KEEP_TABLES = {"django_migrations", "django_content_type", "auth_permission", "auth_group", "auth_group_permissions"}


def ensure_test_tenants() -> None:
    from brokerage.staff import roles_sync
    from kyc.defaults import kyc_defaults_ensure
    from tenants.models import Domain, Tenant

    connection.set_schema_to_public()
    public, _ = Tenant.objects.get_or_create(
        schema_name=get_public_schema_name(), defaults={"name": "Platform", "slug": "platform"}
    )
    Domain.objects.get_or_create(domain=PLATFORM_HOST, defaults={"tenant": public, "is_primary": True})
    for slug, host in TENANTS.items():
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            tenant = Tenant(schema_name=f"t_{slug}", name=slug.title(), slug=slug, support_email=f"help@{slug}.test")
            tenant.save(verbosity=0)  # creates the schema only if it does not exist yet
        Domain.objects.get_or_create(domain=host, defaults={"tenant": tenant, "is_primary": True})
        with tenant_context(tenant):
            roles_sync()
            kyc_defaults_ensure()


def empty_tenant_schemas() -> None:
    with connection.cursor() as cursor:
        for slug in TENANTS:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [f"t_{slug}"])
            tables = [row[0] for row in cursor.fetchall() if row[0] not in KEEP_TABLES]
            if tables:
                names = ", ".join(f'"t_{slug}"."{table}"' for table in tables)
                cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")  # noqa: S608 - names from pg_tables


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        ensure_test_tenants()


@pytest.fixture(autouse=True)
def _tenants_restored(request, django_db_blocker):
    marker = request.node.get_closest_marker("django_db")
    transactional = bool({"transactional_db", "live_server"} & set(request.fixturenames)) or bool(
        marker and marker.kwargs.get("transaction")
    )
    if transactional:
        with django_db_blocker.unblock():
            empty_tenant_schemas()
            ensure_test_tenants()
    yield
    connection.set_schema_to_public()
    if transactional:
        with django_db_blocker.unblock():
            ensure_test_tenants()
            empty_tenant_schemas()
            ensure_test_tenants()


@pytest.fixture
def alpha(db):
    from tenants.models import Tenant

    return Tenant.objects.get(slug="alpha")


@pytest.fixture
def beta(db):
    from tenants.models import Tenant

    return Tenant.objects.get(slug="beta")


@pytest.fixture
def in_alpha(alpha):
    """Run the test body inside alpha's schema."""
    with tenant_context(alpha):
        yield alpha


@pytest.fixture
def in_beta(beta):
    with tenant_context(beta):
        yield beta


@pytest.fixture
def alice(alpha):
    """Alpha's owner, with TOTP set up (so /ops/ lets her in)."""
    with tenant_context(alpha):
        return factories.staff_user("alice@alpha.test", roles=["owner"], mfa=True)


@pytest.fixture
def bob(beta):
    """Beta's owner."""
    with tenant_context(beta):
        return factories.staff_user("bob@beta.test", roles=["owner"], mfa=True)


@pytest.fixture
def carl(alpha):
    """A client of alpha."""
    with tenant_context(alpha):
        return factories.client_user("carl@alpha.test")


def tenant_client(tenant, user=None):
    """A Django test client whose requests go to one tenant's domain, optionally signed in there."""
    from django.test import Client

    client = Client(HTTP_HOST=TENANTS[tenant.slug])
    if user is not None:
        with tenant_context(tenant):  # sessions live in the tenant's schema
            client.force_login(user)
    return client


# A real Celery worker ------------------------------------------------------------------------------


def _database_url() -> str:
    """The test database, for the worker process; also when the server listens on a Unix socket."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host") or "127.0.0.1"
    if host.startswith("/"):
        return f"postgres://{db['USER']}{password}@/{db['NAME']}?host={host}"
    return f"postgres://{db['USER']}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture
def worker_queue():
    """A worker on a queue of its own, so a demo worker on the same Redis never takes these tasks."""
    from brokerage.celery import app

    if not settings.REDIS_URL:
        pytest.fail("REDIS_URL is not set: this test needs a real Redis (make test provides one)")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": _database_url(), "BROKERAGE_TESTING": "1"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "brokerage", "worker", "--pool", "solo", "-Q", queue, "-l", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    try:
        yield queue
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = previous
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode(errors="replace")
        if worker.returncode not in (0, -15):
            print(output)
