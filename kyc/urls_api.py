"""/api/v1/ endpoints of KYC (brokerage/urls_api.py includes them)."""

from django.urls import path

from kyc import api

urlpatterns = [
    path("clients/<int:client_id>/kyc/", api.ClientKycView.as_view(), name="api_client_kyc"),
    path(
        "clients/<int:client_id>/kyc/documents/",
        api.ClientDocumentUploadView.as_view(),
        name="api_client_kyc_documents",
    ),
    path("kyc/reviews/", api.ReviewListView.as_view(), name="api_kyc_reviews"),
]
