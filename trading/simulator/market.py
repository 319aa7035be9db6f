"""What the simulator's accounts are worth at the current quotes: a market snapshot and account figures.

Margin and floating profit come from trading.fxmath, converted to the account currency at the cross rates
of the same snapshot, so one valuation reads the quotes once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from brokerage.money import quantize
from trading import fxmath
from trading.connectors.base import AccountState
from trading.models import Quote, SimAccount, SimPosition, Symbol

BUY, SELL = "buy", "sell"
PERCENT = Decimal("0.01")


@dataclass
class Market:
    """Every symbol's last quote and the cross rates between them, read in one query."""

    quotes: dict[str, Quote]
    rates: fxmath.RateBook

    @classmethod
    def load(cls) -> Market:
        quotes = {quote.symbol.name: quote for quote in Quote.objects.select_related("symbol")}
        mids = {}
        for quote in sorted(quotes.values(), key=lambda q: q.at):
            base, profit_ccy = quote.symbol.base_currency, quote.symbol.profit_currency
            if base != profit_ccy and quote.bid > 0:
                mids[(base, profit_ccy)] = (quote.bid + quote.ask) / 2
        return cls(quotes, fxmath.RateBook(mids))

    def quote(self, symbol_name: str) -> Quote | None:
        return self.quotes.get(symbol_name)

    def to_account(self, amount: Decimal, currency: str, account_currency: str) -> Decimal:
        """An amount in the account currency, rounded to its minor unit."""
        return quantize(
            fxmath.convert(amount, currency, account_currency, self.rates.rate(currency, account_currency)),
            account_currency,
        )


def open_price_side(side: str, quote: Quote) -> Decimal:
    """Orders fill at the feed: a buy at the ask, a sell at the bid."""
    return quote.ask if side == BUY else quote.bid


def close_price_side(side: str, quote: Quote) -> Decimal:
    """A position closes on the other side: a buy sells at the bid, a sell buys back at the ask."""
    return quote.bid if side == BUY else quote.ask


# Figures --------------------------------------------------------------------------------------------


@dataclass
class Figures:
    """An account's money at current quotes, in its currency."""

    currency: str
    balance: Decimal
    credit: Decimal
    profit: Decimal
    swap: Decimal
    margin: Decimal
    profits: dict[int, Decimal] = field(default_factory=dict)
    prices: dict[int, Decimal] = field(default_factory=dict)

    @property
    def equity(self) -> Decimal:
        return quantize(self.balance + self.credit + self.profit + self.swap, self.currency)

    @property
    def margin_free(self) -> Decimal:
        return self.equity - self.margin

    @property
    def margin_level(self) -> Decimal | None:
        if self.margin <= 0:
            return None
        return (self.equity / self.margin * 100).quantize(PERCENT)


def account_figures(account: SimAccount, positions: Iterable[SimPosition], market: Market) -> Figures:
    """Balance, floating profit, swaps and used margin of an account at the market's quotes.

    Every position's margin counts in full (no hedged-margin reduction). A position whose symbol has
    no quote is valued at its open price.
    """
    figures = Figures(account.currency, account.balance, account.credit, Decimal(0), Decimal(0), Decimal(0))
    symbols = _symbols({position.symbol for position in positions}, market)
    for position in positions:
        symbol, quote = symbols.get(position.symbol), market.quote(position.symbol)
        figures.swap += position.swap
        if symbol is None or quote is None:
            figures.profits[position.pk] = Decimal(0)
            figures.prices[position.pk] = position.open_price
            continue
        price = close_price_side(position.side, quote)
        gained = fxmath.profit(symbol, position.side, position.volume, position.open_price, price)
        gained = market.to_account(gained, symbol.profit_currency, account.currency)
        needed = fxmath.margin(symbol, position.volume, open_price_side(position.side, quote), account.leverage)
        figures.margin += market.to_account(needed, symbol.margin_currency, account.currency)
        figures.profit += gained
        figures.profits[position.pk] = gained
        figures.prices[position.pk] = price
    return figures


def _symbols(names: set[str], market: Market) -> dict[str, Symbol]:
    found = {name: market.quotes[name].symbol for name in names if name in market.quotes}
    missing = names - set(found)
    if missing:
        found.update({symbol.name: symbol for symbol in Symbol.objects.filter(name__in=missing)})
    return found


def state_of(account: SimAccount, figures: Figures) -> AccountState:
    return AccountState(
        login=account.login,
        balance=quantize(account.balance, account.currency),
        credit=quantize(account.credit, account.currency),
        equity=figures.equity,
        margin=figures.margin,
        margin_free=figures.margin_free,
        margin_level=figures.margin_level,
        leverage=account.leverage,
        group=account.group,
        enabled=account.enabled,
    )
