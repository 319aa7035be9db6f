"""Tenant logos. A tenant's domain serves its own logo only; the console serves all of them."""

from django.conf import settings
from django.db import connection
from django.http import Http404
from django.views.static import serve


def branding_file(request, slug: str, filename: str):
    tenant = getattr(request, "tenant", None)
    is_console = connection.schema_name == settings.PUBLIC_SCHEMA_NAME
    if not is_console and (tenant is None or tenant.slug != slug):
        raise Http404
    return serve(request, f"branding/{slug}/{filename}", document_root=settings.MEDIA_ROOT)
