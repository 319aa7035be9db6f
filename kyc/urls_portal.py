"""/portal/verification/: the client's onboarding (namespace portal)."""

from django.urls import path

from kyc import views_portal as views

urlpatterns = [
    path("", views.kyc_status, name="kyc_status"),
    path("profile/", views.kyc_profile, name="kyc_profile"),
    path("questionnaire/", views.kyc_questionnaire, name="kyc_questionnaire"),
    path("questionnaire/acknowledge/", views.kyc_warning_acknowledge, name="kyc_warning_acknowledge"),
    path("documents/", views.kyc_documents, name="kyc_documents"),
    path("documents/upload/", views.kyc_document_upload, name="kyc_document_upload"),
    path("documents/list/", views.kyc_documents_list, name="kyc_documents_list"),
    path("documents/verify/", views.kyc_vendor_start, name="kyc_vendor_start"),
]
