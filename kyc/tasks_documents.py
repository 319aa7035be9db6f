"""Celery entry points of KYC documents (imported by kyc.apps so the worker registers them)."""

from celery import shared_task

from kyc import documents


@shared_task(acks_late=True)
def document_check(document_id: int) -> bool:
    """Run a document's automatic checks, then re-evaluate its client's file. A document no longer
    being checked is skipped, so a redelivered task changes nothing."""
    return documents.document_check_now(document_id)


@shared_task
def documents_checking_sweep() -> int:
    """Documents a broker outage left being checked (beat, every 5 minutes, every tenant)."""
    return documents.documents_checking_sweep()
