"""What a segment can filter on. crm registers criteria over client columns; payments and trading
register their own (balances, volume) in their AppConfig.ready(), so crm imports neither.

A criterion turns validated parameters into a Q over Client. Parameters are declared so the segment
editor can draw a form and the API can validate JSON with the same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db.models import Q

from brokerage.errors import ApplicationError
from brokerage.roles import perm

Choices = tuple[tuple[str, str], ...] | Callable[[], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    kind: str = "int"  # int | decimal | text | choice | multichoice
    # A tuple, or a callable read when the editor draws or validates (staff, currencies of the tenant).
    choices: Choices = ()
    minimum: int = 0
    maximum: int = 36_500  # days in a century: keeps datetime arithmetic in range

    def options(self) -> list[tuple[str, str]]:
        return list(self.choices() if callable(self.choices) else self.choices)


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str  # "Deposited in the last {days} days"
    build: Callable[..., Q]
    params: tuple[Param, ...] = field(default_factory=tuple)
    group: str = "Client"
    # Who may filter on it: a criterion over money or trading would let a viewer infer figures
    # (balances, volume) of clients whose money they may not see.
    capability: str = "crm_view_client"

    def allowed(self, user) -> bool:
        return user is None or user.has_perm(perm(self.capability))


_CRITERIA: dict[str, Criterion] = {}


def register_criterion(criterion: Criterion) -> None:
    _CRITERIA[criterion.key] = criterion


def criterion_get(key: str) -> Criterion | None:
    return _CRITERIA.get(key)


def criteria_available(user=None) -> list[Criterion]:
    """Every criterion, or those `user` may filter on."""
    return sorted((c for c in _CRITERIA.values() if c.allowed(user)), key=lambda c: (c.group, c.label))


def criteria_grouped(user=None) -> list[tuple[str, list[Criterion]]]:
    """For the editor's select: [(group, [criterion, ...]), ...] in group order."""
    groups: dict[str, list[Criterion]] = {}
    for criterion in criteria_available(user):
        groups.setdefault(criterion.group, []).append(criterion)
    return list(groups.items())


def _scalar(raw) -> bool:
    return isinstance(raw, (str, int)) and not isinstance(raw, bool)


def _clean_value(param: Param, raw):
    label = param.label
    numeric = isinstance(raw, (str, int, float, Decimal)) and not isinstance(raw, bool)
    if param.kind in ("int", "decimal") and raw is not None and not numeric:
        kind = "whole number" if param.kind == "int" else "number"
        raise ApplicationError(f"{label}: enter a {kind}.")
    if param.kind == "int":
        try:
            value = int(str(raw).strip())
        except (TypeError, ValueError):
            raise ApplicationError(f"{label}: enter a whole number.") from None
        if value < param.minimum:
            raise ApplicationError(f"{label}: must be at least {param.minimum}.")
        if value > param.maximum:
            raise ApplicationError(f"{label}: must be at most {param.maximum:,}.")
        return value
    if param.kind == "decimal":
        try:
            value = Decimal(str(raw).strip().replace(",", ""))
        except (InvalidOperation, TypeError):
            raise ApplicationError(f"{label}: enter a number like 1000 or 250.50.") from None
        if not value.is_finite() or value < 0 or value > Decimal("1e15"):
            raise ApplicationError(f"{label}: enter a number between 0 and 1,000,000,000,000,000.")
        return value
    if param.kind in ("choice", "multichoice"):
        allowed = {value for value, _ in param.options()}
        if param.kind == "choice":
            if not _scalar(raw) or str(raw) not in allowed:
                raise ApplicationError(f"{label}: choose one of the listed values.")
            raw = str(raw)
            if raw not in allowed:
                raise ApplicationError(f"{label}: choose one of the listed values.")
            return raw
        if isinstance(raw, str):
            values = [raw]
        elif raw is None:
            values = []
        elif isinstance(raw, list) and all(isinstance(v, str) for v in raw):
            values = list(raw)
        else:
            raise ApplicationError(f"{label}: choose from the listed values (a list of them).")
        if not values or any(v not in allowed for v in values):
            raise ApplicationError(f"{label}: choose at least one of the listed values.")
        return sorted(set(values), key=values.index)
    if raw is not None and not _scalar(raw):
        raise ApplicationError(f"{label}: enter a text.")
    text = " ".join(str(raw or "").split())
    if not text:
        raise ApplicationError(f"{label}: enter a value.")
    return text[:100]


