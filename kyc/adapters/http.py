"""The vendors' HTTPS calls, in one function tests replace with a fake that speaks the protocol."""

from __future__ import annotations

import json

import requests

from kyc.adapters.base import VendorError

TIMEOUT = 15


def http_json(method: str, url: str, *, headers: dict[str, str], body: bytes | None = None) -> dict:
    """Send one request and return the JSON object it answers; VendorError for a network fault, a
    non-2xx or an answer that is not a JSON object."""
    try:
        response = requests.request(method, url, headers=headers, data=body, timeout=TIMEOUT)
    except requests.RequestException as error:
        raise VendorError(f"The vendor could not be reached: {error}") from error
    if not 200 <= response.status_code < 300:
        raise VendorError(f"The vendor answered {response.status_code}: {response.text[:200]}")
    try:
        answer = response.json()
    except (json.JSONDecodeError, RecursionError) as error:
        raise VendorError("The vendor's answer is not JSON.") from error
    if not isinstance(answer, dict):
        raise VendorError("The vendor's answer is not a JSON object.")
    return answer
