"""The client IP of the request being served, for audit records written deep in services."""

import ipaddress
from contextvars import ContextVar

_current_ip: ContextVar[str | None] = ContextVar("current_ip", default=None)


def current_ip() -> str | None:
    return _current_ip.get()


def client_ip(request) -> str | None:
    """REMOTE_ADDR; behind a proxy, gunicorn's --forwarded-allow-ips rewrites it from the proxy's header."""
    raw = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def set_current_ip(ip: str | None):
    return _current_ip.set(ip)


def reset_current_ip(token) -> None:
    _current_ip.reset(token)
