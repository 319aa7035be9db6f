"""Celery entry points of deposits and the chain simulator (beat runs them in every tenant)."""

from celery import shared_task

from payments.adapters.crypto_sim import chain_tick
from payments.deposits.services import deposits_expire_abandoned


@shared_task
def deposits_expire() -> int:
    """Abandoned card checkouts end as expired."""
    return deposits_expire_abandoned()


@shared_task
def crypto_sim_tick() -> int:
    """One block on the simulated chain: every pending simulated transaction gains a confirmation."""
    return chain_tick()
