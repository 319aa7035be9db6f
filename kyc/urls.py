from django.urls import path

from brokerage.module_page import module_home

urlpatterns = [
    path(
        "",
        module_home(
            title="Onboarding and KYC",
            capability="kyc_review",
            summary="Identity checks for every client before money moves.",
            coming=[
                "Document upload with automatic checks",
                "Sanctions and PEP screening",
                "Risk scoring",
                "Review queue",
            ],
        ),
        name="kyc_home",
    ),
]
