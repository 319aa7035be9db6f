"""A fake MetaTrader 5 Web API server for the connector's tests.

It speaks the same protocol as trading.connectors.mt5 expects from a real server (see that
module's docstring): the MD5 challenge handshake with real checks, a session cookie, users,
accounts with balance and margin, balance operations with check_margin, deals and positions
paged 100 at a time, numbers sent as JSON strings and times in "trade server time".

Switches a test flips to simulate trouble:
- `down`: every request answers HTTP 503.
- `slow`: seconds to wait before answering (beyond the connector's read timeout = a timeout).
- `balance_fault`: "drop_answer" books the next balance operation and closes the connection
  without answering; "drop_request" closes it without booking anything. One-shot.
- `impostor`: answers the handshake without knowing the manager password (a lying server).
- `garbage`: answers 200 with a body that is not JSON.
- `user_add_fault`: "drop_answer" creates the next user and closes the connection without
  answering (the open "failed", yet MT5 has the login). One-shot.
- `server_utc_offset` may be changed at any time (`clock_shift`), as a daylight-saving change
  does to a live server: every later time it sends or reads uses the new offset.
- `force[path] = "<code> <text>"`: that path answers with this retcode (until removed).
- `expire_sessions()`: forgets every session, as a server restart or idle expiry would.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from trading.connectors.mt5 import password_hash, rand_answer

MAX_PAGE = 100
COOKIE = "MT5WEBAPI"


def _text(value) -> str:
    """MT5 sends numbers as strings."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


