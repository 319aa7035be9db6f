"""One error family for services, and one JSON shape for every API error.

Every API error body is `{"error": {"code", "message", "fields"}}` where
`fields` maps a field name to its messages (empty when the error is not about a field).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A use case refused: the message is for the person, `fields` points at what to fix."""

    code = "invalid"
    http_status = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code

    def __str__(self) -> str:
        details = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in self.fields.items())
        return f"{self.message} {details}".strip()

    def add_to_form(self, form) -> None:
        """Show the error on a Django form: on its fields where it names them, else on top."""
        if not self.fields:
            form.add_error(None, self.message)
        for field, messages in self.fields.items():
            for message in messages:
                form.add_error(field if field in form.fields else None, message)


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _messages(detail) -> list[str]:
    """Every message under a field, however deep DRF nested it (list items, child serializers)."""
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _messages(value)]
    if isinstance(detail, list):
        return [message for value in detail for message in _messages(value)]
    return [str(detail)]


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(key): _messages(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return {"non_field_errors": _messages(detail)}
    return {}


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(error_body("invalid", "The request is not valid.", fields), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid", "The request is not valid.", _flatten(exc.detail))
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = error_body(code if isinstance(code, str) else "error", str(detail))
    return response
