"""Mounted by the lead at /ops/kyc/settings/ inside the ops namespace (names ops:kyc_settings...)."""

from django.urls import path

from kyc import views_settings as views

urlpatterns = [
    path("", views.settings_policy, name="kyc_settings"),
    path("credentials/clear/", views.settings_credentials_clear, name="kyc_settings_credentials_clear"),
    path("levels/", views.settings_levels, name="kyc_settings_levels"),
    path("levels/new/", views.settings_level_new, name="kyc_settings_level_new"),
    path("levels/<int:pk>/", views.settings_level_edit, name="kyc_settings_level"),
    path("levels/<int:pk>/delete/", views.settings_level_delete, name="kyc_settings_level_delete"),
    path("questionnaires/", views.settings_questionnaires, name="kyc_settings_questionnaires"),
    path("questionnaires/new/", views.settings_questionnaire_new, name="kyc_settings_questionnaire_new"),
    path("questionnaires/<int:pk>/", views.settings_questionnaire, name="kyc_settings_questionnaire"),
    path(
        "questionnaires/<int:pk>/active/", views.settings_questionnaire_active, name="kyc_settings_questionnaire_active"
    ),
]