class FakeMt5:
    def __init__(
        self,
        *,
        manager_login: str = "1000",
        manager_password: str = "Manager-Pass1",  # noqa: S107 - a test server's own password
        server_utc_offset: int = 0,
        groups: dict[str, str] | None = None,
    ):
        self.manager_login = manager_login
        self._digest = password_hash(manager_password)
        # Trade server time minus UTC, in seconds (real servers often run at UTC+2/+3).
        self.server_utc_offset = server_utc_offset
        self.groups = groups if groups is not None else {"real\\standard": "USD", "real\\euro": "EUR"}
        self.users: dict[str, dict] = {}
        self.deal_rows: list[dict] = []
        self.position_rows: list[dict] = []
        self.tickets = itertools.count(70001)
        self.calls: list[tuple[str, str, dict, dict | None]] = []
        self.handshakes = 0
        self.send_volume_ext = True
        self.down = False
        self.slow = 0.0
        self.balance_fault: str | None = None
        self.impostor = False
        self.garbage = False
        self.user_add_fault: str | None = None
        self.force: dict[str, str] = {}
        self._sessions: dict[str, dict] = {}
        self._lock = threading.RLock()
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def expire_sessions(self) -> None:
        with self._lock:
            self._sessions.clear()

    def clock_shift(self, seconds: int) -> None:
        """Move the trade server's clock (a daylight-saving change) while sessions stay open."""
        with self._lock:
            self.server_utc_offset += seconds

    def paths(self) -> list[str]:
        return [path for _, path, _, _ in self.calls]

    # Test data -----------------------------------------------------------------------------------

    def _server_seconds(self, moment: datetime | None = None) -> int:
        moment = moment or datetime.now(UTC)
        return int(moment.timestamp()) + self.server_utc_offset

    def user_add(self, login: str, *, group: str = "real\\standard", balance: str = "0", leverage: int = 100) -> dict:
        with self._lock:
            self.users[login] = {
                "Login": login,
                "Group": group,
                "Name": f"Client {login}",
                "Leverage": leverage,
                "Rights": 0x163,
                "Balance": Decimal(balance),
                "Credit": Decimal(0),
                "Margin": Decimal(0),
                "Floating": Decimal(0),
            }
            return self.users[login]

    def deal_add(
        self,
        login: str,
        *,
        action: int = 0,
        entry: int = 1,
        symbol: str = "EURUSD",
        lots: str = "1",
        price: str = "1.08500",
        profit: str = "0",
        commission: str = "0",
        storage: str = "0",
        fee: str = "0",
        comment: str = "",
        when: datetime | None = None,
        order: int = 0,
        position: int = 0,
    ) -> dict:
        """Book a deal as the server would (money moves the balance); `when` is UTC."""
        with self._lock:
            moment = when or datetime.now(UTC)
            seconds = self._server_seconds(moment)
            row = {
                "Deal": next(self.tickets),
                "Login": login,
                "Order": order,
                "Action": action,
                "Entry": entry,
                "Time": seconds,
                "TimeMsc": seconds * 1000 + moment.microsecond // 1000,
                "Symbol": symbol,
                "Price": Decimal(price),
                "Lots": Decimal(lots),
                "Profit": Decimal(profit),
                "Commission": Decimal(commission),
                "Storage": Decimal(storage),
                "Fee": Decimal(fee),
                "Comment": comment,
                "PositionID": position,
            }
            self.deal_rows.append(row)
            if login in self.users:
                money = row["Profit"] + row["Commission"] + row["Storage"] + row["Fee"]
                key = "Credit" if action == 3 else "Balance"
                self.users[login][key] += money
            return row

    def position_add(
        self,
        login: str,
        *,
        action: int = 0,
        symbol: str = "EURUSD",
        lots: str = "1",
        price_open: str = "1.08000",
        price_current: str = "1.08500",
        profit: str = "50",
        storage: str = "-1.20",
        opened: datetime | None = None,
    ) -> dict:
        with self._lock:
            row = {
                "Position": next(self.tickets),
                "Login": login,
                "Symbol": symbol,
                "Action": action,
                "Lots": Decimal(lots),
                "PriceOpen": Decimal(price_open),
                "PriceCurrent": Decimal(price_current),
                "Profit": Decimal(profit),
                "Storage": Decimal(storage),
                "TimeCreate": self._server_seconds(opened),
            }
            self.position_rows.append(row)
            return row

    # Protocol ------------------------------------------------------------------------------------

    def _volume(self, lots: Decimal) -> dict:
        volume = {"Volume": _text(int(lots * 10000))}
        if self.send_volume_ext:
            volume["VolumeExt"] = _text(int(lots * 100000000))
        return volume

    def _deal_json(self, row: dict) -> dict:
        shown = {key: _text(value) for key, value in row.items() if key != "Lots"}
        return {**shown, **self._volume(row["Lots"])}

    def _position_json(self, row: dict) -> dict:
        shown = {key: _text(value) for key, value in row.items() if key != "Lots"}
        return {**shown, **self._volume(row["Lots"])}

    def _account_json(self, user: dict) -> dict:
        equity = user["Balance"] + user["Credit"] + user["Floating"]
        level = (equity / user["Margin"] * 100).quantize(Decimal("0.01")) if user["Margin"] else Decimal(0)
        return {
            "Login": user["Login"],
            "CurrencyDigits": "2",
            "Balance": _text(user["Balance"]),
            "Credit": _text(user["Credit"]),
            "Margin": _text(user["Margin"]),
            "MarginFree": _text(equity - user["Margin"]),
            "MarginLevel": _text(level),
            "MarginLeverage": _text(user["Leverage"]),
            "Profit": _text(user["Floating"]),
            "Equity": _text(equity),
        }

    def _user_json(self, user: dict) -> dict:
        return {
            key: _text(value)
            for key, value in user.items()
            if key not in ("Floating", "Margin", "MainPassword", "InvestPassword")
        }

    def handle(self, method: str, path: str, query: dict, body: dict | None, cookie: str | None):
        """(HTTP status, JSON document, extra headers); None as the document drops the connection."""
        with self._lock:
            self.calls.append((method, path, query, body))
        if self.slow:
            time.sleep(self.slow)
        if self.down:
            return 503, {"retcode": "11 Service is not available"}, {}
        if self.garbage:
            return 200, "<html>Bad gateway</html>", {}
        if path == "/api/auth/start":
            return self._auth_start(query)
        if path == "/api/auth/answer":
            return self._auth_answer(query, cookie)
        with self._lock:
            session = self._sessions.get(cookie or "")
        if not session or not session.get("authenticated"):
            return 403, {"retcode": "8 Not enough permissions"}, {}
        if path in self.force:
            return 200, {"retcode": self.force[path]}, {}
        with self._lock:
            return self._route(method, path, query, body)

    def _auth_start(self, query: dict):
        if query.get("type") != "manager" or query.get("login") != self.manager_login:
            return 200, {"retcode": "1001 Invalid account"}, {}
        token = secrets.token_hex(16)
        server_rand = secrets.token_bytes(16)
        with self._lock:
            self._sessions[token] = {"srv_rand": server_rand, "authenticated": False}
        headers = {"Set-Cookie": f"{COOKIE}={token}; Path=/; HttpOnly"}
        return 200, {"retcode": "0 Done", "version": "4330", "srv_rand": server_rand.hex()}, headers

    def _auth_answer(self, query: dict, cookie: str | None):
        with self._lock:
            session = self._sessions.get(cookie or "")
        if session is None:
            return 200, {"retcode": "3 Invalid parameters"}, {}
        try:
            client_rand = bytes.fromhex(query.get("cli_rand", ""))
        except ValueError:
            return 200, {"retcode": "3 Invalid parameters"}, {}
        if self.impostor:  # knows nothing, accepts anything, cannot answer the client's challenge
            session["authenticated"] = True
            self.handshakes += 1
            return 200, {"retcode": "0 Done", "cli_rand_answer": secrets.token_hex(16)}, {}
        expected = rand_answer(self._digest, session["srv_rand"])
        if query.get("srv_rand_answer", "").lower() != expected or len(client_rand) != 16:
            with self._lock:
                self._sessions.pop(cookie or "", None)
            return 200, {"retcode": "3006 Invalid account password"}, {}
        session["authenticated"] = True
        self.handshakes += 1
        return 200, {"retcode": "0 Done", "cli_rand_answer": rand_answer(self._digest, client_rand)}, {}

    def _user_or_none(self, query_or_body: dict) -> dict | None:
        return self.users.get(str(query_or_body.get("login") or query_or_body.get("Login") or ""))

    def _route(self, method: str, path: str, query: dict, body: dict | None):
        done = {"retcode": "0 Done"}
        not_found = (200, {"retcode": "13 Not found"}, {})
        invalid = (200, {"retcode": "3 Invalid parameters"}, {})
        if path == "/api/test/access":
            return 200, done, {}
        if path == "/api/time/server":
            now = self._server_seconds()
            return 200, {**done, "answer": {"time": f"{now} {datetime.fromtimestamp(now, UTC):%Y.%m.%d %H:%M:%S}"}}, {}
        if path == "/api/group/get":
            currency = self.groups.get(query.get("group", ""))
            if currency is None:
                return not_found
            return 200, {**done, "answer": {"Group": query["group"], "Currency": currency}}, {}
        if path == "/api/user/add" and method == "POST":
            return self._user_create(body or {})
        if path == "/api/user/update" and method == "POST":
            user = self._user_or_none(body or {})
            if user is None:
                return not_found
            if body.get("Group") and body["Group"] not in self.groups:
                return invalid
            for key in ("Leverage", "Group", "Rights", "Name"):
                if key in body:
                    user[key] = int(body[key]) if key in ("Leverage", "Rights") else body[key]
            return 200, {**done, "answer": self._user_json(user)}, {}
        if path == "/api/user/get":
            user = self._user_or_none(query)
            return (200, {**done, "answer": self._user_json(user)}, {}) if user else not_found
        if path == "/api/user/account/get":
            user = self._user_or_none(query)
            return (200, {**done, "answer": self._account_json(user)}, {}) if user else not_found
        if path == "/api/trade/balance":
            return self._balance(query)
        if path in ("/api/deal/get_total", "/api/deal/get_page"):
            return self._paged(query, path.endswith("get_page"), self._deals_for(query), self._deal_json)
        if path in ("/api/position/get_total", "/api/position/get_page"):
            rows = [row for row in self.position_rows if row["Login"] == query.get("login")]
            return self._paged(query, path.endswith("get_page"), rows, self._position_json)
        return 404, {"retcode": "12002 Command doesn't supported"}, {}

    def _user_create(self, body: dict):
        login = str(body.get("Login", ""))
        if not login.isdigit() or body.get("Group") not in self.groups:
            return 200, {"retcode": "3 Invalid parameters"}, {}
        if not body.get("MainPassword") or not body.get("InvestPassword"):
            return 200, {"retcode": "3 Invalid parameters"}, {}
        if login in self.users:  # MT_RET_USR_LOGIN_EXIST
            return 200, {"retcode": "3004 Account already exists"}, {}
        user = self.user_add(login, group=body["Group"], leverage=int(body.get("Leverage") or 100))
        user["Name"] = body.get("Name", "")
        user["Rights"] = int(body.get("Rights") or 0x163)
        user["MainPassword"] = body["MainPassword"]
        fault, self.user_add_fault = self.user_add_fault, None
        if fault == "drop_answer":
            return 200, None, {}
        return 200, {"retcode": "0 Done", "answer": self._user_json(user)}, {}

    def _balance(self, query: dict):
        user = self._user_or_none(query)
        if user is None:
            return 200, {"retcode": "13 Not found"}, {}
        try:
            kind = int(query.get("type", ""))
            amount = Decimal(query.get("balance", ""))
        except (ValueError, ArithmeticError):
            return 200, {"retcode": "3 Invalid parameters"}, {}
        comment = query.get("comment", "")
        if kind not in (2, 3, 4, 5, 6) or not amount or len(comment) > 32:
            return 200, {"retcode": "3 Invalid parameters"}, {}
        fault, self.balance_fault = self.balance_fault, None
        if fault == "drop_request":
            return 200, None, {}
        if query.get("check_margin") == "1" and amount < 0:
            free = user["Balance"] + user["Credit"] + user["Floating"] - user["Margin"]
            if free + amount < 0:
                return 200, {"retcode": "10019 No money"}, {}
        row = self.deal_add(
            user["Login"], action=kind, entry=0, symbol="", lots="0", price="0", profit=str(amount), comment=comment
        )
        if fault == "drop_answer":
            return 200, None, {}
        return 200, {"retcode": "0 Done", "answer": {"ticket": _text(row["Deal"])}}, {}

    def _deals_for(self, query: dict) -> list[dict]:
        try:
            start, end = int(query.get("from", "")), int(query.get("to", ""))
        except ValueError:
            return []
        rows = [row for row in self.deal_rows if row["Login"] == query.get("login") and start <= row["Time"] <= end]
        return sorted(rows, key=lambda row: (row["Time"], row["Deal"]))

    def _paged(self, query: dict, page: bool, rows: list[dict], shown):
        if not page:
            return 200, {"retcode": "0 Done", "answer": {"total": _text(len(rows))}}, {}
        try:
            offset, total = int(query.get("offset", "0")), int(query.get("total", ""))
        except ValueError:
            return 200, {"retcode": "3 Invalid parameters"}, {}
        if total > MAX_PAGE or total < 1 or offset < 0:
            return 200, {"retcode": "3 Invalid parameters"}, {}
        return 200, {"retcode": "0 Done", "answer": [shown(row) for row in rows[offset : offset + total]]}, {}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client that gave up (a timeout test) leaves a broken pipe: expected, not news."""


def _handler_for(fake: FakeMt5):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # quiet
            pass

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
            body = None
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    body = {}
            cookie = None
            for chunk in (self.headers.get("Cookie") or "").split(";"):
                name, _, value = chunk.strip().partition("=")
                if name == COOKIE:
                    cookie = value
            status, document, headers = fake.handle(method, parts.path, query, body, cookie)
            if document is None:  # the answer is lost: close without a word
                self.close_connection = True
                return
            payload = document.encode() if isinstance(document, str) else json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):  # noqa: N802
            self._serve("GET")

        def do_POST(self):  # noqa: N802
            self._serve("POST")

    return Handler
