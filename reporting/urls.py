from django.urls import path

from brokerage.module_page import module_home

urlpatterns = [
    path(
        "",
        module_home(
            title="Reporting",
            capability="reporting_view",
            summary="Daily figures, statements and regulatory reports.",
            coming=["Daily P&L", "PDF client statements", "Regulatory reports", "Exports"],
        ),
        name="reporting_home",
    ),
]
