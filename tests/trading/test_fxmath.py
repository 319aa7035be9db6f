"""FX math on worked examples (MT5 calculation modes), cross-rate conversion, and its invariants."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from brokerage.money import quantize
from payments.models import ExchangeRate
from trading import fxmath
from trading.defaults import trading_defaults_ensure
from trading.models import Quote, Symbol


def symbol(**fields) -> SimpleNamespace:
    """A symbol's contract terms (defaults: EURUSD), as a plain object: fxmath needs no database."""
    values = {
        "name": "EURUSD",
        "calc_mode": "forex",
        "contract_size": D(100000),
        "digits": 5,
        "tick_size": D("0.00001"),
        "tick_value": D(1),
        "base_currency": "EUR",
        "profit_currency": "USD",
        "margin_currency": "EUR",
        "margin_rate": D(1),
        "initial_margin": D(0),
        "swap_mode": "points",
        "swap_long": D("-6.9"),
        "swap_short": D("1.2"),
        "triple_swap_day": 3,
    }
    values.update(fields)
    return SimpleNamespace(**values)


EURUSD = symbol()
USDJPY = symbol(
    name="USDJPY", digits=3, tick_size=D("0.001"), base_currency="USD", profit_currency="JPY", margin_currency="USD"
)
XAUUSD = symbol(
    name="XAUUSD",
    calc_mode="cfd_leverage",
    contract_size=D(100),
    digits=2,
    tick_size=D("0.01"),
    base_currency="XAU",
    profit_currency="USD",
    margin_currency="USD",
)
DE40 = symbol(
    name="DE40",
    calc_mode="cfd_index",
    contract_size=D(1),
    digits=2,
    tick_size=D("0.5"),
    tick_value=D("0.5"),
    base_currency="EUR",
    profit_currency="EUR",
    margin_currency="EUR",
    margin_rate=D("0.05"),
)
ES = symbol(
    name="ES",
    calc_mode="futures",
    contract_size=D(50),
    digits=2,
    tick_size=D("0.25"),
    tick_value=D("12.5"),
    base_currency="USD",
    profit_currency="USD",
    margin_currency="USD",
    initial_margin=D(12000),
)


# Profit ------------------------------------------------------------------------------------------------


def test_eurusd_one_lot_bought_at_108450_and_sold_at_108650_makes_200_usd():
    assert fxmath.profit(EURUSD, "buy", D(1), D("1.08450"), D("1.08650")) == D(200)
    assert fxmath.profit(EURUSD, "sell", D(1), D("1.08450"), D("1.08650")) == D(-200)


def test_usdjpy_profit_is_in_yen_and_converts_to_a_usd_account_at_the_close_price():
    gained = fxmath.profit(USDJPY, "buy", D(1), D("151.420"), D("151.920"))
    assert gained == D(50000)  # JPY
    in_usd = fxmath.convert(gained, "JPY", "USD", 1 / D("151.920"))
    assert quantize(in_usd, "USD") == D("329.12")


def test_gold_is_a_leveraged_cfd_of_100_ounces():
    assert fxmath.profit(XAUUSD, "buy", D("0.5"), D("2345.60"), D("2355.60")) == D(500)
    assert fxmath.margin(XAUUSD, D(1), D("2345.60"), 100) == D("2345.60")
    assert fxmath.margin(XAUUSD, D(1), D("2345.60"), 20) == D("11728")


def test_an_index_cfd_margin_uses_price_and_tick_value_over_tick_size():
    # 2 lots DE40 at 18420.50, 5 % margin rate: 2 × 1 × 18420.50 × (0.5 / 0.5) × 0.05.
    assert fxmath.margin(DE40, D(2), D("18420.50"), 100) == D("1842.05")
    assert fxmath.profit(DE40, "sell", D(2), D("18420.50"), D("18400.00")) == D(41)
    assert fxmath.notional(DE40, D(2), D("18420.50")) == D("36841")


