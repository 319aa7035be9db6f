"""/portal/funds/: the client's wallets, deposits and withdrawals."""

from django.urls import include, path

urlpatterns = [
    path("", include("payments.wallets.urls_portal")),
    path("deposit/", include("payments.deposits.urls_portal")),
    path("withdraw/", include("payments.withdrawals.urls_portal")),
]
