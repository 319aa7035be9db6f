"""FX math: margin, profit, pip value, swap and notional by MT5 calculation mode, and conversion.

One module for the simulator, risk and reporting. Pure functions on Decimal; the `symbol` argument is a
trading.models.Symbol (or anything with the same attributes). Results keep full Decimal precision:
callers round once, at the currency's minor unit, with brokerage.money.quantize.

Formulas (MQL5 ENUM_SYMBOL_CALC_MODE), lots = volume:

| mode              | margin (margin currency)                                   | profit (profit currency)        |
|-------------------|------------------------------------------------------------|---------------------------------|
| forex             | lots × contract / leverage × margin_rate                   | (close − open) × contract × lots|
| forex_no_leverage | lots × contract × margin_rate                              | same                            |
| cfd               | lots × contract × price × margin_rate                      | same                            |
| cfd_index         | lots × contract × price × tick_value / tick_size × rate    | same                            |
| cfd_leverage      | lots × contract × price / leverage × margin_rate           | same                            |
| futures           | lots × initial_margin × margin_rate                        | (close − open) × tick_value / tick_size × lots |

A sell's profit is (open − close) with the same factors.

Pip convention: quotes with 5 or 3 digits are "fractional pip" quotes, so one pip is 10 points
(0.0001 on EURUSD 1.08450, 0.01 on USDJPY 151.420); any other digit count has pip = 1 point
(0.01 on XAUUSD 2345.60, 0.01 on US500 5212.40).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from brokerage.errors import ApplicationError

BUY, SELL = "buy", "sell"
ZERO = Decimal(0)
PIVOT = "USD"
# Interest-mode swaps count a year as 360 days (money-market convention, as MT5 does).
INTEREST_DAYS_PER_YEAR = Decimal(360)

FOREX = "forex"
FOREX_NO_LEVERAGE = "forex_no_leverage"
CFD = "cfd"
CFD_INDEX = "cfd_index"
CFD_LEVERAGE = "cfd_leverage"
FUTURES = "futures"
CALC_MODES = (FOREX, FOREX_NO_LEVERAGE, CFD, CFD_INDEX, CFD_LEVERAGE, FUTURES)
LEVERAGED_MODES = (FOREX, CFD_LEVERAGE)


class RateMissing(ApplicationError):
    """No quote and no exchange rate to convert between two currencies."""

    code = "rate_unavailable"

    def __init__(self, from_ccy: str, to_ccy: str):
        super().__init__(
            f"No rate to convert {from_ccy} to {to_ccy}: no quoted symbol {from_ccy}{to_ccy}, "
            f"{to_ccy}{from_ccy} or a cross via {PIVOT}, and no {from_ccy}/{to_ccy} exchange rate."
        )
        self.from_ccy, self.to_ccy = from_ccy, to_ccy


def _mode(symbol) -> str:
    mode = str(symbol.calc_mode)
    if mode not in CALC_MODES:
        raise ValueError(f"{symbol.name}: unknown calculation mode {mode!r}")
    return mode


def _sign(side: str) -> int:
    side = str(side)
    if side == BUY:
        return 1
    if side == SELL:
        return -1
    raise ValueError(f"side is 'buy' or 'sell', not {side!r}")


def _dec(value) -> Decimal:
    if isinstance(value, float):
        raise TypeError("FX math takes Decimal, not float")
    return value if isinstance(value, Decimal) else Decimal(value)


def value_per_price_unit(symbol) -> Decimal:
    """What a price move of 1.0 is worth on one lot, in the profit currency."""
    if _mode(symbol) == FUTURES:
        return _dec(symbol.tick_value) / _dec(symbol.tick_size)
    return _dec(symbol.contract_size)


def profit(symbol, side: str, volume, open_price, close_price) -> Decimal:
    """Profit of a position of `volume` lots, in the symbol's profit currency."""
    move = (_dec(close_price) - _dec(open_price)) * _sign(side)
    return move * value_per_price_unit(symbol) * _dec(volume)


def margin(symbol, volume, price, leverage) -> Decimal:
    """Margin required for `volume` lots at market `price`, in the symbol's margin currency.

    `leverage` is the account's (100 for 1:100); modes without leverage ignore it.
    """
    mode = _mode(symbol)
    lots, price = _dec(volume), _dec(price)
    contract, rate = _dec(symbol.contract_size), _dec(symbol.margin_rate)
    if mode in LEVERAGED_MODES:
        leverage = _dec(leverage)
        if leverage <= 0:
            raise ValueError(f"leverage must be positive, not {leverage}")
    if mode == FOREX:
        return lots * contract / leverage * rate
    if mode == FOREX_NO_LEVERAGE:
        return lots * contract * rate
    if mode == CFD:
        return lots * contract * price * rate
    if mode == CFD_INDEX:
        return lots * contract * price * _dec(symbol.tick_value) / _dec(symbol.tick_size) * rate
    if mode == CFD_LEVERAGE:
        return lots * contract * price / leverage * rate
    return lots * _dec(symbol.initial_margin) * rate  # futures


