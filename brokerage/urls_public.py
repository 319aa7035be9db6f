"""URLs of the platform (public) domain: the operator console."""

from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve

from brokerage import health

urlpatterns = [
    path("", include(("tenants.urls", "console"))),
    path("accounts/", include("allauth.urls")),
    path("health/", health.health, name="health"),
    re_path(r"^media/(?P<path>branding/.+)$", serve, {"document_root": settings.MEDIA_ROOT}),
]
