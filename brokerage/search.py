"""The global search box: each app answers for what it holds (clients, logins, references).

Providers register in their AppConfig.ready(); `search_all` asks those the user may use, each
bounded to a few hits, so one box serves every role without the kernel importing an app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from brokerage.roles import perm


@dataclass(frozen=True)
class SearchHit:
    kind: str  # "Client", "Trading account", "Deposit", ...
    label: str
    detail: str
    url: str
    # The query named this one thing (a login, a reference, an email): Enter opens it directly.
    exact: bool = False


@dataclass(frozen=True)
class SearchProvider:
    name: str
    capability: str
    # (query, user, limit) -> hits; must apply the user's object-level limits itself.
    find: Callable[[str, object, int], list[SearchHit]]
    order: int = 50


_PROVIDERS: dict[str, SearchProvider] = {}


def register_search(provider: SearchProvider) -> None:
    perm(provider.capability)
    _PROVIDERS[provider.name] = provider


def search_all(query: str, user, *, limit: int = 8) -> list[tuple[str, list[SearchHit]]]:
    query = query.strip()[:100]
    if len(query) < 2:
        return []
    groups = []
    for provider in sorted(_PROVIDERS.values(), key=lambda p: p.order):
        if user.has_perm(perm(provider.capability)):
            hits = provider.find(query, user, limit)
            if hits:
                groups.append((provider.name, hits))
    return groups


def search_jump(groups: list[tuple[str, list[SearchHit]]]) -> str:
    """Where Enter goes: the one exact hit (a login, a reference, an email); "" when there is none or
    several, and the person chooses from the list."""
    exact = [hit for _, hits in groups for hit in hits if hit.exact]
    return exact[0].url if len(exact) == 1 else ""
