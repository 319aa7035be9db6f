"""Registered on import by crm.apps."""
