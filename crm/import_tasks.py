"""Celery entry point of the lead import (crm.lead_import does the work)."""

from __future__ import annotations

from celery import shared_task

from crm.lead_import import lead_import_run


@shared_task
def lead_import_task(lead_import_id: int) -> str:
    """Import the pending rows of one import. Idempotent: a redelivered or repeated run carries on
    from the rows still pending and never imports a row twice; a crash is recorded on the import."""
    lead_import = lead_import_run(lead_import_id)
    return lead_import.status if lead_import else "missing"
