"""POST /trading/push/<platform>/: signed events from a platform bridge, applied once, refused clearly."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from django.test import Client

from payments import ledger
from payments.adapters.signatures import stripe_signature
from tests.conftest import TENANTS
from tests.tenants.web import tenant_web_client
from tests.trading.test_sync_support import account_funded, trading_funds
from trading.models import Deal, Platform, Position, SyncProblem, TradingAccount

SECRET = "push-secret-for-tests"  # noqa: S105 - a test fixture value


@pytest.fixture
def platform(memory_platform):
    platform = Platform.objects.get(code="sim-live")
    platform.push_secret = SECRET
    platform.save(update_fields=["push_secret"])
    return platform


@pytest.fixture
def account(platform, carl):
    return account_funded(carl.client, carl, "200")


@pytest.fixture
def http(alpha):
    return tenant_web_client(alpha)


def deal_event(ticket: int, login: str, **fields) -> dict:
    return {
        "type": "deal",
        "ticket": ticket,
        "login": login,
        "time": "2025-03-03T12:00:00+00:00",
        "symbol": "EURUSD",
        "action": "sell",
        "entry": "out",
        "volume": "1.00",
        "price": "1.08512",
        "profit": "50.00",
        "commission": "-3.50",
    } | fields


def push(http, events, *, secret=SECRET, timestamp=None, code="sim-live", body=None, signature=None):
    raw = body if body is not None else json.dumps({"events": events}).encode()
    header = signature if signature is not None else stripe_signature(secret, raw, timestamp=timestamp)
    return http.post(
        f"/trading/push/{code}/", data=raw, content_type="application/json", headers={"X-Signature": header}
    )


def test_a_signed_deal_is_stored_and_booked_once_even_when_pushed_again(http, account, carl):
    events = [deal_event(81234, account.login)]
    first = push(http, events)
    assert first.status_code == 200
    assert first.json() == {"deals": {"inserted": 1, "duplicates": 0}, "positions": 0, "accounts": 0, "problems": 0}
    again = push(http, events)
    assert again.json()["deals"] == {"inserted": 0, "duplicates": 1}
    row = Deal.objects.get()
    assert (row.ticket, row.profit, row.booking) == (81234, Decimal("50.00"), Deal.Booking.BOOKED)
    assert trading_funds(carl.client) == Decimal("246.50")
    assert ledger.ledger_problems() == []


def test_json_numbers_are_read_as_exact_decimals(http, account):
    event = '{"type": "deal", "ticket": 5, "time": 1741003200, "symbol": "GOLD", "action": "buy", "entry": "in"'
    body = (event + f', "login": "{account.login}", "volume": 0.1, "price": 2345.61, "profit": 0}}').encode()
    body = b'{"events": [' + body + b"]}"
    assert push(http, None, body=body).status_code == 200
    row = Deal.objects.get()
    assert (row.volume, row.price, row.symbol.name) == (Decimal("0.1"), Decimal("2345.61"), "XAUUSD")
    assert row.time.timestamp() == 1741003200


def test_positions_and_account_state_are_replaced_by_the_push(http, account):
    position = {
        "ticket": 6001,
        "symbol": "EURUSD",
        "side": "buy",
        "volume": "1.00",
        "open_price": "1.085",
        "current_price": "1.086",
        "profit": "100.00",
        "swap": "-0.70",
        "opened_at": "2025-03-03T11:00:00+00:00",
    }
    state = {
        "type": "account",
        "login": account.login,
        "balance": "246.50",
        "credit": "0",
        "equity": "346.50",
        "margin": "216.95",
        "margin_free": "129.55",
        "margin_level": "159.71",
    }
    answer = push(http, [{"type": "positions", "login": account.login, "positions": [position]}, state])
    assert answer.json()["positions"] == 1 and answer.json()["accounts"] == 1
    assert Position.objects.get().swap == Decimal("-0.70")
    account.refresh_from_db()
    assert (account.equity, account.margin_level) == (Decimal("346.50"), Decimal("159.71"))
    push(http, [{"type": "positions", "login": account.login, "positions": []}])
    assert not Position.objects.exists()


def test_malformed_events_become_problems_and_the_good_ones_still_go_in(http, account):
    answer = push(
        http,
        [
            deal_event(1, account.login),
            deal_event(2, account.login, profit="lots"),
            {"type": "trade"},
            "not an object",
            {"type": "account", "login": account.login, "balance": None},
        ],
    )
    assert answer.status_code == 200
    assert answer.json()["deals"]["inserted"] == 1 and answer.json()["problems"] == 4
    messages = " ".join(SyncProblem.objects.values_list("message", flat=True))
    assert "profit must be a Decimal, got str" in messages
    assert "expected type deal" in messages and "balance must be a decimal number" in messages


def test_a_bad_signature_is_refused_before_the_body_is_read(http, account):
    answer = push(http, [deal_event(1, account.login)], secret="wrong")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "bad_signature"
    assert not Deal.objects.exists()
    garbage = push(http, None, body=b"{not json", secret="wrong")
    assert garbage.status_code == 401  # not 400: nothing unsigned is parsed


@pytest.mark.parametrize("age", [301, -301])
def test_a_stale_or_future_timestamp_is_refused(http, account, age):
    answer = push(http, [deal_event(1, account.login)], timestamp=int(time.time()) - age)
    assert answer.status_code == 401 and "300 s" in answer.json()["error"]["message"]
    assert not Deal.objects.exists()


@pytest.mark.parametrize("header", ["", "v1=abc", "t=123", "garbage"])
def test_a_missing_or_broken_signature_header_is_refused(http, account, header):
    assert push(http, [deal_event(1, account.login)], signature=header).status_code == 401


def test_unknown_inactive_or_unconfigured_platforms_answer_exactly_like_a_bad_signature(http, platform):
    """Nobody without the secret can tell which platform codes exist."""
    bad_signature = push(http, [], secret="wrong")
    assert bad_signature.status_code == 401
    inactive = Platform.objects.create(
        code="old-mt5", name="Old MT5", kind=platform.kind, is_active=False, push_secret=SECRET
    )
    for answer in (
        push(http, [], code="nowhere"),  # unknown
        push(http, [], code="sim-demo"),  # no push secret set on it
        push(http, [], code=inactive.code),  # switched off, even with its secret
        push(http, [], code="nowhere", signature=""),
    ):
        assert answer.status_code == 401
        assert answer.json() == bad_signature.json()


def test_a_body_too_large_is_refused_the_same_for_any_platform_code(http, platform, monkeypatch):
    monkeypatch.setattr("trading.sync.push.MAX_BODY", 100)
    body = json.dumps({"events": [], "padding": "x" * 200}).encode()
    for code in ("sim-live", "nowhere"):
        answer = push(http, None, body=body, code=code)
        assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"


def state_event(login: str, **fields) -> dict:
    return {
        "type": "account",
        "login": login,
        "balance": "246.50",
        "credit": "0",
        "equity": "346.50",
        "margin": "216.95",
        "margin_free": "129.55",
        "margin_level": "159.71",
    } | fields


@pytest.mark.parametrize(
    ("field", "value"), [("balance", "1e30"), ("margin_level", "1e20"), ("equity", 10**25), ("margin", "-1E+22")]
)
def test_an_account_number_too_large_for_its_column_skips_that_event_only(http, account, field, value):
    answer = push(
        http,
        [deal_event(81234, account.login), state_event(account.login, **{field: value})],
    )
    assert answer.status_code == 200
    assert answer.json() == {"deals": {"inserted": 1, "duplicates": 0}, "positions": 0, "accounts": 0, "problems": 1}
    assert Deal.objects.get().ticket == 81234  # the body's deals are kept
    problem = SyncProblem.objects.get(kind=SyncProblem.Kind.MALFORMED)
    assert field in problem.message and "too large" in problem.message
    account.refresh_from_db()
    assert account.equity != Decimal("346.50")  # the bad state was not stored
    # The same body is not re-sent forever: a second push is a plain duplicate.
    again = push(http, [deal_event(81234, account.login), state_event(account.login, **{field: value})])
    assert again.status_code == 200 and again.json()["deals"] == {"inserted": 0, "duplicates": 1}


def test_a_replayed_older_body_never_puts_an_older_account_state_back(http, account):
    now = int(time.time())
    TradingAccount.objects.filter(pk=account.pk).update(state_at=None)  # no state read since it was opened
    older = json.dumps({"events": [state_event(account.login, equity="300.00")]}).encode()
    older_signature = stripe_signature(SECRET, older, timestamp=now - 60)
    assert push(http, None, body=older, signature=older_signature).json()["accounts"] == 1
    newer = push(http, [state_event(account.login, equity="400.00")], timestamp=now)
    assert newer.json()["accounts"] == 1
    account.refresh_from_db()
    assert account.equity == Decimal("400.00") and int(account.state_at.timestamp()) == now

    replay = push(http, None, body=older, signature=older_signature)  # still inside the 300 s window
    assert replay.status_code == 200 and replay.json()["accounts"] == 0
    account.refresh_from_db()
    assert account.equity == Decimal("400.00") and int(account.state_at.timestamp()) == now
    # A state signed in the same second as the current one is taken (the later arrival wins).
    same_second = push(http, [state_event(account.login, equity="410.00")], timestamp=now)
    assert same_second.json()["accounts"] == 1
    account.refresh_from_db()
    assert account.equity == Decimal("410.00")


@pytest.mark.parametrize(
    ("body", "code"), [(b"{not json", "bad_json"), (b"[1, 2]", "bad_shape"), (b'{"events": {}}', "bad_shape")]
)
def test_a_signed_but_unreadable_body_is_a_clear_400(http, platform, body, code):
    answer = push(http, None, body=body)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == code


def test_only_post_is_accepted_and_no_csrf_token_is_needed(platform, alpha):
    strict = Client(HTTP_HOST=TENANTS[alpha.slug], enforce_csrf_checks=True)
    assert strict.get("/trading/push/sim-live/").status_code == 405
    raw = json.dumps({"events": []}).encode()
    answer = strict.post(
        "/trading/push/sim-live/",
        data=raw,
        content_type="application/json",
        headers={"X-Signature": stripe_signature(SECRET, raw)},
    )
    assert answer.status_code == 200
