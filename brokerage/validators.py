"""Checks of user input shared by services, returning plain answers or ApplicationError."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from brokerage.errors import ApplicationError

INVALID_EMAIL = "Enter a valid email address."


def is_email(text: str) -> bool:
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


def email_clean(text: str, *, field: str = "email") -> str:
    """The address trimmed and lower-cased, or an ApplicationError naming `field`."""
    email = (text or "").strip().lower()
    if not is_email(email):
        raise ApplicationError(INVALID_EMAIL, fields={field: [INVALID_EMAIL]})
    return email
