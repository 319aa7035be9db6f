"""Registered on import by trading.apps."""
