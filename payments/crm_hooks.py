"""Registered on import by payments.apps."""
