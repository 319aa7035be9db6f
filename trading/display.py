"""How trading figures are written for people (pages and CSV files): as a trader reads them on their
platform, never rounding a reported figure away."""

from __future__ import annotations

from decimal import Decimal


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
