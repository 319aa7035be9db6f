"""Panels of the client 360 page, supplied by the modules below crm so crm imports none of them.

A module registers a Panel in its AppConfig.ready(); the page shows the panels whose capability
the viewer holds, in `order`, each rendering `template` with `context(client)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from brokerage.roles import perm


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    capability: str
    template: str
    context: Callable[[object], dict]
    order: int = 50


_PANELS: dict[str, Panel] = {}


def register_panel(panel: Panel) -> None:
    perm(panel.capability)
    _PANELS[panel.key] = panel


def panels_for(user, client) -> list[dict]:
    shown = sorted((p for p in _PANELS.values() if user.has_perm(perm(p.capability))), key=lambda p: p.order)
    return [{"key": p.key, "title": p.title, "template": p.template, **p.context(client)} for p in shown]