def test_futures_profit_counts_ticks_and_margin_is_the_initial_margin_per_lot():
    # 5200.00 → 5210.25 is 41 ticks of 12.50 USD, on 2 lots.
    assert fxmath.profit(ES, "buy", D(2), D("5200.00"), D("5210.25")) == D(1025)
    assert fxmath.margin(ES, D(2), D("5200.00"), 100) == D(24000)
    assert fxmath.margin(symbol(**{**vars(ES), "margin_rate": D("0.5")}), D(2), D(1), 1) == D(12000)
    assert fxmath.notional(ES, D(1), D("5200")) == D(260000)


def test_margin_of_one_lot_eurusd_at_1_to_100_is_1000_eur_or_its_usd_value():
    needed = fxmath.margin(EURUSD, D(1), D("1.08450"), 100)
    assert needed == D(1000)
    assert quantize(fxmath.convert(needed, "EUR", "USD", D("1.08450")), "USD") == D("1084.50")


def test_modes_without_leverage_ignore_it():
    no_leverage = symbol(calc_mode="forex_no_leverage")
    cfd = symbol(calc_mode="cfd", contract_size=D(10), margin_rate=D("0.2"))
    assert fxmath.margin(no_leverage, D("0.5"), D("1.1"), 500) == D(50000)
    assert fxmath.margin(cfd, D(3), D("120.50"), 500) == D("723.000")


def test_unknown_side_mode_and_bad_leverage_are_refused():
    with pytest.raises(ValueError, match="'buy' or 'sell'"):
        fxmath.profit(EURUSD, "long", D(1), D(1), D(2))
    with pytest.raises(ValueError, match="unknown calculation mode"):
        fxmath.margin(symbol(calc_mode="options"), D(1), D(1), 100)
    with pytest.raises(ValueError, match="leverage must be positive"):
        fxmath.margin(EURUSD, D(1), D(1), 0)
    with pytest.raises(TypeError, match="not float"):
        fxmath.profit(EURUSD, "buy", 1.0, D(1), D(2))


# Pips, swaps, notional -----------------------------------------------------------------------------------


def test_a_pip_is_ten_points_on_5_and_3_digit_quotes_and_one_point_otherwise():
    assert fxmath.pip_size(EURUSD) == D("0.0001")
    assert fxmath.pip_value(EURUSD, D(1)) == D(10)  # USD
    assert fxmath.pip_value(USDJPY, D("0.1")) == D(100)  # JPY
    assert fxmath.pip_size(XAUUSD) == D("0.01")
    assert fxmath.pip_value(XAUUSD, D(1)) == D(1)
    assert fxmath.pip_value(ES, D(1)) == D("0.5")  # 0.01 of a 0.25 tick worth 12.50


def test_notional_is_volume_times_price_times_contract_in_the_profit_currency():
    assert fxmath.notional(EURUSD, D(2), D("1.08450")) == D(216900)
    assert fxmath.notional(XAUUSD, D("0.1"), D("2345.60")) == D("23456")


def test_swap_in_points_currency_and_interest():
    assert fxmath.swap(EURUSD, "buy", D(1), D("1.08450"), 1) == D("-6.9")
    assert fxmath.swap(EURUSD, "sell", D(2), D("1.08450"), 3) == D("7.2")
    per_lot = symbol(swap_mode="currency", swap_long=D(-5))
    assert fxmath.swap(per_lot, "buy", D(2), D("1.08450"), 1) == D(-10)
    assert fxmath.swap_currency(per_lot) == "EUR" and fxmath.swap_currency(EURUSD) == "USD"
    interest = symbol(swap_mode="interest", swap_long=D(-3))
    # 108450 USD notional at -3 % a year over 360 days, one night.
    assert fxmath.swap(interest, "buy", D(1), D("1.08450"), 1) == D("-9.0375")
    assert fxmath.swap(symbol(swap_mode="disabled"), "buy", D(1), D(1), 3) == 0


