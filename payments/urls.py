from django.urls import path

from brokerage.module_page import module_home

urlpatterns = [
    path(
        "",
        module_home(
            title="Payments",
            capability="payments_view",
            summary="The double-entry ledger behind every balance.",
            coming=[
                "Wallets and ledger",
                "Deposits through PSP adapters",
                "Withdrawals with approvals",
                "Reconciliation",
            ],
        ),
        name="payments_home",
    ),
]
