"""Celery entry points of the trading module (autodiscovered), gathered from its areas."""

from trading.simulator.tasks import simulator_tick, simulator_traffic  # noqa: F401
from trading.sync.tasks import account_states_refresh, platforms_sync  # noqa: F401
