"""Celery entry point of expiry monitoring (beat runs it daily in every tenant)."""

from dataclasses import asdict

from celery import shared_task

from kyc.expiry import expiry_scan


@shared_task
def kyc_expiry_scan() -> dict:
    """Expire identity documents past their date and notify clients whose documents expire soon."""
    return asdict(expiry_scan())