def notional(symbol, volume, price) -> Decimal:
    """The size of a position in money, in the profit currency (futures: price × tick value / tick size)."""
    mode = _mode(symbol)
    size = _dec(volume) * _dec(price) * value_per_price_unit(symbol)
    if mode == CFD_INDEX:
        size = size * _dec(symbol.tick_value) / _dec(symbol.tick_size)
    return size


def pip_size(symbol) -> Decimal:
    """One pip in price: 10 points for 5- and 3-digit quotes, else one point (see the module docstring)."""
    point = Decimal(1).scaleb(-int(symbol.digits))
    return point * 10 if int(symbol.digits) in (3, 5) else point


def pip_value(symbol, volume) -> Decimal:
    """What one pip is worth on `volume` lots, in the profit currency (EURUSD 1 lot: 10 USD)."""
    return pip_size(symbol) * value_per_price_unit(symbol) * _dec(volume)


# Swaps ------------------------------------------------------------------------------------------------


def swap_currency(symbol) -> str:
    """The currency `swap()` answers in: margin currency for "currency" mode, else the profit currency."""
    return symbol.margin_currency if str(symbol.swap_mode) == "currency" else symbol.profit_currency


def swap(symbol, side: str, volume, price, nights: int = 1) -> Decimal:
    """Swap for holding `volume` lots over `nights` rollovers (negative: charged), in swap_currency(symbol).

    points:   swap points × point × value of a price unit × lots
    currency: swap per lot × lots (margin currency)
    interest: notional at `price` × annual % / 100 / 360
    """
    rate = _dec(symbol.swap_long if _sign(side) > 0 else symbol.swap_short)
    mode, lots, nights = str(symbol.swap_mode), _dec(volume), _dec(nights)
    if mode == "disabled" or nights == 0:
        return ZERO
    if mode == "points":
        point = Decimal(1).scaleb(-int(symbol.digits))
        return rate * point * value_per_price_unit(symbol) * lots * nights
    if mode == "currency":
        return rate * lots * nights
    if mode == "interest":
        return notional(symbol, lots, price) * rate / 100 / INTEREST_DAYS_PER_YEAR * nights
    raise ValueError(f"{symbol.name}: unknown swap mode {mode!r}")


def swap_nights(symbol, day: date) -> int:
    """Nights charged to a position held across the rollover at the end of trading day `day`.

    No rollover at the end of Saturday and Sunday; on the symbol's triple-swap day three nights are
    charged (the weekend's two, paid in advance because of T+2 settlement).
    """
    weekday = day.isoweekday()
    if weekday in (6, 7):
        return 0
    return 3 if weekday == int(symbol.triple_swap_day) else 1


def nights_between(symbol, first_day: date, last_day: date) -> int:
    """Nights charged for the rollovers at the end of every trading day from `first_day` to `last_day`."""
    total, day = 0, first_day
    while day <= last_day:
        total += swap_nights(symbol, day)
        day += timedelta(days=1)
    return total


# Conversion -------------------------------------------------------------------------------------------


