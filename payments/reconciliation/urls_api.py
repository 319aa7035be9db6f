from rest_framework.routers import SimpleRouter

from payments.reconciliation.api import StatementEntryViewSet, StatementViewSet

router = SimpleRouter()
router.register("statements", StatementViewSet, basename="statement")
router.register("statement-entries", StatementEntryViewSet, basename="statement-entry")

urlpatterns = router.urls
