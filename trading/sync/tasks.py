"""Celery entry points of the sync (beat runs each in every active tenant's schema; see brokerage/beat.py)."""

from __future__ import annotations

from celery import shared_task

from trading.sync.pull import account_states_refresh_all, platforms_sync_all


@shared_task
def platforms_sync() -> int:
    """Beat, every 5 s, per tenant: deals since each platform's cursor and its open positions.

    Returns how many new deals were stored. Overlapping runs are harmless: each platform is synced
    by one run at a time (the other skips it) and deals are keyed by ticket.
    """
    return sum(result.inserted for result in platforms_sync_all())


@shared_task
def account_states_refresh() -> int:
    """Beat, every 60 s, per tenant: ping each platform (health) and refresh every active account's state."""
    return account_states_refresh_all()
