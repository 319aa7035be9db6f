"""/api/v1/ endpoints of the payments module, gathered from its areas."""

from django.urls import include, path

urlpatterns = [
    path("", include("payments.wallets.urls_api")),
    path("", include("payments.deposits.urls_api")),
    path("", include("payments.withdrawals.urls_api")),
    path("", include("payments.reconciliation.urls_api")),
]
