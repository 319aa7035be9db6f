"""Private, encrypted storage of KYC files, one folder per tenant schema.

Files live outside MEDIA_ROOT (nothing serves them directly) under
`<BROKERAGE_PRIVATE_ROOT>/kyc/<schema>/<random name>`, encrypted with the project's Fernet keys
(FIELD_ENCRYPTION_KEYS, newest first, like brokerage.fields), so a copied disk or backup shows nothing.
A stored name read back in another tenant's schema is refused: the folder is part of the tenant boundary.
"""

from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must hold at least one Fernet key.")
    return MultiFernet([Fernet(key) for key in keys])


def _cipher() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def bytes_encrypt(data: bytes) -> bytes:
    return _cipher().encrypt(data)


def bytes_decrypt(token: bytes) -> bytes:
    try:
        return _cipher().decrypt(token)
    except InvalidToken:
        raise ImproperlyConfigured("A KYC file cannot be decrypted with FIELD_ENCRYPTION_KEYS.") from None


def private_root() -> Path:
    root = getattr(settings, "BROKERAGE_PRIVATE_ROOT", None)
    return Path(root) if root else Path(settings.BASE_DIR) / "var" / "private"


def _tenant_folder() -> Path:
    return private_root() / "kyc" / connection.schema_name


def file_save(data: bytes) -> str:
    """Encrypt and store `data` for the current tenant; the stored name to keep on the Document."""
    folder = _tenant_folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = f"kyc/{connection.schema_name}/{secrets.token_hex(16)}.bin"
    path = private_root() / name
    temporary = path.with_suffix(".part")
    # Written under a temporary name and renamed: a reader never sees half a file.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(bytes_encrypt(data))
    os.replace(temporary, path)
    return name


def file_read(name: str) -> bytes:
    """The plain bytes of a file stored by `file_save` in the current tenant's folder."""
    folder = _tenant_folder().resolve()
    path = (private_root() / name).resolve()
    if path.parent != folder:
        raise FileNotFoundError(f"{name} is not a KYC file of schema {connection.schema_name}")
    return bytes_decrypt(path.read_bytes())
