from django.urls import path

from brokerage.module_page import module_home

urlpatterns = [
    path(
        "",
        module_home(
            title="Risk and AML",
            capability="risk_view",
            summary="Exposure, monitoring and cases.",
            coming=["Exposure per symbol", "AML transaction monitoring", "Anti-fraud rules", "Case management"],
        ),
        name="risk_home",
    ),
]
