from django.urls import include, path
from rest_framework.routers import DefaultRouter

from brokerage.api import AuditViewSet, MeView, StaffViewSet
from crm.api import ClientViewSet, LeadViewSet, SegmentViewSet, TaskViewSet

router = DefaultRouter()
router.register("staff", StaffViewSet, basename="staff")
router.register("audit", AuditViewSet, basename="audit")
router.register("clients", ClientViewSet, basename="client")
router.register("leads", LeadViewSet, basename="lead")
router.register("tasks", TaskViewSet, basename="task")
router.register("segments", SegmentViewSet, basename="segment")

urlpatterns = [
    path("me/", MeView.as_view(), name="api_me"),
    path("", include(router.urls)),
    path("", include("payments.urls_api")),
    path("", include("trading.urls_api")),
    path("", include("kyc.urls_api")),
]
