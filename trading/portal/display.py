"""Rows of the portal's deal and position tables, with their lots and prices written out."""

from __future__ import annotations

from trading.display import lots, price
from trading.models import Deal, Symbol


def symbols_missing(rows) -> None:
    """Give deals and positions whose symbol was not resolved the instrument of that name, when the
    tenant has one, so that their prices still get its digits. One query for all of them."""
    names = {row.symbol_name for row in rows if row.symbol_id is None and row.symbol_name}
    if not names:
        return
    known = {symbol.name: symbol for symbol in Symbol.objects.filter(name__in=names)}
    for row in rows:
        if row.symbol_id is None and row.symbol_name in known:
            row.symbol = known[row.symbol_name]


def deal_rows(deals) -> list[Deal]:
    """The deals with what the tables show beside each (lots, price, kind and comment as written)."""
    rows = list(deals)
    symbols_missing(rows)
    for deal in rows:
        deal.is_trade = deal.action in (Deal.Action.BUY, Deal.Action.SELL)
        deal.volume_shown = lots(deal.volume) if deal.is_trade else ""
        deal.price_shown = price(deal.price, deal.symbol) if deal.is_trade else ""
        deal.entry_shown = deal.get_entry_display() if deal.is_trade else ""
        deal.comment_shown = deal.description
    return rows


def position_rows(positions) -> list:
    rows = list(positions)
    symbols_missing(rows)
    for position in rows:
        position.volume_shown = lots(position.volume)
        position.open_price_shown = price(position.open_price, position.symbol)
        position.current_price_shown = price(position.current_price, position.symbol)
    return rows
