from django.conf import settings
from django.db import connection
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from brokerage.errors import error_body
from brokerage.request_context import client_ip, reset_current_ip, set_current_ip
from brokerage.roles import perm


class SuspendedTenantMiddleware:
    """A suspended tenant's domains show a notice; its API refuses every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is not None and getattr(tenant, "is_suspended", False):
            if request.path.startswith("/static/"):
                return self.get_response(request)
            if request.path.startswith("/api/"):
                return JsonResponse(error_body("tenant_suspended", "This broker's service is suspended."), status=403)
            return render(request, "suspended.html", {"tenant": tenant}, status=403)
        return self.get_response(request)


class RejectNulBytesMiddleware:
    """A NUL byte in a query string is never meant; PostgreSQL refuses it deep in a query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key + "".join(values) for key, values in request.GET.lists()):
            if request.path.startswith("/api/"):
                return JsonResponse(error_body("invalid", "The query string contains a NUL byte."), status=400)
            return HttpResponseBadRequest("The address contains a NUL byte.")
        return self.get_response(request)


class RequestContextMiddleware:
    """Makes the client IP available to audit records written anywhere in the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_current_ip(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            reset_current_ip(token)


class StaffMfaMiddleware:
    """Staff (and operators) must have TOTP set up before they reach /ops/, /admin/, the API or the console.

    The API check covers session sign-ins; tokens are issued only from /ops/, behind this check.
    """

    PROTECTED_TENANT_PREFIXES = ("/ops/", "/admin/", "/api/", "/kyc/files/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._needs_mfa(request):
            if request.path.startswith("/api/"):
                message = "Set up two-factor authentication before using the API."
                return JsonResponse(error_body("mfa_required", message), status=403)
            return redirect(f"{reverse('mfa_activate_totp')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    def _needs_mfa(self, request) -> bool:
        if not getattr(settings, "BROKERAGE_REQUIRE_STAFF_MFA", True):
            return False
        user = request.user
        if not user.is_authenticated:
            return False
        if connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
            protected = user.is_staff and not request.path.startswith(("/accounts/", "/static/", "/health/"))
        else:
            # Only staff are sent to set up TOTP; a client on /ops/ gets the view's plain 403.
            protected = request.path.startswith(self.PROTECTED_TENANT_PREFIXES) and (
                user.is_staff or user.has_perm(perm("ops_access"))
            )
        if not protected:
            return False
        from allauth.mfa.models import Authenticator

        return not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
