"""Money and rate formatting for the payments pages: the currency's own decimals, thousands grouped."""

from decimal import ROUND_HALF_UP, Decimal

from django import template

from brokerage.money import MINOR_UNITS

register = template.Library()


@register.filter
def money(amount, currency: str) -> str:
    """1234.5 USD -> "1,234.50"; 0.0015 BTC -> "0.00150000". Amounts are already exact: nothing is rounded."""
    if amount is None or amount == "":
        return ""
    places = MINOR_UNITS.get(currency, 8)
    return f"{Decimal(amount):,.{places}f}"


@register.filter
def money_ccy(amount, currency: str) -> str:
    """The same with the currency after it: "1,234.50 USD"."""
    shown = money(amount, currency)
    return f"{shown} {currency}" if shown else ""


@register.filter
def percent(value) -> str:
    """Decimal('2.5000') -> "2.5"."""
    return f"{Decimal(value).normalize():f}" if value not in (None, "") else ""


@register.filter
def rate(value, significant=None) -> str:
    """A rate without trailing zeros: 1.0850000000 -> "1.085"; `rate:8` keeps 8 significant digits."""
    if value is None or value == "":
        return ""
    number = Decimal(value)
    if significant and number:
        number = number.quantize(Decimal(1).scaleb(number.adjusted() - int(significant) + 1), rounding=ROUND_HALF_UP)
    return f"{number.normalize():f}"
