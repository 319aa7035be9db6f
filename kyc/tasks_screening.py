"""Celery entry points of screening (kyc.screening does the work); imported by kyc.screening_hooks."""

from __future__ import annotations

from celery import shared_task

from kyc import screening


@shared_task(acks_late=True)
def rescreen_job_task(job_id: int) -> str:
    """Re-screen the tenant's clients for one job. Idempotent: a redelivered or repeated run carries on
    after the last committed chunk, and a second runner of a job that is running returns at once."""
    job = screening.rescreen_job_run(job_id)
    return job.status if job else "missing"


@shared_task
def rescreen_jobs_sweep() -> int:
    """Jobs whose send was lost or whose worker died are sent again (beat, every tenant)."""
    return screening.rescreen_jobs_sweep()
