from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brokerage.money import MINOR_UNITS, CurrencyError, Money, money_text, parse_amount, quantize


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("10.005", "USD", "10.01"),
        ("10.004", "USD", "10.00"),
        ("-10.005", "USD", "-10.01"),
        ("1234.5", "JPY", "1235"),
        ("1.23456", "KWD", "1.235"),
        ("0.123456789", "BTC", "0.12345679"),
    ],
)
def test_quantize_rounds_half_up_to_the_currency_minor_unit(amount, currency, expected):
    assert quantize(Decimal(amount), currency) == Decimal(expected)


def test_bankers_rounding_is_available_where_a_regulator_asks_for_it():
    assert quantize(Decimal("10.005"), "USD", rounding=ROUND_HALF_EVEN) == Decimal("10.00")
    assert quantize(Decimal("10.015"), "USD", rounding=ROUND_HALF_EVEN) == Decimal("10.02")


def test_floats_are_refused_everywhere():
    with pytest.raises(TypeError):
        quantize(10.1, "USD")
    with pytest.raises(TypeError):
        Money(10.1, "USD")
    with pytest.raises(TypeError):
        parse_amount(10.1)
    with pytest.raises(TypeError):
        Money.of("1", "USD") * 1.1


def test_unknown_currency_is_a_clear_error():
    with pytest.raises(CurrencyError, match="Unknown currency 'XYZ'"):
        Money.of("1", "XYZ")


def test_money_of_different_currencies_does_not_mix():
    with pytest.raises(CurrencyError):
        Money.of("1", "USD") + Money.of("1", "EUR")


@pytest.mark.parametrize("text", ["abc", "", "1,000", "NaN", "Infinity"])
def test_parse_amount_rejects_what_is_not_an_amount(text):
    with pytest.raises(ValueError, match="is not an amount"):
        parse_amount(text)


def test_minor_units_round_trip_and_refuse_excess_precision():
    assert Money.of("12.34", "USD").to_minor() == 1234
    assert Money.from_minor(1234, "USD") == Money.of("12.34", "USD")
    assert Money.of("500", "JPY").to_minor() == 500
    with pytest.raises(ValueError, match="more precision"):
        Money.of("12.345", "USD").to_minor()


def test_money_prints_rounded_with_thousands_separator():
    assert str(Money.of("1234567.891", "EUR")) == "1,234,567.89 EUR"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("1000"), "JPY", "1,000 JPY"),
        (Decimal("1234.5"), "JPY", "1,235 JPY"),
        (Decimal("1234567.5"), "USD", "1,234,567.50 USD"),
        (Decimal("-10.005"), "USD", "-10.01 USD"),
        ("250", "USD", "250.00 USD"),
        (None, "EUR", "0.00 EUR"),
        (Decimal("1.23456"), "KWD", "1.235 KWD"),
    ],
)
def test_money_text_shows_the_currencys_minor_unit_grouped_with_the_code_after(amount, currency, expected):
    assert money_text(amount, currency) == expected


@pytest.mark.skipif("BTC" not in MINOR_UNITS, reason="no BTC wallets")
def test_money_text_shows_crypto_to_its_8_places_even_when_zero():
    assert money_text(Decimal("12345.6"), "BTC") == "12,345.60000000 BTC"
    assert money_text(Decimal("0"), "BTC") == "0.00000000 BTC"


def test_money_text_refuses_floats():
    with pytest.raises(TypeError):
        money_text(10.5, "USD")


currencies = st.sampled_from(sorted(MINOR_UNITS))
amounts = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, allow_infinity=False, places=10
)


@given(amount=amounts, currency=currencies)
def test_rounding_is_idempotent_and_never_moves_more_than_half_a_minor_unit(amount, currency):
    once = quantize(amount, currency)
    assert quantize(once, currency) == once
    half_unit = Decimal(1).scaleb(-MINOR_UNITS[currency]) / 2
    assert abs(once - amount) <= half_unit
    assert -once.as_tuple().exponent == MINOR_UNITS[currency]


@given(a=amounts, b=amounts, currency=currencies)
def test_addition_and_subtraction_are_exact(a, b, currency):
    total = Money(a, currency) + Money(b, currency)
    assert (total - Money(b, currency)).amount == a
