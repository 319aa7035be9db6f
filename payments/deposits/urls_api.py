from rest_framework.routers import SimpleRouter

from payments.deposits.api import DepositViewSet

router = SimpleRouter()
router.register("deposits", DepositViewSet, basename="deposit")

urlpatterns = router.urls
