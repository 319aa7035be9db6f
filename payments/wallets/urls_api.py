from rest_framework.routers import SimpleRouter

from payments.wallets.api import (
    ConversionViewSet,
    LedgerTransactionViewSet,
    RateViewSet,
    TradingTransferViewSet,
    WalletViewSet,
)

router = SimpleRouter()
router.register("wallets", WalletViewSet, basename="wallet")
router.register("ledger-transactions", LedgerTransactionViewSet, basename="ledger-transaction")
router.register("rates", RateViewSet, basename="rate")
router.register("conversions", ConversionViewSet, basename="conversion")
router.register("trading-transfers", TradingTransferViewSet, basename="trading-transfer")

urlpatterns = router.urls
