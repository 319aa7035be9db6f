"""What payments needs from a trading platform to move money to and from trading accounts.

The trading module implements `TradingGateway` for each platform connection
(simulator, MT5 Web API, ...) and registers it in its AppConfig.ready():

    gateway_register("mt5-live", Mt5Gateway(...), handles=lambda login: login.isdigit())

Payments never imports the trading module: it asks `gateway_for(login)`.

MT5 balance operations (`/api/trade/balance`) are not idempotent. Every call
carries our `operation_id` (at most 19 characters, e.g. "bo-3f2a9c0d1e4b5a6f");
the gateway must put it in the deal comment (MT5: at most 32 characters) so that
`find_operation` can look for it in the deal history. Payments calls
`balance_operation` at most once per transfer and, when the answer was lost,
asks `find_operation` before deciding anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from brokerage.errors import ApplicationError


class TradingGatewayError(ApplicationError):
    """The platform refused the operation for good: nothing was booked there."""

    code = "platform_refused"


class NotEnoughMargin(TradingGatewayError):
    """Taking the money out would leave less than the required margin (MT5 retcode 10019 "No money")."""

    code = "not_enough_margin"


class InvalidLogin(TradingGatewayError):
    """The platform does not know the account (MT5 retcode 13 "Not found")."""

    code = "invalid_login"


class PlatformUnavailable(ApplicationError):
    """Transient: timeout, connection lost, server busy. The operation may or may not have happened."""

    code = "platform_unavailable"
    http_status = 503


class GatewayNotConfigured(ApplicationError):
    code = "trading_unavailable"
    http_status = 503

    def __init__(self, login: str = ""):
        super().__init__(
            "Transfers to trading accounts are not available: no trading platform is connected"
            + (f" for account {login}." if login else ".")
        )


@dataclass(frozen=True)
class TradingAccountRef:
    """What payments must know of a trading account before moving money to it."""

    login: str
    client_id: int
    currency: str


@runtime_checkable
class TradingGateway(Protocol):
    def account(self, login: str) -> TradingAccountRef | None:
        """The account's owner (crm.Client id) and currency, or None if the platform has no such login."""

    def balance_operation(self, *, login: str, amount: Decimal, currency: str, comment: str, operation_id: str) -> str:
        """Book `amount` (positive: deposit, negative: withdrawal) and return the platform's reference.

        Raises NotEnoughMargin / InvalidLogin / TradingGatewayError when refused,
        PlatformUnavailable when it cannot tell.
        """

    def find_operation(self, *, login: str, operation_id: str) -> str | None:
        """The platform's reference of an earlier balance operation with this id, or None.

        Raises PlatformUnavailable when it cannot tell.
        """


@dataclass(frozen=True)
class _Registered:
    name: str
    gateway: TradingGateway
    handles: Callable[[str], bool]


_GATEWAYS: dict[str, _Registered] = {}


def gateway_register(name: str, gateway: TradingGateway, *, handles: Callable[[str], bool] | None = None) -> None:
    """Make a platform connection available; `handles(login)` says which logins are its (default: all)."""
    if not isinstance(gateway, TradingGateway):
        raise TypeError(f"{gateway!r} does not implement TradingGateway")
    _GATEWAYS[name] = _Registered(name, gateway, handles or (lambda login: True))


def gateway_unregister(name: str) -> None:
    _GATEWAYS.pop(name, None)


def gateways_available() -> bool:
    return bool(_GATEWAYS)


def gateway_for(login: str) -> TradingGateway:
    for registered in _GATEWAYS.values():
        if registered.handles(login):
            return registered.gateway
    raise GatewayNotConfigured(login)
