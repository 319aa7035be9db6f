"""Model fields of the kernel: secrets encrypted at rest.

Keys come from FIELD_ENCRYPTION_KEYS (newest first), so a key can be rotated:
values written with an older key still decrypt, and `rotate` re-encrypts them.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet() -> MultiFernet:
    keys = settings.FIELD_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must hold at least one Fernet key.")
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(plain: str) -> str:
    return encrypt_bytes(plain.encode()).decode()


def decrypt(token: str) -> str:
    return decrypt_bytes(token.encode()).decode()


def encrypt_bytes(data: bytes) -> bytes:
    """Secrets and private files (KYC documents) share the keys and their rotation."""
    return _fernet().encrypt(data)


def decrypt_bytes(token: bytes, *, what: str = "A secret") -> bytes:
    try:
        return _fernet().decrypt(token)
    except InvalidToken:
        raise ImproperlyConfigured(f"{what} cannot be decrypted with FIELD_ENCRYPTION_KEYS.") from None


def mask(secret: str) -> str:
    """What a page may show of a secret: its last four characters."""
    return "••••" + secret[-4:] if len(secret) > 8 else "••••"


class EncryptedTextField(models.TextField):
    """A text column that holds a Fernet token; Python code sees the plain text.

    Not searchable or indexable by content, by design.
    """

    def from_db_value(self, value, expression, connection):
        return value if value in (None, "") else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value in (None, "") else encrypt(value)
