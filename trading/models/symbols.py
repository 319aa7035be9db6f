"""Instruments with the contract terms the FX math needs, their platform aliases, and last quotes."""

from django.db import models

from brokerage.money import CURRENCY_CHOICES

PRICE = {"max_digits": 24, "decimal_places": 10}


class Symbol(models.Model):
    """One instrument of the tenant; platform-specific names ("EURUSD.pro") are aliases of it."""

    class CalcMode(models.TextChoices):
        # MQL5 ENUM_SYMBOL_CALC_MODE: how margin and profit are computed.
        FOREX = "forex", "Forex"
        FOREX_NO_LEVERAGE = "forex_no_leverage", "Forex no leverage"
        CFD = "cfd", "CFD"
        CFD_INDEX = "cfd_index", "CFD index"
        CFD_LEVERAGE = "cfd_leverage", "CFD leverage"
        FUTURES = "futures", "Futures"

    class SwapMode(models.TextChoices):
        POINTS = "points", "In points"
        CURRENCY = "currency", "In margin currency per lot"
        INTEREST = "interest", "Annual interest, % of notional"
        DISABLED = "disabled", "No swaps"

    name = models.CharField(max_length=40, unique=True)
    description = models.CharField(max_length=200, blank=True)
    calc_mode = models.CharField(max_length=20, choices=CalcMode.choices, default=CalcMode.FOREX)
    contract_size = models.DecimalField(max_digits=20, decimal_places=4, default=100000)
    digits = models.PositiveSmallIntegerField(default=5)
    tick_size = models.DecimalField(**PRICE, default="0.00001")
    # Value of one tick for one lot, in the profit currency (used by CFD index and futures).
    tick_value = models.DecimalField(**PRICE, default="1")
    base_currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    profit_currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    margin_currency = models.CharField(max_length=8, choices=CURRENCY_CHOICES)
    # Multiplier on the computed margin (MT5 "initial margin rate"), 1 = as the formula says.
    margin_rate = models.DecimalField(max_digits=10, decimal_places=4, default=1)
    # Futures: fixed initial margin per lot, in the margin currency.
    initial_margin = models.DecimalField(max_digits=20, decimal_places=4, default=0)
    swap_mode = models.CharField(max_length=10, choices=SwapMode.choices, default=SwapMode.POINTS)
    swap_long = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    swap_short = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    # ISO weekday (1 = Monday) on which three days of swap are charged; Wednesday for most FX.
    triple_swap_day = models.PositiveSmallIntegerField(default=3)
    # The simulator's feed starts here and keeps the spread at `spread_points` × tick size.
    start_price = models.DecimalField(**PRICE, null=True, blank=True)
    spread_points = models.PositiveIntegerField(default=10)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def point(self):
        """The smallest price step by digits (MT5 "point"): 0.00001 for a 5-digit quote."""
        from decimal import Decimal

        return Decimal(1).scaleb(-self.digits)


class SymbolAlias(models.Model):
    """Another name a platform uses for the same instrument: "XAUUSD.m", "EURUSD.pro"."""

    alias = models.CharField(max_length=40, unique=True)
    symbol = models.ForeignKey(Symbol, on_delete=models.CASCADE, related_name="aliases")

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "symbol aliases"

    def __str__(self) -> str:
        return f"{self.alias} → {self.symbol}"


class Quote(models.Model):
    """The last bid/ask of a symbol as a platform (or the simulator's feed) reported it."""

    symbol = models.OneToOneField(Symbol, on_delete=models.CASCADE, related_name="quote")
    bid = models.DecimalField(**PRICE)
    ask = models.DecimalField(**PRICE)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.symbol} {self.bid}/{self.ask}"
