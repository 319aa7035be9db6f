from django.urls import path

from brokerage.module_page import module_home

urlpatterns = [
    path(
        "",
        module_home(
            title="Partners",
            capability="partners_view",
            summary="Introducing brokers, affiliates and their commissions.",
            coming=[
                "IB hierarchy and referral links",
                "Commission plans",
                "Commission engine on live deals",
                "Payouts",
            ],
        ),
        name="partners_home",
    ),
]
