from django.contrib import admin

from brokerage.admin import AuditedModelAdmin
from crm.models import Client


@admin.register(Client)
class ClientAdmin(AuditedModelAdmin):
    list_display = ["email", "first_name", "last_name", "country", "status", "kyc_status", "risk_level", "created_at"]
    list_filter = ["status", "kyc_status", "risk_level", "country"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["user", "created_at"]
