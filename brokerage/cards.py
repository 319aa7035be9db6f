"""The kernel's figures on the ops dashboard."""

from brokerage.dashboard import Card, register_card
from brokerage.selectors import staff_list

register_card(
    Card("Active staff", "staff_manage", lambda: staff_list().filter(is_active=True).count(), "ops:staff_list", 90)
)
