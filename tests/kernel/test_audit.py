import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import tenant_context

from brokerage.audit import GENESIS_HASH, audit_chain_breaks, audit_log
from brokerage.models import AuditRecord
from tests.conftest import tenant_client


def _three_records(actor):
    return [
        audit_log(
            actor=actor,
            action="crm.client.updated",
            obj=actor,
            before={"status": "lead"},
            after={"status": "registered"},
        ),
        audit_log(
            actor=actor,
            action="staff.roles_changed",
            obj=actor,
            before={"roles": ["sales"]},
            after={"roles": ["admin"]},
        ),
        audit_log(actor=None, action="system.cleanup"),
    ]


def _tamper(sql: str, params: list) -> None:
    """What an attacker with table-owner rights could do: switch the trigger off, edit, switch it on."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE brokerage_auditrecord DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE brokerage_auditrecord ENABLE TRIGGER USER")


def test_records_chain_each_to_the_previous_one(in_alpha, alice):
    first, second, third = _three_records(alice)
    assert first.previous_hash == GENESIS_HASH
    assert second.previous_hash == first.record_hash
    assert third.previous_hash == second.record_hash
    assert third.actor_id is None and third.actor_email == ""
    assert list(audit_chain_breaks()) == []


def test_the_database_refuses_to_update_an_audit_record(in_alpha, alice):
    record = audit_log(actor=alice, action="staff.invited", obj=alice)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).update(action="nothing.happened")
    assert AuditRecord.objects.get(pk=record.pk).action == "staff.invited"


def test_the_database_refuses_to_delete_an_audit_record(in_alpha, alice):
    record = audit_log(actor=alice, action="staff.invited", obj=alice)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).delete()
    assert AuditRecord.objects.filter(pk=record.pk).exists()


def test_an_altered_record_is_found_by_the_chain_check(in_alpha, alice):
    _, second, _ = _three_records(alice)
    _tamper("UPDATE brokerage_auditrecord SET after = %s WHERE id = %s", ['{"roles": ["sales"]}', second.pk])
    breaks = list(audit_chain_breaks())
    assert [(b.record_id, "altered" in b.reason) for b in breaks] == [(second.pk, True)]


def test_a_removed_record_is_found_by_the_chain_check(in_alpha, alice):
    _, second, third = _three_records(alice)
    _tamper("DELETE FROM brokerage_auditrecord WHERE id = %s", [second.pk])
    breaks = list(audit_chain_breaks())
    assert [(b.record_id, "removed" in b.reason) for b in breaks] == [(third.pk, True)]


def test_verify_audit_command_names_the_tampered_tenant(alpha, beta, alice, bob, capsys):
    with tenant_context(beta):
        audit_log(actor=bob, action="staff.invited", obj=bob)
    with tenant_context(alpha):
        record = audit_log(actor=alice, action="staff.invited", obj=alice)
    call_command("verify_audit")
    assert "t_alpha: 1 records, chain intact" in capsys.readouterr().out

    with tenant_context(alpha):
        _tamper("UPDATE brokerage_auditrecord SET actor_email = %s WHERE id = %s", ["mallory@evil.test", record.pk])
    with pytest.raises(CommandError, match="tampered"):
        call_command("verify_audit")
    captured = capsys.readouterr()
    assert f"t_alpha: record {record.pk}" in captured.err
    assert "t_beta: 1 records, chain intact" in captured.out


def test_secrets_are_masked_before_they_are_written(in_alpha, alice):
    record = audit_log(
        actor=alice,
        action="payments.psp.configured",
        after={"api_key": "sk_live_123", "password": "x", "name": "Sandbox"},
    )
    assert record.after == {"api_key": "***", "password": "***", "name": "Sandbox"}


def test_ops_audit_page_filters_by_action_and_actor(alpha, alice):
    with tenant_context(alpha):
        audit_log(actor=alice, action="staff.invited", obj=alice)
        audit_log(actor=None, action="crm.client.updated")
    client = tenant_client(alpha, alice)
    page = client.get("/ops/audit/", {"action": "staff."}).content.decode()
    assert "staff.invited" in page and "crm.client.updated" not in page
    page = client.get("/ops/audit/", {"actor": "alice@"}).content.decode()
    assert "staff.invited" in page and "crm.client.updated" not in page


def test_htmx_filter_returns_only_the_rows(alpha, alice):
    with tenant_context(alpha):
        audit_log(actor=alice, action="staff.invited", obj=alice)
    response = tenant_client(alpha, alice).get("/ops/audit/", {"action": "staff."}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "staff.invited" in body and "<html" not in body


def test_audit_api_lists_records_newest_first_with_filters(alpha, alice):
    from rest_framework.authtoken.models import Token

    with tenant_context(alpha):
        audit_log(actor=alice, action="staff.invited", obj=alice)
        audit_log(actor=alice, action="staff.roles_changed", obj=alice)
        token = Token.objects.create(user=alice)
    client = tenant_client(alpha)
    response = client.get("/api/v1/audit/", {"action": "staff.roles"}, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert [r["action"] for r in response.json()["results"]] == ["staff.roles_changed"]
