"""Ops pages; see crm/urls."""