class RateBook:
    """Cross rates from the mid prices of quoted symbols, read once for many conversions.

    A pair is found as a symbol quoted in it (base → profit currency: the mid), inverted, or crossed via
    USD; anything else falls back to payments' exchange rates (payments.rates.rate_mid).
    """

    def __init__(self, mids: dict[tuple[str, str], Decimal] | None = None, currencies: Iterable[str] | None = None):
        self.mids = dict(mids or {})
        self._found: dict[tuple[str, str], Decimal] = {}
        # Payments' exchange rates, read in one query at the first pair the quotes cannot price.
        self._currencies = None if currencies is None else frozenset(currencies)
        self._stored = None

    @classmethod
    def load(cls, currencies: Iterable[str] | None = None) -> RateBook:
        """Mid prices of every quoted symbol (or only those between `currencies` and USD)."""
        from trading.models import Quote

        quotes = Quote.objects.select_related("symbol").order_by("at")
        if currencies is not None:
            wanted = {*currencies, PIVOT}
            quotes = quotes.filter(symbol__base_currency__in=wanted, symbol__profit_currency__in=wanted)
        mids = {}
        for quote in quotes:  # oldest first: the newest quote of a pair wins
            base, profit_ccy = quote.symbol.base_currency, quote.symbol.profit_currency
            mid = (quote.bid + quote.ask) / 2
            if base != profit_ccy and mid > 0:
                mids[(base, profit_ccy)] = mid
        return cls(mids, currencies)

    def _quoted(self, from_ccy: str, to_ccy: str) -> Decimal | None:
        if (from_ccy, to_ccy) in self.mids:
            return self.mids[(from_ccy, to_ccy)]
        if (to_ccy, from_ccy) in self.mids:
            return 1 / self.mids[(to_ccy, from_ccy)]
        return None

    def rate(self, from_ccy: str, to_ccy: str) -> Decimal:
        """1 from_ccy = rate to_ccy. Raises RateMissing."""
        if from_ccy == to_ccy:
            return Decimal(1)
        key = (from_ccy, to_ccy)
        if key not in self._found:
            self._found[key] = self._find(from_ccy, to_ccy)
        return self._found[key]

    def _find(self, from_ccy: str, to_ccy: str) -> Decimal:
        found = self._quoted(from_ccy, to_ccy)
        if found is not None:
            return found
        if PIVOT not in (from_ccy, to_ccy):
            first, second = self._quoted(from_ccy, PIVOT), self._quoted(PIVOT, to_ccy)
            if first is not None and second is not None:
                return first * second
        return self._exchange_rate(from_ccy, to_ccy)

    def _exchange_rate(self, from_ccy: str, to_ccy: str) -> Decimal:
        """payments.rates.rate_mid's answer (same rule: the pair or its inverse, whichever is newer;
        a fresh cross via EUR or USD when that is stale or missing), from rates read once per book."""
        from payments.rates import RateUnavailable, rate_mid

        known = self._rates_stored()
        if known is None or not {from_ccy, to_ccy} <= known[0]:
            try:  # a currency the book was not loaded for: ask payments directly
                return rate_mid(from_ccy, to_ccy)[0]
            except RateUnavailable:
                raise RateMissing(from_ccy, to_ccy) from None
        found = _rate_from_stored(known[1], from_ccy, to_ccy)
        if found is None:
            raise RateMissing(from_ccy, to_ccy)
        return found

    def _rates_stored(self):
        """(currencies covered, {(base, quote): newest ExchangeRate}); None when the book has no currency list."""
        if self._currencies is None:
            return None
        if self._stored is None:
            from payments.models import ExchangeRate
            from payments.rates import _PIVOTS

            covered = frozenset(self._currencies | set(_PIVOTS))
            pairs = [(base, quote) for base in sorted(covered) for quote in sorted(covered) if base != quote]
            table = ExchangeRate._meta.db_table
            rows = ExchangeRate.objects.raw(
                f"SELECT r.* FROM unnest(%s::text[], %s::text[]) AS p(base, quote) "  # noqa: S608 - our table name
                f"CROSS JOIN LATERAL (SELECT * FROM {table} e WHERE e.base = p.base AND e.quote = p.quote "
                f"ORDER BY e.as_of DESC, e.id DESC LIMIT 1) r",
                [[base for base, _ in pairs], [quote for _, quote in pairs]],
            )
            self._stored = (covered, {(row.base, row.quote): row for row in rows})
        return self._stored


def _rate_from_stored(newest: dict, base: str, quote: str) -> Decimal | None:
    """payments.rates.rate_lookup (at=now) over the newest stored rate of each pair."""
    from payments.rates import _PIVOTS, is_stale

    def direct(a: str, b: str):
        rate, inverse = newest.get((a, b)), newest.get((b, a))
        if rate is not None and (inverse is None or rate.as_of >= inverse.as_of):
            return rate.rate, rate
        if inverse is not None:
            return Decimal(1) / inverse.rate, inverse
        return None

    found = direct(base, quote)
    if found is not None and not is_stale(found[1]):
        return found[0]
    crosses = []
    for pivot in _PIVOTS:
        if pivot in (base, quote):
            continue
        first, second = direct(base, pivot), direct(pivot, quote)
        if first and second:
            crosses.append((first[0] * second[0], is_stale(first[1]) or is_stale(second[1])))
    fresh = next((rate for rate, stale in crosses if not stale), None)
    if fresh is not None:
        return fresh
    if found is not None:
        return found[0]
    return crosses[0][0] if crosses else None


def rate_lookup(from_ccy: str, to_ccy: str) -> Decimal:
    """1 from_ccy = rate to_ccy, from the quotes (direct, inverse, via USD) or payments' rates."""
    if from_ccy == to_ccy:
        return Decimal(1)
    return RateBook.load([from_ccy, to_ccy]).rate(from_ccy, to_ccy)


def convert(amount, from_ccy: str, to_ccy: str, rate: Decimal | None = None) -> Decimal:
    """`amount` of from_ccy in to_ccy at `rate` (1 from_ccy = rate to_ccy; looked up when not given)."""
    amount = _dec(amount)
    if from_ccy == to_ccy:
        return amount
    if rate is None:
        rate = rate_lookup(from_ccy, to_ccy)
    return amount * _dec(rate)
