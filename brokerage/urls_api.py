from django.urls import include, path
from rest_framework.routers import DefaultRouter

from brokerage.api import AuditViewSet, MeView, StaffViewSet
from crm.api import ClientViewSet

router = DefaultRouter()
router.register("staff", StaffViewSet, basename="staff")
router.register("audit", AuditViewSet, basename="audit")
router.register("clients", ClientViewSet, basename="client")

urlpatterns = [
    path("me/", MeView.as_view(), name="api_me"),
    path("", include(router.urls)),
    path("", include("payments.urls_api")),
    path("", include("trading.urls_api")),
]
