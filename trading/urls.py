from django.urls import path

from brokerage.module_page import module_home

urlpatterns = [
    path(
        "",
        module_home(
            title="Trading",
            capability="trading_view",
            summary="Accounts, deals and positions from the trading platforms.",
            coming=[
                "Platform connectors (simulator, MT5)",
                "Trading accounts",
                "Real-time deal sync",
                "Profit and margin math",
            ],
        ),
        name="trading_home",
    ),
]
