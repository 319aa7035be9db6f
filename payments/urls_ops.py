"""/ops/payments/: one tab per area; each area owns its own URLs."""

from django.urls import include, path

urlpatterns = [
    path("", include("payments.wallets.urls_ops")),
    path("deposits/", include("payments.deposits.urls_ops")),
    path("withdrawals/", include("payments.withdrawals.urls_ops")),
    path("reconciliation/", include("payments.reconciliation.urls_ops")),
]
