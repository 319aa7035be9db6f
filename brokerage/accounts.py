from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.db import connection
from django.urls import reverse


class AccountAdapter(DefaultAccountAdapter):
    """Sign-up is for clients on a tenant's portal; the operator console has no sign-up."""

    def is_open_for_signup(self, request) -> bool:
        tenant = getattr(request, "tenant", None)
        return connection.schema_name != settings.PUBLIC_SCHEMA_NAME and not getattr(tenant, "is_suspended", False)

    def get_login_redirect_url(self, request) -> str:
        return reverse("home")
