"""Real-time events a trading server's bridge pushes to POST /trading/push/<platform code>/.

Authentication: the signature is the only credential (no session, no CSRF token).
    X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(Platform.push_secret, f"{t}.{raw body}")>
Several v1 values may be sent while a secret is rotated; any may match. `t` must be within 300 s of
our clock. The signature is checked over the raw bytes before the body is parsed.

Body (UTF-8 JSON, at most 5 MB): {"events": [event, ...]}, applied in this order: deals, positions,
accounts. Decimals are JSON strings ("1.08512") or JSON numbers (read as exact decimals, never floats).
Times are ISO 8601 with a UTC offset ("2025-03-03T12:00:00.123+00:00") or unix seconds.

    {"type": "deal", "ticket": 81234, "login": "500000", "time": "...", "symbol": "EURUSD",
     "action": "buy|sell|balance|credit|charge|correction|bonus", "entry": "in|out|inout|out_by",
     "volume": "1.00", "price": "1.08512", "profit": "50.00", "commission": "-3.50", "swap": "0",
     "fee": "0", "comment": "", "order": 7001, "position_id": 6001}
        commission, swap, fee, comment, order, position_id are optional.
    {"type": "positions", "login": "500000", "positions": [{"ticket": 6001, "symbol": "EURUSD",
     "side": "buy|sell", "volume": "1.00", "open_price": "1.085", "current_price": "1.086",
     "profit": "100.00", "swap": "-0.70", "opened_at": "..."}]}
        The full list of the login's open positions: any we hold that is not in it is closed.
    {"type": "account", "login": "500000", "balance": "1000.00", "credit": "0", "equity": "1100.00",
     "margin": "200.00", "margin_free": "900.00", "margin_level": "550.00" or null}

Idempotent: deals are keyed by ticket, so a re-sent body (or an event the pull already took) adds
nothing and books nothing twice; positions are replaced by the newest report. An account state is
as of the body's signed time `t` (stored as TradingAccount.state_at, never later than our clock): an
account event signed before the account's current state_at is ignored, so a body replayed inside the
300 s window never puts an older state back (bodies signed in the same second count as equally new).

Account numbers are checked against their columns (balance, credit, equity, margin, margin_free: less
than 10^22; margin_level: less than 10^12, or null): an account event with a number out of range is
skipped and reported (SyncProblem "malformed") and the rest of the body is applied; each state is
stored in its own savepoint, so nothing one event does can undo the body's deals.

Answers: 200 {"deals": {"inserted", "duplicates"}, "positions": <logins replaced>, "accounts":
<states stored>, "problems": <events reported as SyncProblems>}; a malformed event does not fail the
others (it becomes a SyncProblem). 400 bad JSON or shape, 401 bad or stale signature, and the same 401
with the same message for an unknown or inactive platform or one without a push secret (so platform
codes cannot be probed without a valid signature), 405 not POST, 413 body too large (checked before
anything else).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.db import DatabaseError, transaction
from django.utils import timezone

from payments.adapters.base import SignatureError
from payments.adapters.signatures import stripe_verify, timestamp_check
from trading.connectors.base import AccountState, DealData, PositionData
from trading.models import Platform, SyncProblem, TradingAccount
from trading.services import account_state_store
from trading.sync.ingest import deals_ingest, decimal_check, positions_store
from trading.sync.problems import problems_raise

TOLERANCE = 300
MAX_BODY = 5 * 1024 * 1024
Kind = SyncProblem.Kind
_DEAL_DECIMALS = ("volume", "price", "profit", "commission", "swap", "fee")
_POSITION_DECIMALS = ("volume", "open_price", "current_price", "profit", "swap")
_STATE_DECIMALS = ("balance", "credit", "equity", "margin", "margin_free")
# One answer for every signature failure and for platforms that take no push: nothing tells them apart.
_UNSIGNED = "The X-Signature header does not authenticate this body for this platform."
# Any secret, so that an unknown platform costs the same HMAC as a known one.
_NO_SECRET = "no-platform-has-this-secret"  # noqa: S105 - not a credential


@dataclass(frozen=True)
class PushAnswer:
    status: int
    body: dict


def _error(status: int, code: str, message: str) -> PushAnswer:
    return PushAnswer(status, {"error": {"code": code, "message": message, "fields": {}}})


def _decimal(value):
    """Strings and JSON numbers become Decimal; anything else is left for the checks to name."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return value
    return value


def _time(value):
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, ValueError, OSError):
            return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _deal(event: dict) -> DealData:
    """A DealData of whatever came: deals_ingest checks it and reports what is wrong."""
    fields = {
        name: _decimal(event.get(name, "0" if name in ("commission", "swap", "fee") else None))
        for name in _DEAL_DECIMALS
    }
    return DealData(
        ticket=event.get("ticket"),
        login=str(event["login"]) if isinstance(event.get("login"), (str, int)) else event.get("login"),
        time=_time(event.get("time")),
        symbol=event.get("symbol") or "",
        action=event.get("action"),
        entry=event.get("entry", "in"),
        comment=event.get("comment") or "",
        order=event.get("order"),
        position_id=event.get("position_id"),
        **fields,
    )


