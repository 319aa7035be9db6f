"""Navigation of the three portals, filled by each app in its AppConfig.ready().

Keeps the layering: the kernel draws the menus without importing the apps.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from brokerage.roles import perm


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    capability: str
    order: int = 50

    @property
    def url(self) -> str:
        return reverse(self.url_name)


_MENUS: dict[str, list[NavItem]] = {"ops": [], "portal": [], "partners": []}


def _register(menu: str, items: tuple[NavItem, ...]) -> None:
    for item in items:
        perm(item.capability)  # fail at start-up on a typo, not on a page view
        if item not in _MENUS[menu]:
            _MENUS[menu].append(item)
    _MENUS[menu].sort(key=lambda i: (i.order, i.label))


def register_ops(*items: NavItem) -> None:
    _register("ops", items)


def register_portal(*items: NavItem) -> None:
    _register("portal", items)


def register_partners(*items: NavItem) -> None:
    _register("partners", items)


def menu_for(menu: str, user) -> list[NavItem]:
    return [item for item in _MENUS[menu] if user.has_perm(perm(item.capability))]
