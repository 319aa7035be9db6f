from unittest import mock

from celery.beat import ScheduleEntry

from brokerage.beat import TenantBeatScheduler
from brokerage.celery import app
from tests.conftest import tenant_client


def _sent_schemas(scheduler, entry) -> list[str]:
    from django.db import connection

    schemas = []
    with mock.patch.object(
        type(scheduler),
        "apply_async",
        side_effect=lambda *a, **k: schemas.append(connection.schema_name) or mock.Mock(),
    ):
        scheduler.apply_entry(entry)
    return sorted(schemas)


def test_beat_sends_each_scheduled_task_once_per_active_tenant_in_its_schema(alpha, beta):
    scheduler = TenantBeatScheduler.__new__(TenantBeatScheduler)
    entry = ScheduleEntry(
        name="outbox-relay",
        task="brokerage.tasks.outbox_relay",
        app=app,
        options={"headers": {"_all_tenants_only": True}},
    )
    assert _sent_schemas(scheduler, entry) == ["t_alpha", "t_beta"]

    beta.status = "suspended"
    beta.save(update_fields=["status"])
    assert _sent_schemas(scheduler, entry) == ["t_alpha"]


def test_health_reports_each_dependency(alpha):
    response = tenant_client(alpha).get("/health/")
    body = response.json()
    assert body["checks"]["database"] == "ok"
    # Tests run Celery eagerly, so the worker check reports that rather than pinging.
    assert body["checks"]["worker"].startswith("eager")
    assert response.status_code == (200 if body["status"] == "ok" else 503)


def test_health_is_degraded_when_the_database_fails(alpha):
    with mock.patch("brokerage.health._database", side_effect=RuntimeError("down")):
        response = tenant_client(alpha).get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "error: RuntimeError"


def test_api_errors_are_json_with_a_code_and_a_field_map(alpha, alice):
    client = tenant_client(alpha, alice)
    missing = client.get("/api/v1/clients/999999/")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}
    invalid = client.post(
        "/api/v1/staff/", {"email": "not-an-email", "roles": ["wizard"]}, content_type="application/json"
    )
    assert invalid.status_code == 400
    body = invalid.json()["error"]
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"email", "roles"}


def test_openapi_schema_and_docs_are_served_without_a_cdn(alpha):
    client = tenant_client(alpha)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/clients/" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()
