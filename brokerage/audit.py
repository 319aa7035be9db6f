"""The audit trail: who changed what, before and after, from where.

Records are chained: each carries the SHA-256 of its own content plus the
previous record's hash, so editing or deleting a row (which the database
trigger already refuses) breaks the chain and `verify_audit` reports where.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.forms.models import model_to_dict
from django.utils import timezone

from brokerage.models import AuditRecord
from brokerage.request_context import current_ip

GENESIS_HASH = "0" * 64
MASKED = "***"
_SECRET_WORDS = ("password", "secret", "token", "api_key", "private_key")


def _plain(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """JSON-safe copy with secrets masked: what is stored is exactly what is hashed."""
    if data is None:
        return None
    masked = {k: (MASKED if any(w in k.lower() for w in _SECRET_WORDS) else v) for k, v in data.items()}
    return json.loads(json.dumps(masked, default=str, sort_keys=True))


def snapshot(instance: Model, fields: list[str] | None = None) -> dict[str, Any]:
    """Field values of a model instance, for `before`/`after`."""
    return _plain(model_to_dict(instance, fields=fields)) or {}


def _digest(record: AuditRecord) -> str:
    content = {
        "occurred_at": record.occurred_at.isoformat(),
        "actor_id": record.actor_id,
        "actor_email": record.actor_email,
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "object_repr": record.object_repr,
        "before": record.before,
        "after": record.after,
        "ip_address": record.ip_address,
        "previous_hash": record.previous_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def audit_log(
    *,
    actor: Any,
    action: str,
    obj: Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditRecord:
    """Append one record in the caller's transaction (and current tenant schema).

    `action` is namespaced: `crm.client.updated`, `staff.invited`.
    """
    with transaction.atomic():
        # One writer at a time per schema, so the chain has no forks.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.audit'))")
        last = AuditRecord.objects.order_by("-id").values_list("record_hash", flat=True).first()
        is_person = actor is not None and getattr(actor, "is_authenticated", False)
        record = AuditRecord(
            occurred_at=timezone.now(),
            actor_id=actor.pk if is_person else None,
            actor_email=actor.email if is_person else "",
            action=action,
            object_type=obj._meta.label if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            object_repr=str(obj)[:200] if obj is not None else "",
            before=_plain(before),
            after=_plain(after),
            ip_address=ip_address or current_ip(),
            previous_hash=last or GENESIS_HASH,
        )
        record.record_hash = _digest(record)
        record.save()
        return record


@dataclass(frozen=True)
class ChainBreak:
    record_id: int
    reason: str


def audit_chain_breaks() -> Iterator[ChainBreak]:
    """Walk the current schema's trail in order and yield every place the chain fails."""
    expected_previous = GENESIS_HASH
    for record in AuditRecord.objects.order_by("id").iterator(chunk_size=2000):
        if record.previous_hash != expected_previous:
            yield ChainBreak(record.pk, "previous hash does not match (a record was removed or reordered)")
        if _digest(record) != record.record_hash:
            yield ChainBreak(record.pk, "content does not match its hash (the record was altered)")
        expected_previous = record.record_hash
