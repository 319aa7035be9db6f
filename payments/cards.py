"""Payments' figures on the ops dashboard; one query each, the dashboard is everyone's first page."""

from brokerage.dashboard import Card, register_card
from payments import selectors

register_card(
    Card("Deposits today", "payments_view", selectors.deposits_completed_today_count, "ops:payments_deposits", 30)
)
register_card(
    Card("Open withdrawals", "payments_view", selectors.withdrawals_open_count, "ops:payments_withdrawals", 31)
)