def test_nights_charged_triple_on_the_swap_day_and_none_at_weekends():
    wednesday = date(2026, 11, 25)
    assert wednesday.isoweekday() == 3
    assert fxmath.swap_nights(EURUSD, wednesday) == 3
    assert fxmath.swap_nights(EURUSD, date(2026, 11, 26)) == 1
    assert fxmath.swap_nights(EURUSD, date(2026, 11, 28)) == 0  # Saturday
    assert fxmath.swap_nights(symbol(triple_swap_day=5), date(2026, 11, 27)) == 3
    # Held from Monday to the next Monday's rollover: 1 + 1 + 3 + 1 + 1 + 0 + 0 + 1.
    assert fxmath.nights_between(EURUSD, date(2026, 11, 23), date(2026, 11, 30)) == 8


# Conversion through the quotes ---------------------------------------------------------------------------


@pytest.fixture
def quoted(in_alpha):
    """Alpha's standard symbols quoted at fixed prices (bid/ask 2 points apart around the mid)."""
    trading_defaults_ensure()
    mids = {"EURUSD": "1.08450", "GBPUSD": "1.26730", "USDJPY": "151.420", "XAUUSD": "2345.60"}
    Quote.objects.all().delete()
    for name, mid in mids.items():
        point = Symbol.objects.get(name=name).point
        Quote.objects.create(
            symbol=Symbol.objects.get(name=name), bid=D(mid) - point, ask=D(mid) + point, at=timezone.now()
        )
    return mids


def test_rates_come_from_quotes_directly_inverted_or_via_usd(quoted):
    assert fxmath.rate_lookup("EUR", "USD") == D("1.08450")
    assert fxmath.rate_lookup("USD", "GBP") == 1 / D("1.26730")
    assert fxmath.rate_lookup("EUR", "GBP") == D("1.08450") / D("1.26730")
    assert fxmath.rate_lookup("JPY", "GBP") == (1 / D("151.420")) * (1 / D("1.26730"))
    assert fxmath.rate_lookup("XAU", "EUR") == D("2345.60") / D("1.08450")
    assert fxmath.rate_lookup("GBP", "GBP") == 1


def test_a_eurusd_profit_on_a_gbp_account_converts_through_gbpusd(quoted):
    gained = fxmath.profit(EURUSD, "buy", D(1), D("1.08450"), D("1.08650"))
    assert quantize(fxmath.convert(gained, "USD", "GBP"), "GBP") == D("157.82")
    margin_gbp = fxmath.convert(fxmath.margin(EURUSD, D(1), D("1.08450"), 100), "EUR", "GBP")
    assert quantize(margin_gbp, "GBP") == D("855.76")


def test_a_pair_without_a_quote_falls_back_to_payments_rates(quoted):
    ExchangeRate.objects.create(base="USD", quote="SEK", rate=D("10.5"), source="manual", as_of=timezone.now())
    assert fxmath.rate_lookup("SEK", "USD") == 1 / D("10.5")
    # A quote beats a stored exchange rate of the same pair.
    ExchangeRate.objects.create(base="EUR", quote="USD", rate=D("1.2"), source="manual", as_of=timezone.now())
    assert fxmath.rate_lookup("EUR", "USD") == D("1.08450")


def test_a_missing_rate_is_a_clear_error(quoted):
    ExchangeRate.objects.filter(base__in=["NOK", "ZAR"]).delete()
    ExchangeRate.objects.filter(quote__in=["NOK", "ZAR"]).delete()
    with pytest.raises(fxmath.RateMissing, match="No rate to convert NOK to ZAR") as refused:
        fxmath.convert(D(10), "NOK", "ZAR")
    assert refused.value.code == "rate_unavailable"


def test_a_rate_book_reads_the_quotes_once(quoted):
    with CaptureQueriesContext(connection) as queries:
        book = fxmath.RateBook.load()
        assert book.rate("EUR", "GBP") == D("1.08450") / D("1.26730")
        assert book.rate("JPY", "USD") == 1 / D("151.420")
        assert book.rate("XAU", "GBP") == D("2345.60") / D("1.26730")
    selects = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]
    assert len(selects) == 1


# Invariants -------------------------------------------------------------------------------------------

