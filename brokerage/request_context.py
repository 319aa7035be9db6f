"""The client IP of the request being served, for audit records written deep in services."""

import ipaddress
from contextvars import ContextVar

from django.conf import settings

_current_ip: ContextVar[str | None] = ContextVar("current_ip", default=None)


def current_ip() -> str | None:
    return _current_ip.get()


def client_ip(request) -> str | None:
    """The caller's address: REMOTE_ADDR, or, behind N trusted proxies, the Nth address from
    the right of X-Forwarded-For (the one our own outermost proxy saw; anything left of it
    can be forged by the client)."""
    raw = request.META.get("REMOTE_ADDR", "")
    proxies = settings.BROKERAGE_TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            raw = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def set_current_ip(ip: str | None):
    return _current_ip.set(ip)


def reset_current_ip(token) -> None:
    _current_ip.reset(token)
