"""Connectors to trading servers, chosen by Platform.kind."""

from __future__ import annotations

from trading.connectors.base import Connector


def connector_for(platform) -> Connector:
    """The connector of a platform. Imports lazily: the MT5 client is only needed for MT5 platforms."""
    if platform.kind == "simulator":
        from trading.simulator.connector import SimulatorConnector

        return SimulatorConnector(platform)
    if platform.kind == "mt5":
        from trading.connectors.mt5 import Mt5Connector

        return Mt5Connector(platform)
    raise ValueError(f"no connector for platform kind {platform.kind!r}")
