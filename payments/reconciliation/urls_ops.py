from django.urls import path

from payments.reconciliation import views

urlpatterns = [
    path("", views.reconciliation_home, name="payments_reconciliation"),
    path("upload/", views.statement_upload, name="payments_reconciliation_upload"),
    path("imports/<int:pk>/", views.statement_detail, name="payments_reconciliation_import"),
    path("entries/<int:pk>/", views.entry_detail, name="payments_reconciliation_entry"),
    path("report/", views.report, name="payments_reconciliation_report"),
    path("sandbox-settlement/", views.sandbox_settlement, name="payments_reconciliation_sandbox"),
]
