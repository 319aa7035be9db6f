"""URLs of a tenant's domains: the three portals, admin, API, accounts."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from brokerage import health, media, views

handler404 = views.not_found

# The admin signs in through allauth (with its TOTP step), never with a bare password.
admin.site.login = secure_admin_login(admin.site.login)

ops_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/<int:user_id>/", views.staff_detail, name="staff_detail"),
    path("staff/<int:user_id>/active/", views.staff_set_active, name="staff_set_active"),
    path("audit/", views.audit_list, name="audit_list"),
    path("api-token/", views.api_token, name="api_token"),
    path("search/", views.search, name="search"),
    path("jobs/", views.jobs, name="jobs"),
    path("crm/", include("crm.urls_ops")),
    path("kyc/settings/", include("kyc.urls_settings")),
    path("kyc/", include("kyc.urls")),
    path("payments/", include("payments.urls_ops")),
    path("trading/", include("trading.urls")),
    path("partners/", include("partners.urls_ops")),
    path("risk/", include("risk.urls")),
    path("reporting/", include("reporting.urls")),
]

portal_patterns = [
    path("", include("crm.urls_portal")),
    path("funds/", include("payments.urls_portal")),
    path("trading/", include("trading.urls_portal")),
    path("verification/", include("kyc.urls_portal")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("allauth.urls")),
    path("ops/", include((ops_patterns, "ops"))),
    path("portal/", include((portal_patterns, "portal"))),
    # PSP-facing endpoints: signed webhooks and the built-in sandbox PSPs' hosted pages.
    path("payments/", include("payments.urls_psp")),
    # Platform-facing: real-time deal and position events pushed by a trading server's bridge.
    path("trading/push/", include("trading.urls_push")),
    path("partners/", include(("partners.urls_portal", "partners"))),
    # KYC documents, served only to their owner and to reviewing staff; KYC vendors' webhooks.
    path("kyc/files/", include("kyc.urls_files")),
    path("kyc/webhooks/", include("kyc.urls_webhooks")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("brokerage.urls_api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path("health/", health.health, name="health"),
    path("media/branding/<slug:slug>/<str:filename>", media.branding_file),
]
