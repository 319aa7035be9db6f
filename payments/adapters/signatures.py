"""Webhook signatures, checked over the raw bytes and compared in constant time.

- Stripe style (sandbox card): header `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`,
  `v1 = hex(HMAC-SHA256(secret, f"{t}.{raw body}"))`; any v1 may match (secret rotation);
  `t` must be within the tolerance of now.
- Body HMAC (crypto simulator): header `X-Sim-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`;
  the body's own `created` (unix seconds) must be within the tolerance, so a replay is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from payments.adapters.base import TIMESTAMP_TOLERANCE, SignatureError


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def stripe_signature(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={_hmac_hex(secret, f'{timestamp}.'.encode() + body)}"


def stripe_verify(
    secret: str, body: bytes, signature_header: str, *, now: float | None = None, tolerance: int = TIMESTAMP_TOLERANCE
) -> int:
    """Check a Stripe-Signature header; returns its timestamp, raises SignatureError otherwise."""
    if not secret:
        raise SignatureError("No webhook secret is configured for this method.")
    if not signature_header:
        raise SignatureError("The signature header is missing.")
    timestamp, candidates = None, []
    for item in signature_header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not timestamp.isdigit():
        raise SignatureError("The signature header has no timestamp.")
    if not candidates:
        raise SignatureError("The signature header has no v1 signature.")
    expected = _hmac_hex(secret, f"{timestamp}.".encode() + body)
    # Compare against every candidate (no early exit), each in constant time.
    matched = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    if not any(matched):
        raise SignatureError("No signature matches the body.")
    timestamp_check(int(timestamp), now=now, tolerance=tolerance)
    return int(timestamp)


def body_signature(secret: str, body: bytes) -> str:
    return f"sha256={_hmac_hex(secret, body)}"


def body_verify(secret: str, body: bytes, signature_header: str) -> None:
    if not secret:
        raise SignatureError("No webhook secret is configured for this method.")
    if not signature_header:
        raise SignatureError("The signature header is missing.")
    if not hmac.compare_digest(body_signature(secret, body), signature_header.strip()):
        raise SignatureError("The signature does not match the body.")


def timestamp_check(timestamp: int, *, now: float | None = None, tolerance: int = TIMESTAMP_TOLERANCE) -> None:
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"The signature timestamp is more than {tolerance} s from now.")
