"""The built-in simulator behind the Connector interface: the back office talks to it as to MT5."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import DatabaseError

from trading.connectors.base import (
    AccountState,
    BalanceKind,
    DealData,
    NewAccount,
    PlatformUnavailable,
    PositionData,
)
from trading.models import Platform, SimAccount
from trading.simulator import engine


class SimulatorConnector:
    """One simulator platform (sim-live, sim-demo, ...): its accounts live in the tenant's schema."""

    def __init__(self, platform: Platform):
        self.platform = platform

    def ping(self) -> None:
        """The simulator runs in our database: it answers whenever the database does."""
        try:
            SimAccount.objects.filter(platform=self.platform).exists()
        except DatabaseError as error:
            raise PlatformUnavailable(f"Simulator database unreachable: {error}") from error

    def account_open(self, account: NewAccount) -> str:
        return engine.account_open(self.platform, account)

    def account_update(
        self, login: str, *, leverage: int | None = None, group: str | None = None, enabled: bool | None = None
    ) -> None:
        engine.account_update(self.platform, login, leverage=leverage, group=group, enabled=enabled)

    def account_state(self, login: str) -> AccountState:
        return engine.account_state(self.platform, login)

    def balance_operation(
        self,
        login: str,
        amount: Decimal,
        *,
        kind: int = BalanceKind.BALANCE,
        comment: str = "",
        check_margin: bool = True,
    ) -> int:
        return engine.balance_operation(
            self.platform, login, amount, kind=kind, comment=comment, check_margin=check_margin
        )

    def deals(self, start: datetime, end: datetime, logins: list[str] | None = None) -> list[DealData]:
        return engine.deals(self.platform, start, end, logins)

    def positions(self, logins: list[str] | None = None) -> list[PositionData]:
        return engine.positions(self.platform, logins)

    # Trading (not part of Connector: clients trade on the platform, not through the back office).

    def order_market(self, login: str, symbol_name: str, side: str, volume: Decimal, *, comment: str = ""):
        return engine.order_market(self.platform, login, symbol_name, side, volume, comment=comment)

    def position_close(self, ticket: int, *, comment: str = ""):
        return engine.position_close(self.platform, ticket, comment=comment)
