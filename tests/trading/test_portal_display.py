"""How the trading pages and the CSV write lots, prices and amounts: exact, never rounded away."""

from __future__ import annotations

from decimal import Decimal as D
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from trading.display import lots, plain, price
from trading.models import Deal

amounts = st.decimals(min_value=D("-1e12"), max_value=D("1e12"), places=8, allow_nan=False, allow_infinity=False)


@given(amounts, st.integers(min_value=0, max_value=8))
def test_plain_keeps_the_exact_value_with_at_least_the_places_asked(value, places):
    shown = plain(value, places)
    assert D(shown) == value
    assert "," not in shown and "E" not in shown
    decimals = shown.partition(".")[2]
    assert len(decimals) >= places


def test_lots_and_amounts_read_as_on_a_trading_platform():
    assert [lots(D(v)) for v in ("1", "0.1", "0.0100", "0.005", "12.5000")] == [
        "1.00",
        "0.10",
        "0.01",
        "0.005",
        "12.50",
    ]
    assert plain(D("50.00000000"), 2) == "50.00"
    assert plain(D("1000"), 0) == "1000"
    assert plain(D("-0.12345"), 2) == "-0.12345"


def test_prices_take_the_instruments_digits():
    assert price(D("1.0850000000"), SimpleNamespace(digits=5)) == "1.08500"
    assert price(D("151.42"), SimpleNamespace(digits=3)) == "151.420"
    assert price(D("2345.6"), None) == "2345.60"  # unknown instrument: as reported, two places at least


def deal(action, comment, profit):
    return Deal(action=action, comment=comment, profit=D(profit))


def test_our_wallet_transfers_read_by_their_direction_whatever_the_platform_kept_of_the_comment():
    # MT5 keeps 32 characters: after our 19-character operation id the rest may be cut.
    assert deal("balance", "bo-0123456789abcdef Wallet trans", "250").description == "Transfer from wallet"
    assert deal("balance", "bo-0123456789abcdef to wallet", "-80.5").description == "Transfer to wallet"
    assert deal("balance", "bo-0123456789abcdef", "1").description == "Transfer from wallet"
    assert deal("balance", "Demo funds", "10000").description == "Demo funds"
    assert deal("buy", "bo-looks-like-ours", "5").description == "bo-looks-like-ours"  # only balance deals
    assert deal("credit", "Bonus", "50").description == "Bonus"
