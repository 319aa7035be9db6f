"""`{{ amount|money:currency }}` on the deposit pages: "1,250.00 USD", at the currency's minor unit."""

from decimal import Decimal

from django import template

from brokerage.money import CurrencyError, quantize

register = template.Library()


@register.filter
def money(amount, currency: str) -> str:
    if amount is None or amount == "":
        return ""
    try:
        return f"{quantize(Decimal(amount), currency):,} {currency}"
    except (CurrencyError, ArithmeticError, TypeError, ValueError):
        return f"{amount} {currency}"


@register.filter
def percent(value) -> str:
    """Decimal('2.5000') -> "2.5"."""
    return f"{Decimal(value).normalize():f}" if value not in (None, "") else ""
