from django.urls import path

from crm.views import segments as views

urlpatterns = [
    path("segments/", views.segment_list, name="crm_segments"),
    path("segments/new/", views.segment_create, name="crm_segment_create"),
    path("segments/preview/", views.segment_preview, name="crm_segment_preview"),
    path("segments/examples/", views.segment_examples, name="crm_segment_examples"),
    path("segments/<int:segment_id>/", views.segment_detail, name="crm_segment_detail"),
    path("segments/<int:segment_id>/edit/", views.segment_edit, name="crm_segment_edit"),
    path("segments/<int:segment_id>/delete/", views.segment_delete, name="crm_segment_delete"),
    path("segments/<int:segment_id>/count/", views.segment_count, name="crm_segment_count"),
    path("segments/<int:segment_id>/export.csv", views.segment_export, name="crm_segment_export"),
    path("bulk/", views.bulk_action, name="crm_bulk_action"),
]
