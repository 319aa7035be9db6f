from django.db import connection

from brokerage import branding as brand


def branding(request):
    """The tenant's name, logo and colour for every page (the operator's own on the public domain)."""
    tenant = getattr(request, "tenant", None)
    return {
        "brand": {
            "name": brand.brand_name(request),
            "logo_url": tenant.logo.url if (tenant is not None and tenant.logo) else "",
            "colour": tenant.primary_colour if tenant is not None else "#1f6feb",
            "support_email": getattr(tenant, "support_email", ""),
            "is_public": brand.is_platform(request),
            "signup_open": brand.signup_open(request),
        },
        "schema_name": connection.schema_name,
    }