MODES = [EURUSD, USDJPY, XAUUSD, DE40, ES, symbol(calc_mode="cfd"), symbol(calc_mode="forex_no_leverage")]
prices = st.decimals(min_value=D("0.0001"), max_value=D("100000"), places=4, allow_nan=False, allow_infinity=False)
volumes = st.decimals(min_value=D("0.01"), max_value=D("100"), places=2, allow_nan=False, allow_infinity=False)
leverages = st.integers(min_value=1, max_value=3000)
CLOSE = D("1e-16")


def _near(left: D, right: D) -> bool:
    return abs(left - right) <= CLOSE * max(abs(left), abs(right), 1)


@given(st.sampled_from(MODES), volumes, prices, prices)
def test_buy_and_sell_profits_are_negatives_of_each_other(instrument, volume, opened, closed):
    bought = fxmath.profit(instrument, "buy", volume, opened, closed)
    sold = fxmath.profit(instrument, "sell", volume, opened, closed)
    assert bought == -sold
    assert (bought > 0) == (closed > opened)


@given(st.sampled_from(MODES), volumes, st.integers(min_value=2, max_value=50), prices, leverages)
def test_margin_scales_linearly_with_volume(instrument, volume, factor, price, leverage):
    single = fxmath.margin(instrument, volume, price, leverage)
    assert _near(fxmath.margin(instrument, volume * factor, price, leverage), single * factor)
    assert single > 0


@given(st.sampled_from(MODES), volumes, prices, leverages, leverages)
def test_margin_is_inverse_to_leverage_only_in_leveraged_modes(instrument, volume, price, first, second):
    at_first = fxmath.margin(instrument, volume, price, first)
    at_second = fxmath.margin(instrument, volume, price, second)
    if instrument.calc_mode in fxmath.LEVERAGED_MODES:
        assert _near(at_first * first, at_second * second)
    else:
        assert at_first == at_second


@given(st.sampled_from(MODES), volumes, prices)
def test_one_pip_move_is_worth_the_pip_value(instrument, volume, opened):
    moved = fxmath.profit(instrument, "buy", volume, opened, opened + fxmath.pip_size(instrument))
    assert moved == fxmath.pip_value(instrument, volume)


def test_a_rate_book_without_quotes_reads_payments_rates_once_and_answers_as_rate_mid(in_alpha):
    """A tenant with no quotes: every pair comes from payments' exchange rates, read in one query, with
    rate_mid's answer (direct, inverse when newer, a cross via EUR or USD when the pair is stale)."""
    from datetime import timedelta

    from payments.rates import rate_mid

    Quote.objects.all().delete()
    ExchangeRate.objects.all().delete()
    now = timezone.now()
    rates = [
        ("EUR", "USD", "1.08", "ecb", now),
        ("EUR", "GBP", "0.85", "ecb", now),
        ("EUR", "JPY", "160.5", "ecb", now),
        ("USD", "JPY", "149", "ecb", now - timedelta(days=1)),  # older than the inverse below
        ("JPY", "USD", "0.0068", "manual", now),
        ("GBP", "CHF", "1.1", "manual", now - timedelta(days=3)),  # stale: crossed via EUR instead
        ("EUR", "CHF", "0.95", "ecb", now),
    ]
    for base, quote, rate, source, as_of in rates:
        ExchangeRate.objects.create(base=base, quote=quote, rate=D(rate), source=source, as_of=as_of)
    currencies = ["USD", "GBP", "JPY", "CHF", "SEK"]
    pairs = [(a, b) for a in currencies for b in currencies if a != b and "SEK" not in (a, b)]
    expected = {pair: rate_mid(*pair)[0] for pair in pairs}
    with CaptureQueriesContext(connection) as queries:
        book = fxmath.RateBook.load(currencies)
        got = {pair: book.rate(*pair) for pair in pairs}
        with pytest.raises(fxmath.RateMissing):
            book.rate("SEK", "USD")
    assert got == expected
    selects = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]
    assert len(selects) == 2  # the quotes, then the exchange rates
