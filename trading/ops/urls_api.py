"""/api/v1/ trading endpoints (staff): platforms, trading-accounts, deals, positions, symbols, summaries."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from trading.ops.api import (
    AccountViewSet,
    DealViewSet,
    PlatformViewSet,
    PositionViewSet,
    SymbolViewSet,
    TradingSummaryView,
)

router = SimpleRouter()
router.register("trading/platforms", PlatformViewSet, basename="trading-platform")
router.register("trading/accounts", AccountViewSet, basename="trading-account")
router.register("trading/deals", DealViewSet, basename="trading-deal")
router.register("trading/positions", PositionViewSet, basename="trading-position")
router.register("trading/symbols", SymbolViewSet, basename="trading-symbol")

urlpatterns = [
    *router.urls,
    path("clients/<int:client_id>/trading-summary/", TradingSummaryView.as_view(), name="client-trading-summary"),
]
