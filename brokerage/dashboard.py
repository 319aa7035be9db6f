"""Figures on the ops dashboard, supplied by each app so the kernel imports none of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from brokerage.roles import perm


@dataclass(frozen=True)
class Card:
    title: str
    capability: str
    value: Callable[[], object]
    url_name: str = ""
    order: int = 50


_CARDS: list[Card] = []


def register_card(card: Card) -> None:
    perm(card.capability)
    if all(existing.title != card.title for existing in _CARDS):
        _CARDS.append(card)
        _CARDS.sort(key=lambda c: (c.order, c.title))


def cards_for(request) -> list[dict]:
    from django.urls import reverse

    return [
        {"title": card.title, "value": card.value(), "url": reverse(card.url_name) if card.url_name else ""}
        for card in _CARDS
        if request.user.has_perm(perm(card.capability))
    ]
