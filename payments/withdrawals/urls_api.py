from rest_framework.routers import SimpleRouter

from payments.withdrawals.api import WithdrawalViewSet

router = SimpleRouter()
router.register("withdrawals", WithdrawalViewSet, basename="withdrawal")

urlpatterns = router.urls
