"""One interface for every trading server. The simulator and the MT5 Web API client implement it;
everything else (services, sync, payments' gateway) talks only to it.

Errors: the typed errors of payments.trading_gateway, so a refusal reads the same everywhere:
InvalidLogin (no such account), NotEnoughMargin (balance operation beyond free margin),
TradingGatewayError (any other refusal, nothing happened), PlatformUnavailable (no answer:
it may or may not have happened). LoginTaken (a TradingGatewayError) is the one refusal a caller
can work around: the login asked for already exists on the server, so another one may be tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from payments.trading_gateway import InvalidLogin, NotEnoughMargin, PlatformUnavailable, TradingGatewayError

__all__ = [
    "AccountState",
    "BalanceKind",
    "Connector",
    "DealData",
    "InvalidLogin",
    "LoginTaken",
    "NewAccount",
    "NotEnoughMargin",
    "PlatformUnavailable",
    "PositionData",
    "TradingGatewayError",
]


class LoginTaken(TradingGatewayError):
    """account_open: the server already has an account with this login (ours from an open whose answer
    was lost, or one another manager created). Nothing was created; try another login."""

    code = "login_taken"


class BalanceKind:
    """Balance operation types, numbered as MT5's /api/trade/balance `type`."""

    BALANCE = 2
    CREDIT = 3
    CHARGE = 4
    CORRECTION = 5
    BONUS = 6


@dataclass(frozen=True)
class NewAccount:
    login: str
    name: str
    group: str
    leverage: int
    currency: str
    # Initial trader password where the platform needs one (MT5); never stored by us.
    password: str = ""


@dataclass(frozen=True)
class AccountState:
    login: str
    balance: Decimal
    credit: Decimal
    equity: Decimal
    margin: Decimal
    margin_free: Decimal
    margin_level: Decimal | None
    leverage: int | None = None
    group: str | None = None
    enabled: bool | None = None


@dataclass(frozen=True)
class DealData:
    """A deal as the platform reports it; `action`/`entry` use trading.models.Deal's choice values."""

    ticket: int
    login: str
    time: datetime
    symbol: str
    action: str
    entry: str
    volume: Decimal
    price: Decimal
    profit: Decimal
    commission: Decimal = Decimal(0)
    swap: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    comment: str = ""
    order: int | None = None
    position_id: int | None = None


@dataclass(frozen=True)
class PositionData:
    ticket: int
    login: str
    symbol: str
    side: str
    volume: Decimal
    open_price: Decimal
    current_price: Decimal
    profit: Decimal
    swap: Decimal
    opened_at: datetime


class Connector(Protocol):
    def ping(self) -> None:
        """Reach the server (and authenticate); raise PlatformUnavailable / TradingGatewayError if not."""

    def account_open(self, account: NewAccount) -> str:
        """Create the account and return its login (the one asked for, or the one the server chose)."""

    def account_update(
        self, login: str, *, leverage: int | None = None, group: str | None = None, enabled: bool | None = None
    ) -> None: ...

    def account_state(self, login: str) -> AccountState: ...

    def balance_operation(
        self,
        login: str,
        amount: Decimal,
        *,
        kind: int = BalanceKind.BALANCE,
        comment: str = "",
        check_margin: bool = True,
    ) -> int:
        """Book a balance operation (negative: withdrawal) and return its deal ticket."""

    def deals(self, start: datetime, end: datetime, logins: list[str] | None = None) -> list[DealData]:
        """Deals with start <= time < end (all pages), for the given logins or every account."""

    def positions(self, logins: list[str] | None = None) -> list[PositionData]:
        """Every open position, for the given logins or every account."""
