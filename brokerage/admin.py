"""Tenant admin (/admin/) for owners and admins. Every change made here is audited too."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from brokerage.audit import audit_log, snapshot
from brokerage.models import AuditRecord, User


class AuditedModelAdmin(admin.ModelAdmin):
    """Writes an audit record for each save and delete made through the admin."""

    def save_model(self, request, obj, form, change):
        before = snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        action = "updated" if change else "created"
        audit_log(
            actor=request.user,
            action=f"admin.{obj._meta.label_lower}.{action}",
            obj=obj,
            before=before,
            after=snapshot(obj),
        )

    def delete_model(self, request, obj):
        audit_log(actor=request.user, action=f"admin.{obj._meta.label_lower}.deleted", obj=obj, before=snapshot(obj))
        super().delete_model(request, obj)


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_active", "last_login"]
    list_filter = ["is_active", "groups"]
    search_fields = ["email", "first_name", "last_name"]
    # Sign-in identity, access and roles change only through /ops/staff/ and the
    # account pages, where the owner rules, allauth's email records and the audit apply.
    readonly_fields = ["email", "last_login", "date_joined", "groups", "is_staff", "is_active"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["first_name", "last_name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]

    def has_add_permission(self, request):
        return False  # staff are invited from /ops/staff/, clients sign up on the portal

    def user_change_password(self, request, id, form_url=""):  # noqa: A002 - Django's signature
        # Setting someone else's password would take over their account: people reset their own.
        raise PermissionDenied


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "actor_email", "action", "object_type", "object_id", "ip_address"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_email", "action", "object_repr"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.unregister(Group)
admin.site.site_header = "Tenant administration"
admin.site.site_title = "Tenant administration"
