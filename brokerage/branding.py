"""What a request's domain stands for: the platform (operator console) or one broker."""

from django.conf import settings

PLATFORM_NAME = "Brokerage platform"


def is_platform(request) -> bool:
    tenant = getattr(request, "tenant", None)
    return tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME


def brand_name(request) -> str:
    return PLATFORM_NAME if is_platform(request) else request.tenant.brand_name


def signup_open(request) -> bool:
    """Clients sign up on a broker's active domain; the platform has no sign-up."""
    return not is_platform(request) and not request.tenant.is_suspended
