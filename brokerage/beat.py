"""Celery beat: every schedule entry runs once per active tenant, in that tenant's schema."""

from django_tenants.utils import get_tenant_model
from tenant_schemas_celery.scheduler import TenantAwarePersistentScheduler


class TenantBeatScheduler(TenantAwarePersistentScheduler):
    """Suspended tenants get no scheduled work (the library's default sends to all)."""

    @classmethod
    def get_queryset(cls):
        return get_tenant_model().objects.filter(status="active")
