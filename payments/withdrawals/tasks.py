"""Celery entry points for withdrawals: thin, idempotent, safe to run twice."""

from celery import shared_task

from payments.adapters.base import PayoutTransientError
from payments.withdrawals import services

MAX_RETRIES = 8


def _backoff(retries: int) -> int:
    """Seconds before the next try: 30 s, 1, 2, 4 ... minutes, at most an hour."""
    return min(30 * 2**retries, 3600)


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def withdrawal_payout(self, withdrawal_id: int) -> None:
    """Send one approved withdrawal to its PSP; the PSP dedupes by payout_reference, so repeats are harmless."""
    try:
        services.withdrawal_payout_send(withdrawal_id=withdrawal_id)
    except PayoutTransientError as error:
        retry_in = _backoff(self.request.retries) if self.request.retries < MAX_RETRIES else None
        services.withdrawal_payout_delayed(withdrawal_id=withdrawal_id, error=str(error), retry_in=retry_in)
        if retry_in is not None:
            raise self.retry(exc=error, countdown=retry_in) from error


@shared_task
def withdrawal_payout_sweep() -> int:
    """Every tenant (beat): send again the approved payouts a broker outage or a long PSP outage left behind."""
    stalled = list(services.withdrawals_stalled().values_list("pk", flat=True)[:200])
    for withdrawal_id in stalled:
        withdrawal_payout.delay(withdrawal_id)
    return len(stalled)
