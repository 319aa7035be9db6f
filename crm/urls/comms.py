from django.urls import path

from crm.views import comms as views

urlpatterns = [
    path("clients/<int:client_id>/notes/", views.note_add, name="crm_note_add"),
    path("clients/<int:client_id>/calls/", views.call_add, name="crm_call_add"),
    path("clients/<int:client_id>/emails/", views.email_send, name="crm_email_send"),
    path("clients/<int:client_id>/emails/preview/", views.email_preview, name="crm_email_preview"),
    path("clients/<int:client_id>/tasks/", views.task_add, name="crm_task_add"),
    path("tasks/", views.task_list, name="crm_tasks"),
    path("tasks/new/", views.task_new, name="crm_task_new"),
    path("tasks/<int:task_id>/complete/", views.task_complete, name="crm_task_complete"),
    path("tasks/<int:task_id>/reopen/", views.task_reopen, name="crm_task_reopen"),
    path("tasks/<int:task_id>/cancel/", views.task_cancel, name="crm_task_cancel"),
    path("email-templates/", views.email_template_list, name="crm_email_templates"),
    path("email-templates/new/", views.email_template_edit, name="crm_email_template_new"),
    path("email-templates/check/", views.email_template_check, name="crm_email_template_check"),
    path("email-templates/<int:template_id>/", views.email_template_edit, name="crm_email_template_edit"),
    path("email-templates/<int:template_id>/delete/", views.email_template_delete, name="crm_email_template_delete"),
    path("notifications/", views.notification_list, name="crm_notifications"),
    path("notifications/read-all/", views.notifications_read_all, name="crm_notifications_read_all"),
    path("notifications/bell/", views.bell, name="crm_bell"),
    path("notifications/<int:notification_id>/", views.notification_open, name="crm_notification_open"),
]
