"""Celery entry points of the payments module (autodiscovered), gathered from its areas."""

from payments.adapters.tasks import simulator_webhook_deliver  # noqa: F401
from payments.deposits.tasks import crypto_sim_tick, deposits_expire  # noqa: F401
from payments.wallets.tasks import (  # noqa: F401
    rates_fetch_ecb,
    rates_refresh,
    trading_transfer_send_task,
    trading_transfers_recover_task,
)
from payments.withdrawals.tasks import withdrawal_payout, withdrawal_payout_sweep  # noqa: F401
