from django.urls import path

from crm.views import sales as views

urlpatterns = [
    path("sales/kpis/", views.kpis, name="crm_kpis"),
    path("sales/reassign/", views.reassign, name="crm_reassign"),
    path("sales/desks/", views.desks, name="crm_desks"),
    path("sales/desks/<int:desk_id>/", views.desk_edit, name="crm_desk_edit"),
    path("sales/desks/<int:desk_id>/delete/", views.desk_delete, name="crm_desk_delete"),
    path("sales/rules/", views.rules, name="crm_rules"),
    path("sales/rules/new/", views.rule_new, name="crm_rule_new"),
    path("sales/rules/<int:rule_id>/", views.rule_edit, name="crm_rule_edit"),
    path("sales/rules/<int:rule_id>/toggle/", views.rule_toggle, name="crm_rule_toggle"),
    path("sales/rules/<int:rule_id>/delete/", views.rule_delete, name="crm_rule_delete"),
]
