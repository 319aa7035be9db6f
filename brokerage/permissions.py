"""Permission checks for pages and API endpoints, both reading the one role table."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from brokerage.roles import perm


def capability_required(codename: str):
    """Page decorator: sign-in first, then the capability, else 403."""
    full_name = perm(codename)

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.has_perm(full_name):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class IsActiveTenantUser(BasePermission):
    """The default: a signed-in, active user of this tenant (tokens and sessions are per schema)."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_active)


def HasCapability(codename: str) -> type[BasePermission]:  # noqa: N802 - reads like a class in permission_classes
    full_name = perm(codename)

    class _HasCapability(IsActiveTenantUser):
        def has_permission(self, request, view) -> bool:
            return super().has_permission(request, view) and request.user.has_perm(full_name)

    _HasCapability.__name__ = f"HasCapability_{codename}"
    return _HasCapability
