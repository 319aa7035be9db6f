"""How the trading pages write lots, prices and deal types: as a trader reads them on their platform."""

from __future__ import annotations

from decimal import Decimal

from trading.models import Deal


def plain(value: Decimal, places: int = 2) -> str:
    """A number without grouping or exponent, with at least `places` decimals and never fewer than
    it has: 50.00000000 -> "50.00", 0.12345 -> "0.12345". Nothing is rounded away."""
    value = Decimal(value).normalize()
    if value.as_tuple().exponent > -places:
        value = value.quantize(Decimal(1).scaleb(-places))
    return f"{value:f}"


def lots(volume: Decimal) -> str:
    """Lots with at least two decimals, more only when the volume has them: 1 -> "1.00", 0.005 -> "0.005"."""
    return plain(volume)


def price(value: Decimal, symbol=None) -> str:
    """A price with the instrument's digits (1.08500, 151.420); an unknown instrument keeps what was reported."""
    if symbol is None:
        return plain(value)
    return f"{Decimal(value):.{symbol.digits}f}"


def deal_comment(comment: str) -> str:
    """The comment without our operation id: "bo-3f2a9c0d1e4b5a6f Wallet transfer" -> "Wallet transfer"."""
    if comment.startswith("bo-"):
        return comment.partition(" ")[2]
    return comment


def deal_rows(deals) -> list[Deal]:
    """The deals with what the tables show beside each (lots, price, kind and comment as written)."""
    rows = list(deals)
    for deal in rows:
        deal.is_trade = deal.action in (Deal.Action.BUY, Deal.Action.SELL)
        deal.volume_shown = lots(deal.volume) if deal.is_trade else ""
        deal.price_shown = price(deal.price, deal.symbol) if deal.is_trade else ""
        deal.entry_shown = deal.get_entry_display() if deal.is_trade else ""
        deal.comment_shown = deal_comment(deal.comment)
    return rows


def position_rows(positions) -> list:
    rows = list(positions)
    for position in rows:
        position.volume_shown = lots(position.volume)
        position.open_price_shown = price(position.open_price, position.symbol)
        position.current_price_shown = price(position.current_price, position.symbol)
    return rows
