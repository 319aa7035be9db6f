"""Fixtures of the trading tests."""

import pytest

from tests.trading.support import MemoryConnector
from trading.defaults import trading_defaults_ensure


@pytest.fixture
def memory_platform(monkeypatch, in_alpha):
    """Tenant alpha's platforms all answer from one MemoryConnector (returned)."""
    trading_defaults_ensure()
    connector = MemoryConnector()
    monkeypatch.setattr("trading.platforms.connector_for", lambda platform: connector)
    return connector
