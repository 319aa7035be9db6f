"""Celery entry points of wallets, rates and trading transfers: thin, idempotent, safe to retry."""

from __future__ import annotations

import logging

from celery import shared_task

from brokerage.errors import ApplicationError
from payments.models import PaymentPolicy
from payments.rate_providers import demo_rates_refresh, ecb_fetch, ecb_import
from payments.wallets.trading import trading_transfer_send, trading_transfers_recover

logger = logging.getLogger(__name__)


@shared_task
def rates_refresh() -> int:
    """Beat, every minute, per tenant: the next demo rates when the tenant uses the demo feed."""
    if PaymentPolicy.current().rate_feed != PaymentPolicy.RateFeed.DEMO:
        return 0
    return demo_rates_refresh()


@shared_task
def rates_fetch_ecb() -> int:
    """Beat, hourly, per tenant: the ECB's daily file when the tenant uses the ECB feed (re-imports add nothing)."""
    if PaymentPolicy.current().rate_feed != PaymentPolicy.RateFeed.ECB:
        return 0
    try:
        return ecb_import(ecb_fetch()).added
    except ApplicationError as error:  # offline or a bad file: the next hour tries again
        logger.warning("ECB rates not imported: %s", error)
        return 0


@shared_task(acks_late=True)
def trading_transfer_send_task(transfer_id: int) -> str:
    return trading_transfer_send(transfer_id).status


@shared_task
def trading_transfers_recover_task() -> int:
    """Beat, every minute, per tenant: settle transfers a crash or a lost answer left pending."""
    return trading_transfers_recover()
