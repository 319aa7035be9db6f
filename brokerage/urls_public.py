"""URLs of the platform (public) domain: the operator console."""

from django.urls import include, path

from brokerage import health, media

urlpatterns = [
    path("", include(("tenants.urls", "console"))),
    path("accounts/", include("allauth.urls")),
    path("health/", health.health, name="health"),
    path("media/branding/<slug:slug>/<str:filename>", media.branding_file),
]
