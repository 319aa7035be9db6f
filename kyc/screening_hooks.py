"""What starts a screening besides onboarding; registered on import by kyc.apps.

- A profile change (crm's "crm.client.updated" event) to a name, the date of birth, nationality or
  country screens that client again; on an approved client, a change to the identity details also
  opens a review so a person compares them with the documents.
- A watchlist load that added or changed entries (watchlists' `list_version_loaded` signal, sent after
  the load commits, in whatever process loaded it) queues a re-screening job in every active tenant.
"""

from __future__ import annotations

import logging

from django.dispatch import receiver
from django_tenants.utils import get_public_schema_name, schema_context

from brokerage.events import subscribe
from kyc import tasks_screening  # noqa: F401 - registers the Celery tasks
from kyc.screening import SCREENED_FIELDS, Trigger, rescreen_all_start, screen_client, screened_clients
from kyc.workflow import identity_changed
from tenants.models import Tenant
from watchlists.signals import list_version_loaded

logger = logging.getLogger(__name__)


@subscribe("crm.client.updated")
def rescreen_after_profile_change(event) -> None:
    if not SCREENED_FIELDS & set(event.payload.get("fields", ())):
        return
    client = screened_clients().filter(pk=event.payload["client_id"]).first()
    if client is not None:
        screen_client(client, trigger=Trigger.PROFILE_CHANGE)


# What a person compares with the identity documents when it changes after approval.
IDENTITY_FIELDS = frozenset({"first_name", "last_name", "native_name", "date_of_birth", "nationality"})


@subscribe("crm.client.updated")
def review_identity_change(event) -> None:
    changed = IDENTITY_FIELDS & set(event.payload.get("fields", ()))
    if changed:
        identity_changed(event.payload["client_id"], changed, changed_at=event.created_at)


@receiver(list_version_loaded, dispatch_uid="kyc.screening_hooks.rescreen_after_list_load")
def rescreen_after_list_load(sender, version, **kwargs) -> None:
    """One job per active tenant; a tenant that cannot take it now does not stop the others (a job
    created but not sent is sent again by the sweep). A load that added and changed nothing cannot
    raise a hit, so it starts nothing."""
    if not (version.added or version.changed):
        return
    tenants = Tenant.objects.filter(status=Tenant.Status.ACTIVE).exclude(schema_name=get_public_schema_name())
    for schema in tenants.order_by("pk").values_list("schema_name", flat=True):
        with schema_context(schema):
            try:
                rescreen_all_start(version.pk)
            except Exception:
                logger.exception("re-screening after list version %s not queued in %s", version.pk, schema)
