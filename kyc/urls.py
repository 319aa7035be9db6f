from django.urls import path

from kyc import views, views_review

urlpatterns = [
    path("", views.kyc_home, name="kyc_home"),
    path("watchlists/", views.kyc_watchlists, name="kyc_watchlists"),
    path("watchlists/rescreen/", views.kyc_rescreen_progress, name="kyc_rescreen_progress"),
    path("watchlists/rescreen/<int:job_id>/resume/", views.kyc_rescreen_resume, name="kyc_rescreen_resume"),
    path("reviews/<int:review_id>/", views_review.kyc_review_detail, name="kyc_review"),
    path("reviews/<int:review_id>/approve/", views_review.kyc_review_approve, name="kyc_review_approve"),
    path("reviews/<int:review_id>/reject/", views_review.kyc_review_reject, name="kyc_review_reject"),
    path(
        "reviews/<int:review_id>/request-documents/",
        views_review.kyc_review_request_documents,
        name="kyc_review_request_documents",
    ),
    path(
        "reviews/<int:review_id>/documents/<int:document_id>/accept/",
        views_review.kyc_document_accept,
        name="kyc_review_document_accept",
    ),
    path(
        "reviews/<int:review_id>/documents/<int:document_id>/reject/",
        views_review.kyc_document_reject,
        name="kyc_review_document_reject",
    ),
    path("reviews/<int:review_id>/hits/<int:hit_id>/decide/", views_review.kyc_hit_decide, name="kyc_hit_decide"),
]
