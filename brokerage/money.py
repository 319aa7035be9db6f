"""Money: Decimal amounts with an ISO 4217 currency. Rounding happens here and only here."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor units for the currencies a broker meets. Crypto "currencies"
# are not ISO codes but brokers hold them in wallets, so they sit beside them.
MINOR_UNITS: dict[str, int] = {
    "AED": 2, "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2, "CZK": 2,
    "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "JOD": 3,
    "JPY": 0, "KES": 2, "KRW": 0, "KWD": 3, "MXN": 2, "MYR": 2, "NGN": 2, "NOK": 2, "NZD": 2,
    "OMR": 3, "PHP": 2, "PLN": 2, "QAR": 2, "RON": 2, "RUB": 2, "SAR": 2, "SEK": 2, "SGD": 2,
    "THB": 2, "TND": 3, "TRY": 2, "TWD": 2, "UAH": 2, "USD": 2, "VND": 0, "ZAR": 2,
    "XAU": 4, "XAG": 4,
    "BTC": 8, "ETH": 8, "USDT": 6, "USDC": 6,
}  # fmt: skip

CURRENCY_CHOICES = [(code, code) for code in sorted(MINOR_UNITS)]
# What a broker keeps its books in: ISO 4217 national currencies, not metals or crypto.
FIAT_CURRENCIES = frozenset(MINOR_UNITS) - {"XAU", "XAG", "BTC", "ETH", "USDT", "USDC"}
FIAT_CURRENCY_CHOICES = [(code, code) for code in sorted(FIAT_CURRENCIES)]


class CurrencyError(ValueError):
    pass


def minor_units(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise CurrencyError(f"Unknown currency {currency!r}.") from None


def quantize(amount: Decimal, currency: str, *, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round an amount to the currency's minor unit: the one rounding helper.

    Half-up is what clients and statements expect; pass ROUND_HALF_EVEN
    (banker's rounding) where a regulator asks for it.
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"Money amounts are Decimal, not {type(amount).__name__}.")
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exponent, rounding=rounding)


def parse_amount(text: str | int | Decimal) -> Decimal:
    """Read an amount from user input; floats are refused because they are already wrong."""
    if isinstance(text, float):
        raise TypeError("Money amounts are never floats.")
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount.") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not an amount.")
    return value


def money_text(amount: Decimal | str | int | None, currency: str) -> str:
    """An amount for people: at the currency's minor unit, thousands separated, code after
    ("1,250.50 USD", "1,000 JPY", "0.00150000 BTC"). None is 0; an unknown code gets two decimals."""
    amount = Decimal(0) if amount is None else parse_amount(amount)
    places = MINOR_UNITS.get(currency, 2)
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{rounded:,.{places}f} {currency}".rstrip()


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, float):
            raise TypeError("Money amounts are never floats.")
        minor_units(self.currency)
        object.__setattr__(self, "amount", Decimal(self.amount))

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        return cls(parse_amount(amount), currency.upper())

    def rounded(self, rounding: str = ROUND_HALF_UP) -> Money:
        return Money(quantize(self.amount, self.currency, rounding=rounding), self.currency)

    def to_minor(self) -> int:
        """Integer amount in minor units (cents), as PSPs exchange it; must already be exact."""
        scaled = self.amount.scaleb(minor_units(self.currency))
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{self} has more precision than {self.currency} allows.")
        return int(scaled)

    @classmethod
    def from_minor(cls, value: int, currency: str) -> Money:
        return cls(Decimal(value).scaleb(-minor_units(currency)), currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("Money only combines with Money.")
        if other.currency != self.currency:
            raise CurrencyError(f"Cannot combine {self.currency} with {other.currency}.")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float):
            raise TypeError("Multiply money by a Decimal, never a float.")
        return Money(self.amount * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __str__(self) -> str:
        return f"{quantize(self.amount, self.currency):,} {self.currency}"


__all__ = [
    "CURRENCY_CHOICES",
    "FIAT_CURRENCIES",
    "FIAT_CURRENCY_CHOICES",
    "MINOR_UNITS",
    "CurrencyError",
    "Money",
    "ROUND_HALF_EVEN",
    "money_text",
    "parse_amount",
    "quantize",
]
