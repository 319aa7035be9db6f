"""Trading's figures on the ops dashboard; one query each, the dashboard is everyone's first page."""

from brokerage.dashboard import Card, register_card
from trading import selectors

register_card(
    Card("Trading volume today (lots)", "trading_view", selectors.volume_today_lots, "ops:trading_deals_today", 40)
)
register_card(
    Card("Platforms with problems", "trading_view", selectors.platforms_with_problems_count, "ops:trading_home", 41)
)
