from django.contrib import admin

from brokerage.admin import AuditedModelAdmin
from crm.models import Client


@admin.register(Client)
class ClientAdmin(AuditedModelAdmin):
    list_display = ["email", "first_name", "last_name", "country", "status", "kyc_status", "risk_level", "created_at"]
    list_filter = ["status", "kyc_status", "risk_level", "country"]
    search_fields = ["email", "first_name", "last_name"]
    # The ops client page edits the full profile through crm.profile (validated, on the timeline);
    # the admin keeps to the record's core fields.
    fields = ["first_name", "last_name", "email", "country", "status", "kyc_status", "risk_level", "user", "created_at"]
    # KYC status and risk level are set by the KYC services only (kyc.workflow), never by hand here.
    readonly_fields = ["kyc_status", "risk_level", "user", "created_at"]
