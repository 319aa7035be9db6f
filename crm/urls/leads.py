from django.urls import path

from crm.views import leads as views

urlpatterns = [
    path("leads/", views.lead_pipeline, name="crm_leads"),
    path("leads/new/", views.lead_new, name="crm_lead_new"),
    path("leads/<int:client_id>/stage/", views.lead_stage, name="crm_lead_stage"),
    path("leads/imports/", views.import_list, name="crm_lead_imports"),
    path("leads/imports/upload/", views.import_upload, name="crm_lead_import_upload"),
    path("leads/imports/<int:import_id>/", views.import_mapping, name="crm_lead_import"),
    path("leads/imports/<int:import_id>/progress/", views.import_progress, name="crm_lead_import_progress"),
    path("leads/imports/<int:import_id>/resume/", views.import_resume, name="crm_lead_import_resume"),
    path("leads/imports/<int:import_id>/report/", views.import_report, name="crm_lead_import_report"),
]
