"""`Idempotency-Key` for API POSTs that move money.

The key, the view's work and the stored response commit in one transaction,
so a key exists exactly when its work happened. A retry with the same key and
body gets the stored response without running the view; the same key with
another body is 409. A retry racing the first request waits on the key's
unique index and then replays. A request that fails (an exception or a 5xx)
rolls back whole and leaves the key free for a corrected retry.
Records older than RETENTION are purged by `idempotency_purge` (beat).
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from functools import wraps

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from brokerage.errors import error_body
from brokerage.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
RETENTION = timedelta(days=7)


class _Failed(Exception):
    """Carries a 5xx response out of the transaction so that it rolls back."""

    def __init__(self, response):
        self.response = response


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _replay(request, key: str, fingerprint: str) -> Response:
    record = IdempotencyRecord.objects.get(user_id=request.user.pk, key=key)
    if record.request_fingerprint != fingerprint:
        return Response(
            error_body("idempotency_conflict", f"This {HEADER} was already used with a different request."),
            status=409,
        )
    replay = Response(record.response_body, status=record.response_status)
    replay["Idempotent-Replayed"] = "true"
    return replay


def idempotent(view_method):
    """Decorate a DRF view method (e.g. `create`). The key header is required."""

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            return Response(
                error_body("idempotency_key_required", f"Send a unique {HEADER} header (1-{MAX_KEY_LENGTH} chars)."),
                status=400,
            )
        fingerprint = _fingerprint(request)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user_id=request.user.pk, key=key, path=request.path, request_fingerprint=fingerprint
                )
                response = view_method(self, request, *args, **kwargs)
                if response.status_code >= 500:
                    raise _Failed(response)
                record.response_status = response.status_code
                record.response_body = json.loads(json.dumps(response.data, default=str))
                record.save(update_fields=["response_status", "response_body"])
                return response
        except _Failed as failed:
            return failed.response
        except IntegrityError:
            if not IdempotencyRecord.objects.filter(user_id=request.user.pk, key=key).exists():
                raise  # the view's own integrity error, not a used key
            return _replay(request, key, fingerprint)

    return wrapper


def idempotency_purge(*, now=None) -> int:
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