NOT_ALLOWED = "This segment uses criteria you may not use"


def criteria_clean(criteria, actor=None) -> list[dict]:
    """Validate a segment's criteria JSON; returns it normalised (values typed, unknown keys refused).

    With `actor`, criteria needing a capability the actor lacks are refused (NOT_ALLOWED).

    Errors name the criterion and its position, and carry `criteria` plus `criteria_<n>` (n from 0)
    in `fields` so the editor can mark the row."""
    if not isinstance(criteria, list) or not criteria:
        raise ApplicationError("A segment needs at least one criterion.", fields={"criteria": ["Add a criterion."]})
    if len(criteria) > 20:
        raise ApplicationError("A segment takes at most 20 criteria.", fields={"criteria": ["Remove some criteria."]})
    cleaned = []
    for index, item in enumerate(criteria):
        if not isinstance(item, dict) or item.get("key") not in _CRITERIA:
            message = f"Criterion {index + 1}: unknown criterion {str(item.get('key') if isinstance(item, dict) else item)[:60]!r}."
            raise ApplicationError(message, fields={"criteria": [message], f"criteria_{index}": [message]})
        criterion = _CRITERIA[item["key"]]
        if not criterion.allowed(actor):
            message = f"{NOT_ALLOWED}: {criterion_title(criterion)}."
            raise ApplicationError(message, fields={"criteria": [message], f"criteria_{index}": [message]})
        raw = item.get("params") or {}
        if not isinstance(raw, dict):
            message = f"Criterion {index + 1} ({criterion_title(criterion)}): parameters must be an object."
            raise ApplicationError(message, fields={"criteria": [message], f"criteria_{index}": [message]})
        try:
            params = {p.name: _clean_value(p, raw.get(p.name)) for p in criterion.params}
        except ApplicationError as error:
            message = f"Criterion {index + 1} ({criterion_title(criterion)}): {error.message}"
            raise ApplicationError(message, fields={"criteria": [message], f"criteria_{index}": [message]}) from None
        cleaned.append(
            {"key": criterion.key, "params": {k: str(v) if isinstance(v, Decimal) else v for k, v in params.items()}}
        )
    return cleaned


def criteria_q(criteria: list[dict], actor=None) -> Q:
    """All criteria must hold. Validates again, so stored JSON that no longer passes raises."""
    query = Q()
    for item in criteria_clean(criteria, actor=actor):
        criterion = _CRITERIA[item["key"]]
        params = {}
        for p in criterion.params:
            value = item["params"][p.name]
            params[p.name] = Decimal(value) if p.kind == "decimal" else value
        query &= criterion.build(**params)
    return query


_PLACEHOLDERS = {"int": "N", "decimal": "X"}


def criterion_title(criterion: Criterion) -> str:
    """The label with placeholders for its parameters: "Volume above X lots in the last N days"."""
    try:
        return criterion.label.format(**{p.name: _PLACEHOLDERS.get(p.kind, "…") for p in criterion.params})
    except (KeyError, IndexError):
        return criterion.label


def _shown(param: Param, value) -> str:
    if param.kind in ("choice", "multichoice"):
        names = dict(param.options())
        values = value if isinstance(value, list) else [value]
        return ", ".join(str(names.get(v, v)) for v in values)
    if param.kind == "decimal":
        try:
            return f"{Decimal(value):,f}"
        except (InvalidOperation, TypeError, ValueError):
            return str(value)
    return str(value)


def criteria_describe(criteria: list[dict]) -> list[str]:
    lines = []
    for item in criteria if isinstance(criteria, list) else []:
        criterion = _CRITERIA.get(item.get("key")) if isinstance(item, dict) else None
        if criterion is None:
            lines.append(f"(criterion {item.get('key') if isinstance(item, dict) else item!r} no longer exists)")
            continue
        given = item.get("params") or {}
        values = {p.name: _shown(p, given.get(p.name, "?")) for p in criterion.params}
        try:
            lines.append(criterion.label.format(**values))
        except (KeyError, IndexError):
            lines.append(criterion.label)
    return lines
