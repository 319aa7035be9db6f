from django.apps import AppConfig


class WatchlistsConfig(AppConfig):
    """Sanctions and PEP lists, loaded once for the whole platform (public schema) and read by every
    tenant's KYC screening."""

    name = "watchlists"
