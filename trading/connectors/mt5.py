"""MetaTrader 5 Web API connector: the manager REST interface of an MT5 server, over HTTPS.

Protocol as implemented (checked against MetaQuotes' own Web API samples, the PHP/C#/Python ports
that carry them, `Dig-TechSoft/mt5-webapi-gateway` and `yecloud/pymt5webapi`; where they differ
from ../shared/PROTOCOLS.md, the sources won and the difference is named here):

- Handshake: `/api/auth/start` then `/api/auth/answer` exactly as PROTOCOLS.md says, binary MD5
  intermediates. We also check `cli_rand_answer`: a server that cannot prove it knows the manager
  password is refused before anything is sent to it. Known-answer vector from the public C# client:
  password "Password1", srv_rand 73007dc7…c851 → srv_rand_answer 77fe5182…f1bb.
- Session: a cookie, kept in one `requests.Session` per (schema, server, manager) in this process,
  shared by every connector instance (`connector_for` builds a new one per call). Before a call on
  a session idle for KEEPALIVE_AFTER seconds we send `/api/test/access` (lazy keep-alive). HTTP
  401/403 or retcode 8 means the session is gone: we authenticate once more and repeat the request
  once (safe even for balance operations: a request refused as unauthenticated did nothing).
- The server sends most numbers as JSON strings ("Balance": "100.00", "Login": "500001"); every
  field is read through Decimal(str(value)), floats never appear.
- retcode "<code> <text>": 0 (and 1 "ok, no data") succeed; 13 → InvalidLogin; 10019 → NotEnoughMargin;
  3004 (MT_RET_USR_LOGIN_EXIST, "Account already exists", from /api/user/add) → LoginTaken;
  codes that say the server itself could not tell or could not serve (7 network, 9 timeout,
  10 no connection, 11 no service, 15 shutdown, 1018 busy, 10012 request timeout, 10031 no
  connection) → PlatformUnavailable, because for a balance operation "refused" would mean
  "reverse the transfer" and these do not prove that nothing happened. Everything else (3, 8, …) →
  TradingGatewayError with the server's text. No answer, timeouts, HTTP 5xx, malformed JSON →
  PlatformUnavailable. Authentication failures (wrong password, lying server) → PlatformUnavailable
  too: the server is unusable until someone fixes the configuration, and Platform.health says so.
- Times: MT5 stamps deals and positions in *trade server time* (seconds since 1970 in the server's
  time zone, e.g. UTC+2/+3), not UTC (PROTOCOLS.md and the brief say "UTC seconds"; MetaQuotes'
  MTConTime.TimeZone and every terminal-side client say otherwise). We read `/api/time/server`
  ("<unix> <text>") and take its offset from our UTC clock, rounded to 15 minutes; deal/position
  times are shifted back to UTC and `from`/`to` are sent in server time. The offset changes with
  the broker's daylight saving while our session lives on, so it is read at each handshake, again
  whenever it is older than OFFSET_MAX_AGE, and always at the start of a deal history read (an hour
  off there hides a booked transfer from recovery, which would then refund it: money twice). A
  server that stops telling its time keeps the last offset it told. One read serves a whole call,
  window and records alike. Limit: a deal booked before a clock change is stamped in the old offset
  and reads an hour off after it (MT5 does not say which offset a stamp used).
  We prefer TimeMsc/TimeCreateMsc (milliseconds) when present.
- Volume: `Volume` is in 1/10000 lot (the "old 4-digit" format: 1 lot = 10000); newer builds add
  `VolumeExt` in 1/100000000 lot ("new 8-digit": 1 lot = 100000000). We read VolumeExt when it is
  there, else Volume, and report lots.
- Users: `POST /api/user/add` with the MTUser record as the JSON body (Login chosen by us, Group,
  Name, Leverage, Rights, MainPassword, InvestPassword). Passwords travel only in the body, never
  in a URL (server and proxy logs keep URLs). Before adding we read `/api/group/get` and refuse a
  currency that is not the group's (an MT5 account's currency is its group's). `/api/user/update`
  is read-modify-write: `/api/user/get`, change Leverage/Group/Rights, POST the record back.
  Enable/disable uses Rights: enabled = USER_RIGHT_ENABLED (0x1) set and USER_RIGHT_TRADE_DISABLED
  (0x4) clear; disabling clears the first and sets the second (the client can neither log in nor
  trade, and the account stays on the server with its history).
- Balance: `GET /api/trade/balance?login&type&balance&comment&check_margin=1`, amount as a plain
  decimal string; the answer carries the deal ticket (`ticket`). Comments over 32 characters are
  refused before sending: truncating could cut the operation id recovery looks for.
- Deals: `/api/deal/get_total` then `/api/deal/get_page` (offset, total ≤ 100) per login (the API
  takes one login per call); with logins=None we loop over this platform's TradingAccount logins.
  Action 0..6 map to Deal.Action; 7..12 and 15..19 (commissions, interest, dividends, taxes,
  agent payments, stop-out compensation) move the balance without trading and map to "charge" so
  their money is not lost; 13/14 (cancelled buy/sell records) are skipped. Entry 0..3 → in, out,
  inout, out_by. Positions: `/api/position/get_total` + `/api/position/get_page`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import requests
from django.db import connection

from trading.connectors.base import (
    AccountState,
    BalanceKind,
    DealData,
    InvalidLogin,
    LoginTaken,
    NewAccount,
    NotEnoughMargin,
    PlatformUnavailable,
    PositionData,
    TradingGatewayError,
)

logger = logging.getLogger(__name__)

WEBAPI_VERSION = "484"
AGENT = "brokerage"
PAGE_SIZE = 100
COMMENT_LIMIT = 32

RIGHT_ENABLED = 0x1
RIGHT_PASSWORD = 0x2
RIGHT_TRADE_DISABLED = 0x4
RIGHT_TRAILING = 0x20
RIGHT_EXPERT = 0x40
RIGHT_REPORTS = 0x100
# MetaQuotes' USER_RIGHT_DEFAULT: log in, change password, trailing stops, experts, reports.
RIGHTS_DEFAULT = RIGHT_ENABLED | RIGHT_PASSWORD | RIGHT_TRAILING | RIGHT_EXPERT | RIGHT_REPORTS

OK_CODES = {0, 1}
NOT_FOUND = 13
LOGIN_EXISTS = 3004  # MT_RET_USR_LOGIN_EXIST
NO_MONEY = 10019
PERMISSIONS = 8
# The server could not tell or could not serve: the operation may or may not have happened.
UNAVAILABLE_CODES = {7, 9, 10, 11, 15, 1018, 10012, 10031}

DEAL_ACTIONS = {0: "buy", 1: "sell", 2: "balance", 3: "credit", 4: "charge", 5: "correction", 6: "bonus"}
BALANCE_ONLY_ACTIONS = {7, 8, 9, 10, 11, 12, 15, 16, 17, 18, 19}
CANCELLED_ACTIONS = {13, 14}
DEAL_ENTRIES = {0: "in", 1: "out", 2: "inout", 3: "out_by"}
# Seconds after which the server's UTC offset is read again (daylight-saving changes).
OFFSET_MAX_AGE = 600.0
LOT_UNITS = Decimal(10000)
LOT_UNITS_EXT = Decimal(100000000)


class _SessionGone(Exception):
    """The server no longer knows our session cookie."""


@dataclass
class _Session:
    http: requests.Session = field(default_factory=requests.Session)
    lock: threading.Lock = field(default_factory=threading.Lock)
    authenticated: bool = False
    last_used: float = 0.0
    # Trade server time minus UTC, in seconds, and when (time.monotonic) the server last told it.
    offset: int = 0
    offset_read_at: float = 0.0


_SESSIONS: dict[tuple, _Session] = {}
_SESSIONS_LOCK = threading.Lock()


def sessions_clear() -> None:
    """Forget every MT5 session of this process (tests; a changed server address)."""
    with _SESSIONS_LOCK:
        for session in _SESSIONS.values():
            session.http.close()
        _SESSIONS.clear()


def password_hash(password: str) -> bytes:
    """MD5(MD5(password as UTF-16LE) + b"WebAPI"), binary."""
    return hashlib.md5(hashlib.md5(password.encode("utf-16-le")).digest() + b"WebAPI").digest()  # noqa: S324 - MT5 protocol


def rand_answer(password_digest: bytes, rand: bytes) -> str:
    """The answer to a random challenge: MD5(password_hash + rand) in hex."""
    return hashlib.md5(password_digest + rand).hexdigest()  # noqa: S324 - MT5 protocol


def _decimal(value: Any, default: Decimal = Decimal(0)) -> Decimal:
    if value is None or value == "":
        return default
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise PlatformUnavailable(f"MT5 sent a malformed number: {str(value)[:40]!r}") from None


def _integer(value: Any, default: int = 0) -> int:
    if value is None or value == "":
        return default
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        raise PlatformUnavailable(f"MT5 sent a malformed integer: {str(value)[:40]!r}") from None


def _field(record: dict, *names: str) -> Any:
    """A field by any of its names, case-insensitively (the server's JSON casing varies by build)."""
    for name in names:
        if name in record:
            return record[name]
    lowered = {key.lower(): value for key, value in record.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _lots(record: dict) -> Decimal:
    extended = _field(record, "VolumeExt")
    if extended not in (None, ""):
        return _decimal(extended) / LOT_UNITS_EXT
    return _decimal(_field(record, "Volume")) / LOT_UNITS


def _offset_from(answer: Any) -> int | None:
    """Trade server time minus UTC from a /api/time/server answer, rounded to 15 minutes; None if unreadable."""
    try:
        stamp = _field(answer, "time", "Time")
        server_now = int(str(stamp).split(" ", 1)[0])
    except (ValueError, AttributeError, TypeError):
        return None
    quarter = 15 * 60
    return round((server_now - time.time()) / quarter) * quarter


def _reason(error: requests.RequestException) -> str:
    """Why a request did not reach the server, in words staff can act on (not an exception class)."""
    text = str(error)
    if isinstance(error, requests.exceptions.SSLError):
        return "the TLS handshake failed (is the server's certificate valid for this address?)"
    if isinstance(error, requests.ConnectionError):
        if "Name or service not known" in text or "NameResolution" in text or "getaddrinfo" in text:
            return "its name does not resolve (check the address)"
        if "Connection refused" in text:
            return "the connection was refused (is the Web API enabled on that port?)"
        return "no connection could be made"
    return "the request failed"


class Mt5Connector:
    """The Connector interface over an MT5 server's Web API (see the module docstring)."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    # Idle seconds after which a call first pings the session with /api/test/access.
    keepalive_after: float = 20.0

    def __init__(self, platform):
        self.platform = platform
        self.base_url = (platform.server or "").strip().rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise TradingGatewayError(f"Platform {platform.code}: the MT5 server address must be https://host:port.")
        if not platform.manager_login or not platform.manager_password:
            raise TradingGatewayError(f"Platform {platform.code}: the MT5 manager login and password are not set.")
        self.host = parts.netloc
        self._login = str(platform.manager_login)
        self._password_digest = password_hash(platform.manager_password)

    def __repr__(self) -> str:  # never the password
        return f"<Mt5Connector {self.host} manager {self._login}>"

    # Transport -----------------------------------------------------------------------------------

    def _session(self) -> _Session:
        fingerprint = hashlib.sha256(self._password_digest).hexdigest()[:16]
        key = (connection.schema_name, self.base_url, self._login, fingerprint)
        with _SESSIONS_LOCK:
            if key not in _SESSIONS:
                _SESSIONS[key] = _Session()
            return _SESSIONS[key]

    def _send(
        self, session: _Session, method: str, path: str, params: dict | None = None, body: dict | None = None
    ) -> dict:
        """One HTTP exchange; the parsed JSON document. Raises _SessionGone on an auth refusal."""
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = json.dumps(body, default=str).encode()
            headers["Content-Type"] = "application/json"
        try:
            response = session.http.request(
                method,
                self.base_url + path,
                params=params,
                data=data,
                headers=headers,
                timeout=(self.connect_timeout, self.read_timeout),
                allow_redirects=False,
            )
        except requests.Timeout:
            raise PlatformUnavailable(f"MT5 server {self.host} did not answer in time ({path}).") from None
        except requests.RequestException as error:
            raise PlatformUnavailable(f"MT5 server {self.host} is unreachable: {_reason(error)}") from None
        session.last_used = time.monotonic()
        if response.status_code in (401, 403):
            raise _SessionGone(f"HTTP {response.status_code}")
        if response.status_code >= 500:
            raise PlatformUnavailable(f"MT5 server {self.host} failed: HTTP {response.status_code} ({path}).")
        if response.status_code >= 400:
            raise TradingGatewayError(f"MT5 server {self.host} refused {path}: HTTP {response.status_code}.")
        try:
            document = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise PlatformUnavailable(f"MT5 server {self.host} sent an answer that is not JSON ({path}).") from None
        if not isinstance(document, dict) or not isinstance(document.get("retcode"), str):
            raise PlatformUnavailable(f"MT5 server {self.host} sent an answer without a retcode ({path}).")
        return document

    @staticmethod
    def _retcode(document: dict) -> tuple[int, str]:
        retcode = document["retcode"].strip()
        head = retcode.split(" ", 1)[0]
        try:
            return int(head), retcode
        except ValueError:
            raise PlatformUnavailable(f"MT5 sent a malformed retcode: {retcode[:60]!r}") from None

    def _check(self, document: dict, *, not_found: type[TradingGatewayError] = InvalidLogin) -> None:
        code, retcode = self._retcode(document)
        if code in OK_CODES:
            return
        if code == PERMISSIONS:
            raise _SessionGone(retcode)
        if code == NOT_FOUND:
            raise not_found(f"MT5: {retcode}")
        if code == NO_MONEY:
            raise NotEnoughMargin(f"MT5: {retcode}")
        if code == LOGIN_EXISTS:
            raise LoginTaken(f"MT5: {retcode}")
        if code in UNAVAILABLE_CODES:
            raise PlatformUnavailable(f"MT5: {retcode}")
        raise TradingGatewayError(f"MT5: {retcode}")

    def _authenticate(self, session: _Session) -> None:
        session.authenticated = False
        session.http.cookies.clear()
        try:
            start = self._send(
                session,
                "GET",
                "/api/auth/start",
                {"version": WEBAPI_VERSION, "agent": AGENT, "login": self._login, "type": "manager"},
            )
            code, retcode = self._retcode(start)
            if code not in OK_CODES:
                raise PlatformUnavailable(f"MT5 refused the manager login {self._login}: {retcode}")
            try:
                server_rand = bytes.fromhex(str(start.get("srv_rand", "")))
            except ValueError:
                server_rand = b""
            if len(server_rand) < 16:
                raise PlatformUnavailable("MT5 sent no usable srv_rand in the handshake.")
            client_rand = secrets.token_bytes(16)
            answer = self._send(
                session,
                "GET",
                "/api/auth/answer",
                {"srv_rand_answer": rand_answer(self._password_digest, server_rand), "cli_rand": client_rand.hex()},
            )
        except _SessionGone as refused:
            raise PlatformUnavailable(f"MT5 refused the manager login {self._login}: {refused}") from None
        code, retcode = self._retcode(answer)
        if code not in OK_CODES:
            raise PlatformUnavailable(f"MT5 refused the manager login {self._login}: {retcode}")
        expected = rand_answer(self._password_digest, client_rand)
        if not hmac.compare_digest(expected, str(answer.get("cli_rand_answer", "")).lower()):
            logger.error("MT5 server %s failed to prove it knows the manager password", self.host)
            session.http.cookies.clear()
            raise PlatformUnavailable(
                f"MT5 server {self.host} could not prove it knows the manager password: refusing to use it."
            )
        session.authenticated = True
        try:
            document = self._send(session, "GET", "/api/time/server")
            self._check(document, not_found=TradingGatewayError)
            offset = _offset_from(document.get("answer"))
        except (TradingGatewayError, _SessionGone):
            offset = None
        if offset is None:
            if not session.offset_read_at:
                logger.warning("MT5 server %s did not tell its time; assuming UTC", self.host)
            return  # keep what we knew (UTC if nothing): the session itself is fine
        session.offset, session.offset_read_at = offset, time.monotonic()

    def _call(
        self,
        method: str,
        path: str,
        params: dict | None = None,
        body: dict | None = None,
        *,
        not_found: type[TradingGatewayError] = InvalidLogin,
    ) -> Any:
        """An authenticated request; its `answer` (None when there is none)."""
        session = self._session()
        with session.lock:
            if not session.authenticated:
                self._authenticate(session)
            elif time.monotonic() - session.last_used >= self.keepalive_after:
                try:
                    self._check(self._send(session, "GET", "/api/test/access"))
                except (_SessionGone, TradingGatewayError):
                    self._authenticate(session)
            for attempt in (1, 2):
                try:
                    document = self._send(session, method, path, params, body)
                    self._check(document, not_found=not_found)
                    return document.get("answer")
                except _SessionGone as gone:
                    if attempt == 2:
                        session.authenticated = False
                        raise TradingGatewayError(f"MT5 refused {path}: {gone}") from None
                    self._authenticate(session)
        return None  # unreachable

    # Time ----------------------------------------------------------------------------------------

    def _offset(self, *, fresh: bool = False) -> int:
        """The server's offset from UTC: read again when older than OFFSET_MAX_AGE, or now if `fresh`."""
        session = self._session()
        with session.lock:
            if not session.authenticated:
                self._authenticate(session)  # reads the clock as part of the handshake
                return session.offset
            if not fresh and time.monotonic() - session.offset_read_at < OFFSET_MAX_AGE:
                return session.offset
        try:
            offset = _offset_from(self._call("GET", "/api/time/server", not_found=TradingGatewayError))
        except TradingGatewayError as refused:  # a refusal: unavailability (no answer) propagates
            logger.warning("MT5 server %s refused to tell its time (%s)", self.host, refused.message)
            offset = None
        with session.lock:
            if offset is None:
                logger.warning("MT5 server %s: keeping its last known UTC offset %ss", self.host, session.offset)
                return session.offset
            if offset != session.offset:
                logger.info("MT5 server %s moved its clock: UTC offset %ss -> %ss", self.host, session.offset, offset)
            session.offset, session.offset_read_at = offset, time.monotonic()
            return offset

    @staticmethod
    def _from_server(record: dict, seconds_field: str, msc_field: str, offset: int) -> datetime:
        milliseconds = _field(record, msc_field)
        if milliseconds not in (None, "", 0, "0"):
            stamp = Decimal(_integer(milliseconds)) / 1000 - offset
        else:
            stamp = Decimal(_integer(_field(record, seconds_field)) - offset)
        return datetime.fromtimestamp(float(stamp), tz=UTC)

    # Connector -----------------------------------------------------------------------------------

    def ping(self) -> None:
        self._call("GET", "/api/test/access")

    def account_open(self, account: NewAccount) -> str:
        """Raises LoginTaken when MT5 already has `account.login` (the caller may pick another)."""
        group = self._call("GET", "/api/group/get", {"group": account.group}, not_found=TradingGatewayError) or {}
        group_currency = str(_field(group, "Currency") or "").upper()
        if group_currency and group_currency != account.currency.upper():
            raise TradingGatewayError(
                f"MT5 group {account.group} keeps accounts in {group_currency}, not {account.currency}."
            )
        if not account.password:
            raise TradingGatewayError("An MT5 account needs an initial password.")
        record = {
            "Login": account.login,
            "Group": account.group,
            "Name": account.name,
            "Leverage": account.leverage,
            "Rights": RIGHTS_DEFAULT,
            "MainPassword": account.password,
            # Read-only access is not offered to clients yet; a random one nobody knows.
            "InvestPassword": secrets.token_urlsafe(12) + "b2$",
        }
        try:
            answer = self._call("POST", "/api/user/add", body=record, not_found=TradingGatewayError) or {}
        except LoginTaken as taken:
            raise LoginTaken(f"MT5 already has an account with login {account.login} ({taken.message}).") from None
        login = _field(answer, "Login")
        return str(login) if login not in (None, "", 0, "0") else account.login

    def _user(self, login: str) -> dict:
        user = self._call("GET", "/api/user/get", {"login": login})
        if not isinstance(user, dict):
            raise PlatformUnavailable(f"MT5 sent no user record for {login}.")
        return user

    def account_update(
        self, login: str, *, leverage: int | None = None, group: str | None = None, enabled: bool | None = None
    ) -> None:
        if leverage is None and group is None and enabled is None:
            return
        user = self._user(login)
        changed = {key: value for key, value in user.items() if key not in ("MainPassword", "InvestPassword")}
        if leverage is not None:
            changed["Leverage"] = leverage
        if group is not None:
            changed["Group"] = group
        if enabled is not None:
            rights = _integer(_field(user, "Rights"), RIGHTS_DEFAULT)
            if enabled:
                rights = (rights | RIGHT_ENABLED) & ~RIGHT_TRADE_DISABLED
            else:
                rights = (rights & ~RIGHT_ENABLED) | RIGHT_TRADE_DISABLED
            changed["Rights"] = rights
        self._call("POST", "/api/user/update", body=changed)

    def account_state(self, login: str) -> AccountState:
        account = self._call("GET", "/api/user/account/get", {"login": login})
        if not isinstance(account, dict):
            raise PlatformUnavailable(f"MT5 sent no account record for {login}.")
        margin = _decimal(_field(account, "Margin"))
        level = _decimal(_field(account, "MarginLevel"))
        leverage = _integer(_field(account, "MarginLeverage"))
        return AccountState(
            login=str(_field(account, "Login") or login),
            balance=_decimal(_field(account, "Balance")),
            credit=_decimal(_field(account, "Credit")),
            equity=_decimal(_field(account, "Equity")),
            margin=margin,
            margin_free=_decimal(_field(account, "MarginFree")),
            # MT5 reports 0 while no margin is used; we say "none".
            margin_level=level.quantize(Decimal("0.01")) if margin else None,
            leverage=leverage or None,
        )

    def balance_operation(
        self,
        login: str,
        amount: Decimal,
        *,
        kind: int = BalanceKind.BALANCE,
        comment: str = "",
        check_margin: bool = True,
    ) -> int:
        if len(comment) > COMMENT_LIMIT:
            raise TradingGatewayError(f"An MT5 deal comment holds at most {COMMENT_LIMIT} characters.")
        if kind not in (
            BalanceKind.BALANCE,
            BalanceKind.CREDIT,
            BalanceKind.CHARGE,
            BalanceKind.CORRECTION,
            BalanceKind.BONUS,
        ):
            raise TradingGatewayError(f"Unknown MT5 balance operation type {kind}.")
        amount = Decimal(amount)
        if not amount:
            raise TradingGatewayError("A balance operation needs an amount.")
        params = {
            "login": login,
            "type": kind,
            "balance": f"{amount:f}",
            "comment": comment,
            "check_margin": 1 if check_margin else 0,
        }
        answer = self._call("GET", "/api/trade/balance", params) or {}
        ticket = _integer(_field(answer, "ticket", "Deal"))
        if not ticket:
            # Booked (retcode 0) but no ticket: recovery finds the deal by its comment.
            raise PlatformUnavailable(f"MT5 booked the balance operation for {login} but sent no deal ticket.")
        return ticket

    def _logins(self, logins: list[str] | None) -> list[str]:
        if logins is not None:
            return [str(login) for login in logins]
        from trading.models import TradingAccount

        return list(
            TradingAccount.objects.filter(platform=self.platform).order_by("login").values_list("login", flat=True)
        )

    def _pages(self, kind: str, params: dict) -> list[dict]:
        """Every record of a get_total/get_page pair, PAGE_SIZE at a time."""
        total_answer = self._call("GET", f"/api/{kind}/get_total", params) or {}
        total = _integer(_field(total_answer, "total"))
        records: list[dict] = []
        offset = 0
        while offset < total:
            page = self._call("GET", f"/api/{kind}/get_page", {**params, "offset": offset, "total": PAGE_SIZE})
            if not isinstance(page, list):
                raise PlatformUnavailable(f"MT5 sent a malformed {kind} page.")
            records.extend(record for record in page if isinstance(record, dict))
            if len(page) < PAGE_SIZE:
                break  # fewer than announced: some were removed since get_total
            offset += len(page)
        return records

    def deals(self, start: datetime, end: datetime, logins: list[str] | None = None) -> list[DealData]:
        found: dict[int, DealData] = {}
        offset = self._offset(fresh=True)
        # MT5 bounds are whole seconds, `to` inclusive: ask wide, then keep start <= time < end.
        window = {"from": int(start.timestamp()) + offset - 1, "to": int(end.timestamp()) + offset + 1}
        for login in self._logins(logins):
            for record in self._pages("deal", {"login": login, **window}):
                deal = self._deal(record, login, offset)
                if deal is not None and start <= deal.time < end:
                    found[deal.ticket] = deal
        return sorted(found.values(), key=lambda deal: (deal.time, deal.ticket))

    def _deal(self, record: dict, login: str, offset: int) -> DealData | None:
        action_number = _integer(_field(record, "Action"), -1)
        if action_number in CANCELLED_ACTIONS:
            return None
        if action_number in DEAL_ACTIONS:
            action = DEAL_ACTIONS[action_number]
        elif action_number in BALANCE_ONLY_ACTIONS:
            action = "charge"
        else:
            logger.warning("MT5 deal %s has unknown action %s; skipped", _field(record, "Deal"), action_number)
            return None
        ticket = _integer(_field(record, "Deal"))
        if not ticket:
            logger.warning("MT5 sent a deal without a ticket for %s; skipped", login)
            return None
        order = _integer(_field(record, "Order"))
        position = _integer(_field(record, "PositionID"))
        return DealData(
            ticket=ticket,
            login=str(_field(record, "Login") or login),
            time=self._from_server(record, "Time", "TimeMsc", offset),
            symbol=str(_field(record, "Symbol") or ""),
            action=action,
            entry=DEAL_ENTRIES.get(_integer(_field(record, "Entry")), "in"),
            volume=_lots(record),
            price=_decimal(_field(record, "Price")),
            profit=_decimal(_field(record, "Profit")),
            commission=_decimal(_field(record, "Commission")),
            swap=_decimal(_field(record, "Storage")),
            fee=_decimal(_field(record, "Fee")),
            comment=str(_field(record, "Comment") or ""),
            order=order or None,
            position_id=position or None,
        )

    def positions(self, logins: list[str] | None = None) -> list[PositionData]:
        found: list[PositionData] = []
        offset = self._offset()
        for login in self._logins(logins):
            for record in self._pages("position", {"login": login}):
                side = _integer(_field(record, "Action"), -1)
                ticket = _integer(_field(record, "Position"))
                if side not in (0, 1) or not ticket:
                    continue
                found.append(
                    PositionData(
                        ticket=ticket,
                        login=str(_field(record, "Login") or login),
                        symbol=str(_field(record, "Symbol") or ""),
                        side="buy" if side == 0 else "sell",
                        volume=_lots(record),
                        open_price=_decimal(_field(record, "PriceOpen")),
                        current_price=_decimal(_field(record, "PriceCurrent")),
                        profit=_decimal(_field(record, "Profit")),
                        swap=_decimal(_field(record, "Storage")),
                        opened_at=self._from_server(record, "TimeCreate", "TimeCreateMsc", offset),
                    )
                )
        return found
