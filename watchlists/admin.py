"""Watchlists in the tenant admin, read-only: versions and entries change only by `load_watchlist`.

The lists are shared by every tenant (public schema) and hold public information, so a tenant's
compliance staff (kyc_compliance) and KYC managers (kyc_manage) may read them; nobody edits them here.
"""

from django.contrib import admin

from brokerage.roles import perm
from watchlists.models import Entry, ListVersion

READ_CAPABILITIES = ("kyc_compliance", "kyc_manage")


class ReadOnlyWatchlistAdmin(admin.ModelAdmin):
    def _can_read(self, request) -> bool:
        user = request.user
        return user.is_active and any(user.has_perm(perm(capability)) for capability in READ_CAPABILITIES)

    def has_module_permission(self, request):
        return self._can_read(request)

    def has_view_permission(self, request, obj=None):
        return self._can_read(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ListVersion)
class ListVersionAdmin(ReadOnlyWatchlistAdmin):
    list_display = [
        "id",
        "source",
        "format",
        "file_name",
        "entry_count",
        "added",
        "changed",
        "removed",
        "is_current",
        "loaded_at",
    ]
    list_filter = ["source", "is_current"]
    readonly_fields = [field.name for field in ListVersion._meta.fields]


@admin.register(Entry)
class EntryAdmin(ReadOnlyWatchlistAdmin):
    list_display = ["entry_id", "name", "kind", "is_pep", "version"]
    list_filter = ["version__source", "version__is_current", "kind", "is_pep"]
    search_fields = ["entry_id", "name"]
    list_select_related = ["version"]
    readonly_fields = [field.name for field in Entry._meta.fields]
