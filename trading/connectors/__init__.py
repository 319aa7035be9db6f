"""Connectors to trading servers, chosen by Platform.kind."""

from __future__ import annotations

from django.conf import settings

from trading.connectors.base import Connector, TradingGatewayError


class PlatformSwitchedOff(TradingGatewayError):
    code = "platform_switched_off"


def connector_for(platform) -> Connector:
    """The connector of a platform. Imports lazily: the MT5 client is only needed for MT5 platforms."""
    if platform.kind == "simulator":
        if platform.environment == "live" and not settings.TRADING_LIVE_SIMULATOR:
            raise PlatformSwitchedOff(
                f"{platform.name}: the built-in simulator cannot hold live accounts here (its profits would be "
                "booked as clients' money). Connect a real platform, or set BROKERAGE_TRADING_SIMULATOR=1 on a "
                "staging site."
            )
        from trading.simulator.connector import SimulatorConnector

        return SimulatorConnector(platform)
    if platform.kind == "mt5":
        from trading.connectors.mt5 import Mt5Connector

        return Mt5Connector(platform)
    raise ValueError(f"no connector for platform kind {platform.kind!r}")
