"""What every tenant starts with: the built-in simulator (live and demo) and a standard symbol list.

Idempotent; runs after each tenant migrate. Existing rows are never overwritten, so a tenant's own
changes (another MT5 server, edited swaps) survive upgrades.
"""

from __future__ import annotations

from decimal import Decimal as D

from django.conf import settings

from trading.models import Platform, Symbol, SymbolAlias, TradingPolicy

FX, CFD, INDEX, CFD_LEV, FUT = (
    Symbol.CalcMode.FOREX,
    Symbol.CalcMode.CFD,
    Symbol.CalcMode.CFD_INDEX,
    Symbol.CalcMode.CFD_LEVERAGE,
    Symbol.CalcMode.FUTURES,
)

# name, description, mode, contract size, digits, base, profit, margin, start price, spread points,
# swap long, swap short (points), aliases.
SYMBOLS = [
    ("EURUSD", "Euro vs US dollar", FX, 100000, 5, "EUR", "USD", "EUR", "1.08450", 8, "-6.9", "1.2", ["EURUSD.pro", "EURUSD.m"]),
    ("GBPUSD", "Pound sterling vs US dollar", FX, 100000, 5, "GBP", "USD", "GBP", "1.26730", 12, "-4.1", "-1.3", ["GBPUSD.pro", "GBPUSD.m"]),
    ("USDJPY", "US dollar vs Japanese yen", FX, 100000, 3, "USD", "JPY", "USD", "151.420", 10, "14.8", "-27.5", ["USDJPY.pro", "USDJPY.m"]),
    ("USDCHF", "US dollar vs Swiss franc", FX, 100000, 5, "USD", "CHF", "USD", "0.88210", 14, "7.2", "-15.4", ["USDCHF.pro"]),
    ("AUDUSD", "Australian dollar vs US dollar", FX, 100000, 5, "AUD", "USD", "AUD", "0.65480", 10, "-2.6", "-1.9", ["AUDUSD.pro"]),
    ("EURGBP", "Euro vs pound sterling", FX, 100000, 5, "EUR", "GBP", "EUR", "0.85620", 12, "-6.0", "1.1", ["EURGBP.pro"]),
    ("XAUUSD", "Gold vs US dollar", CFD_LEV, 100, 2, "XAU", "USD", "USD", "2345.60", 30, "-38.5", "12.7", ["GOLD", "XAUUSD.m", "XAUUSD.pro"]),
    ("US500", "US 500 index cash CFD", INDEX, 1, 2, "USD", "USD", "USD", "5212.40", 50, "-12.0", "-3.0", ["SPX500", "US500.cash"]),
    ("DE40", "Germany 40 index cash CFD", INDEX, 1, 2, "EUR", "EUR", "EUR", "18420.50", 120, "-9.0", "-2.0", ["GER40", "DE40.cash"]),
    ("BTCUSD", "Bitcoin vs US dollar CFD", CFD_LEV, 1, 2, "BTC", "USD", "USD", "67250.00", 3000, "-20.0", "-20.0", ["BTCUSD.m"]),
]  # fmt: skip


def symbols_ensure() -> None:
    for (
        name,
        description,
        mode,
        size,
        digits,
        base,
        profit_ccy,
        margin_ccy,
        price,
        spread,
        long,
        short,
        aliases,
    ) in SYMBOLS:
        tick = D(1).scaleb(-digits)
        symbol, _ = Symbol.objects.get_or_create(
            name=name,
            defaults={
                "description": description,
                "calc_mode": mode,
                "contract_size": D(size),
                "digits": digits,
                "tick_size": tick,
                # One lot moves tick × contract size in the profit currency per tick.
                "tick_value": tick * D(size),
                "base_currency": base,
                "profit_currency": profit_ccy,
                "margin_currency": margin_ccy,
                "swap_long": D(long),
                "swap_short": D(short),
                "start_price": D(price),
                "spread_points": spread,
                # Index CFDs take no leverage in their formula (MQL5 CFDINDEX): the margin rate sets it,
                # 5 % = 1:20 as ESMA allows for major indices.
                "margin_rate": D("0.05") if mode == INDEX else D(1),
            },
        )
        for alias in aliases:
            SymbolAlias.objects.get_or_create(alias=alias, defaults={"symbol": symbol})


def platforms_ensure() -> None:
    Platform.objects.get_or_create(
        code="sim-live",
        defaults={
            # Off where the live simulator is not allowed: the tenant connects its real server instead.
            "is_active": settings.TRADING_LIVE_SIMULATOR,
            "name": "Simulator (live)",
            "kind": Platform.Kind.SIMULATOR,
            "environment": Platform.Environment.LIVE,
            "default_group": "sim\\live\\standard",
            "login_range_start": 500000,
        },
    )
    Platform.objects.get_or_create(
        code="sim-demo",
        defaults={
            "name": "Simulator (demo)",
            "kind": Platform.Kind.SIMULATOR,
            "environment": Platform.Environment.DEMO,
            "default_group": "sim\\demo\\standard",
            "login_range_start": 900000,
        },
    )


def trading_defaults_ensure() -> None:
    TradingPolicy.current()
    symbols_ensure()
    platforms_ensure()
