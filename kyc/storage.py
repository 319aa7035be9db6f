"""Private, encrypted storage of KYC files, one folder per tenant schema.

Files live outside MEDIA_ROOT (nothing serves them directly) under
`<BROKERAGE_PRIVATE_ROOT>/kyc/<schema>/<random name>`, encrypted with the project's Fernet keys
(FIELD_ENCRYPTION_KEYS, newest first, like brokerage.fields), so a copied disk or backup shows nothing.
A stored name read back in another tenant's schema is refused: the folder is part of the tenant boundary.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.db import connection

from brokerage.fields import decrypt_bytes, encrypt_bytes


def private_root() -> Path:
    return Path(settings.BROKERAGE_PRIVATE_ROOT)


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
        handle.write(encrypt_bytes(data))
    os.replace(temporary, path)
    return name


def file_read(name: str) -> bytes:
    """The plain bytes of a file stored by `file_save` in the current tenant's folder."""
    folder = _tenant_folder().resolve()
    path = (private_root() / name).resolve()
    if path.parent != folder:
        raise FileNotFoundError(f"{name} is not a KYC file of schema {connection.schema_name}")
    return decrypt_bytes(path.read_bytes(), what="A KYC file")
