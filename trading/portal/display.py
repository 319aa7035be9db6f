"""How the trading pages write lots, prices and deal types: as a trader reads them on their platform."""

from __future__ import annotations

from decimal import Decimal

from trading.models import Deal, Symbol

# Our own wallet transfers carry the operation id first ("bo-3f2a9c0d1e4b5a6f ..."); see trading.gateway.


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
