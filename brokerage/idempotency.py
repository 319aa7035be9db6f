"""`Idempotency-Key` for API POSTs that move money.

The first request with a key stores its response; a retry with the same key
and the same body gets that response again without running the view; the
same key with a different body (or while the first is still running) is 409.
The key is unique per user in the database, so two racing retries cannot both run.
"""

from __future__ import annotations

import hashlib
import json
from functools import wraps

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from brokerage.errors import error_body
from brokerage.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _conflict(message: str) -> Response:
    return Response(error_body("idempotency_conflict", message), status=409)


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
                    user_id=request.user.pk,
                    key=key,
                    method=request.method,
                    path=request.path,
                    request_fingerprint=fingerprint,
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.get(user_id=request.user.pk, key=key)
            if record.request_fingerprint != fingerprint:
                return _conflict(f"This {HEADER} was already used with a different request.")
            if record.response_status is None:
                return _conflict("The first request with this key is still being processed.")
            replay = Response(record.response_body, status=record.response_status)
            replay["Idempotent-Replayed"] = "true"
            return replay

        try:
            response = view_method(self, request, *args, **kwargs)
        except Exception:
            # Nothing was stored as a result: free the key so the client may retry.
            IdempotencyRecord.objects.filter(pk=record.pk, response_status=None).delete()
            raise
        if response.status_code >= 500:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
        else:
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                response_status=response.status_code,
                response_body=json.loads(json.dumps(response.data, default=str)),
            )
        return response

    return wrapper
