"""Shared helpers for trading tests: an in-memory platform and accounts opened through the services."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from trading.connectors.base import (
    AccountState,
    DealData,
    InvalidLogin,
    NewAccount,
    NotEnoughMargin,
    PlatformUnavailable,
    PositionData,
)


class MemoryConnector:
    """A trading server in a dict: enough to test services, sync and pages without the simulator.

    One instance per test (see the `memory_platform` fixture); `down = True` makes every call fail
    like an unreachable server.
    """

    def __init__(self):
        self.accounts: dict[str, dict] = {}
        self.deal_list: list[DealData] = []
        self.position_list: list[PositionData] = []
        self.tickets = itertools.count(1000)
        self.down = False
        self.calls: list[str] = []

    def _reach(self, name: str) -> None:
        self.calls.append(name)
        if self.down:
            raise PlatformUnavailable("Connection refused (test)")

    def _account(self, login: str) -> dict:
        if login not in self.accounts:
            raise InvalidLogin(f"13 Not found: {login}")
        return self.accounts[login]

    def ping(self) -> None:
        self._reach("ping")

    def account_open(self, account: NewAccount) -> str:
        self._reach("account_open")
        self.accounts[account.login] = {
            "leverage": account.leverage,
            "group": account.group,
            "currency": account.currency,
            "balance": Decimal(0),
            "margin": Decimal(0),
            "enabled": True,
        }
        return account.login

    def account_update(self, login, *, leverage=None, group=None, enabled=None) -> None:
        self._reach("account_update")
        row = self._account(login)
        for key, value in (("leverage", leverage), ("group", group), ("enabled", enabled)):
            if value is not None:
                row[key] = value

    def account_state(self, login: str) -> AccountState:
        self._reach("account_state")
        row = self._account(login)
        free = row["balance"] - row["margin"]
        level = (row["balance"] / row["margin"] * 100).quantize(Decimal("0.01")) if row["margin"] else None
        return AccountState(
            login=login,
            balance=row["balance"],
            credit=Decimal(0),
            equity=row["balance"],
            margin=row["margin"],
            margin_free=free,
            margin_level=level,
            leverage=row["leverage"],
            group=row["group"],
            enabled=row["enabled"],
        )

    def balance_operation(self, login, amount, *, kind=2, comment="", check_margin=True) -> int:
        self._reach("balance_operation")
        row = self._account(login)
        if check_margin and amount < 0 and row["balance"] - row["margin"] + amount < 0:
            raise NotEnoughMargin("10019 No money")
        row["balance"] += amount
        ticket = next(self.tickets)
        self.deal_list.append(
            DealData(
                ticket=ticket,
                login=login,
                time=datetime.now(UTC),
                symbol="",
                action="balance",
                entry="in",
                volume=Decimal(0),
                price=Decimal(0),
                profit=amount,
                comment=comment,
            )
        )
        return ticket

    def trade(self, login: str, deal: DealData) -> DealData:
        """Book a trading deal (test helper): its money moves the balance like a real close would."""
        row = self._account(login)
        deal = replace(deal, ticket=next(self.tickets), login=login)
        row["balance"] += deal.profit + deal.commission + deal.swap + deal.fee
        self.deal_list.append(deal)
        return deal

    def deals(self, start, end, logins=None) -> list[DealData]:
        self._reach("deals")
        return [
            deal for deal in self.deal_list if start <= deal.time < end and (logins is None or deal.login in logins)
        ]

    def positions(self, logins=None) -> list[PositionData]:
        self._reach("positions")
        return [p for p in self.position_list if logins is None or p.login in logins]


def wallet_fund(client, amount: str, currency: str = "USD", reference: str = "test-funding"):
    """Put money in a client's wallet (from suspense), as a confirmed deposit would."""
    from payments import ledger

    wallet = ledger.wallet_for(client, currency)
    ledger.transaction_post(
        kind="adjustment",
        reference=reference,
        lines=[
            ledger.Line(ledger.system_account("suspense", currency), -Decimal(amount)),
            ledger.Line(wallet, Decimal(amount)),
        ],
    )
    return wallet


def deal(**fields) -> DealData:
    """A closing EURUSD buy deal with sensible defaults; override any field."""
    values = {
        "ticket": 0,
        "login": "",
        "time": datetime.now(UTC),
        "symbol": "EURUSD",
        "action": "buy",
        "entry": "out",
        "volume": Decimal("1.00"),
        "price": Decimal("1.08500"),
        "profit": Decimal("50.00"),
        "commission": Decimal("-3.50"),
    }
    values.update(fields)
    return DealData(**values)
