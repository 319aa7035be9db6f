"""/kyc/files/: KYC documents served decrypted to their owner and to reviewers (no namespace)."""

from django.urls import path

from kyc import views_files

urlpatterns = [
    path("<int:document_id>/", views_files.document_file, name="kyc_document_file"),
]
