"""Celery entry point of the dormancy sweep (beat runs it in every tenant); imported by crm.event_hooks
so workers register it (crm/tasks.py is autodiscovered, this module is not)."""

from celery import shared_task

from crm.activity import clients_dormant_sweep


@shared_task
def clients_dormancy_sweep() -> int:
    """Funded or active clients quiet for 90 days become dormant."""
    return clients_dormant_sweep()
