from django.conf import settings
from django.db import connection


def branding(request):
    """The tenant's name, logo and colour for every page (the operator's own on the public domain)."""
    tenant = getattr(request, "tenant", None)
    is_public = tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME
    return {
        "brand": {
            "name": "Brokerage platform" if is_public else tenant.brand_name,
            "logo_url": tenant.logo.url if (tenant is not None and tenant.logo) else "",
            "colour": tenant.primary_colour if tenant is not None else "#1f6feb",
            "support_email": getattr(tenant, "support_email", ""),
            "is_public": is_public,
            "signup_open": not is_public and not tenant.is_suspended,
        },
        "schema_name": connection.schema_name,
    }