def _position(login: str, item) -> PositionData:
    item = item if isinstance(item, dict) else {}
    return PositionData(
        ticket=item.get("ticket"),
        login=login,
        symbol=item.get("symbol"),
        side=item.get("side"),
        opened_at=_time(item.get("opened_at")),
        **{name: _decimal(item.get(name, "0" if name == "swap" else None)) for name in _POSITION_DECIMALS},
    )


def _state(event: dict) -> AccountState:
    """The event's state with every number checked against its column; ValueError says what is wrong."""
    values = {}
    for name in _STATE_DECIMALS:
        value = _decimal(event.get(name, "0" if name == "credit" else None))
        if not isinstance(value, Decimal):
            raise ValueError(f"{name} must be a decimal number")
        values[name] = decimal_check(value, name)  # Malformed is a ValueError
    level = event.get("margin_level")
    if level is not None:
        level = _decimal(level)
        if not isinstance(level, Decimal):
            raise ValueError("margin_level must be a decimal number or null")
        level = decimal_check(level, "margin_level")
    return AccountState(login=str(event.get("login")), margin_level=level, **values)


def push_receive(*, platform_code: str, signature: str, body: bytes) -> PushAnswer:
    """Verify, parse and apply one push; see the module docstring for the contract."""
    if len(body) > MAX_BODY:  # before the platform is looked up: the answer must not depend on it
        return _error(
            413, "too_large", f"The body is larger than {MAX_BODY // (1024 * 1024)} MB; send smaller batches."
        )
    platform = Platform.objects.filter(code=platform_code, is_active=True).first()
    secret = platform.push_secret if platform is not None and platform.push_secret else ""
    try:
        # The signature first (any age), the age only once it matched: a caller without the secret
        # learns nothing, not even whether the platform exists.
        signed = stripe_verify(secret or _NO_SECRET, body, signature, tolerance=2**62)
    except SignatureError:
        return _error(401, "bad_signature", _UNSIGNED)
    if not secret:
        return _error(401, "bad_signature", _UNSIGNED)
    try:
        timestamp_check(signed, tolerance=TOLERANCE)
    except SignatureError as error:
        return _error(401, "bad_signature", str(error))
    try:
        payload = json.loads(body.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        return _error(400, "bad_json", "The body is not valid UTF-8 JSON.")
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        return _error(400, "bad_shape", 'The body must be a JSON object with an "events" list.')
    return _apply(platform, payload["events"], signed)


def _apply(platform: Platform, events: list, signed: int) -> PushAnswer:
    problems: list[tuple[str, str, str]] = []
    deals, positions, states = [], [], []
    for index, event in enumerate(events):
        kind = event.get("type") if isinstance(event, dict) else None
        login = event.get("login") if isinstance(event, dict) else None
        if kind == "deal":
            deals.append(_deal(event))
        elif kind == "positions" and isinstance(login, (str, int)) and isinstance(event.get("positions"), list):
            positions.append((str(login), [_position(str(login), item) for item in event["positions"]]))
        elif kind == "account" and isinstance(login, (str, int)):
            try:
                states.append(_state(event))
            except ValueError as error:  # ingest's Malformed included
                problems.append((Kind.MALFORMED, f"account {login}", f"Account event skipped: {error}."))
        else:
            problems.append(
                (
                    Kind.MALFORMED,
                    "event",
                    f"Event {index} skipped: expected type deal, positions (with login and a positions list) "
                    f"or account (with login), got {str(kind)[:40]!r}.",
                )
            )
    with transaction.atomic():
        result = deals_ingest(platform, deals)
        for login, items in positions:
            positions_store(platform, items, [login])
        stored = 0
        at = min(datetime.fromtimestamp(signed, tz=UTC), timezone.now())
        if states:
            accounts = {
                a.login: a
                for a in TradingAccount.objects.filter(platform=platform, login__in=[s.login for s in states])
            }
            for state in states:
                account = accounts.get(state.login)
                if account is None:
                    problems.append(
                        (
                            Kind.UNKNOWN_LOGIN,
                            state.login,
                            f"{platform.name} pushed the state of login {state.login}, "
                            "which is no trading account of this platform here.",
                        )
                    )
                    continue
                try:
                    with transaction.atomic():  # its own savepoint: a bad value skips this event only
                        applied = account_state_store(account, state, at=at)
                except DatabaseError as error:  # a value the checks let through: this event only
                    problems.append(
                        (Kind.MALFORMED, f"account {state.login}", f"Account event skipped: {str(error)[:200]}.")
                    )
                    continue
                stored += applied
        raised = problems_raise(platform, problems)
    return PushAnswer(
        200,
        {
            "deals": {"inserted": result.inserted, "duplicates": result.duplicates},
            "positions": len(positions),
            "accounts": stored,
            "problems": raised + result.problems,
        },
    )
