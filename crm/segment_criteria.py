"""What a segment can filter on. crm registers criteria over client columns; payments and trading
register their own (balances, volume) in their AppConfig.ready(), so crm imports neither.

A criterion turns validated parameters into a Q over Client. Parameters are declared so the segment
editor can draw a form and the API can validate JSON with the same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db.models import Q

from brokerage.errors import ApplicationError


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    kind: str = "int"  # int | decimal | text | choice | multichoice
    choices: tuple[tuple[str, str], ...] = ()
    minimum: int = 0


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str  # "Deposited in the last {days} days"
    build: Callable[..., Q]
    params: tuple[Param, ...] = field(default_factory=tuple)
    group: str = "Client"


_CRITERIA: dict[str, Criterion] = {}


def register_criterion(criterion: Criterion) -> None:
    _CRITERIA[criterion.key] = criterion


def criteria_available() -> list[Criterion]:
    return sorted(_CRITERIA.values(), key=lambda c: (c.group, c.label))


def _clean_value(param: Param, raw):
    label = param.label
    if param.kind == "int":
        try:
            value = int(str(raw).strip())
        except (TypeError, ValueError):
            raise ApplicationError(f"{label}: enter a whole number.") from None
        if value < param.minimum:
            raise ApplicationError(f"{label}: must be at least {param.minimum}.")
        return value
    if param.kind == "decimal":
        try:
            value = Decimal(str(raw).strip())
        except (InvalidOperation, TypeError):
            raise ApplicationError(f"{label}: enter an amount like 1000 or 250.50.") from None
        if not value.is_finite() or value < 0 or value > Decimal("1e15"):
            raise ApplicationError(f"{label}: enter an amount between 0 and 1,000,000,000,000,000.")
        return value
    allowed = {value for value, _ in param.choices}
    if param.kind == "choice":
        if raw not in allowed:
            raise ApplicationError(f"{label}: choose one of the listed values.")
        return raw
    if param.kind == "multichoice":
        values = [raw] if isinstance(raw, str) else list(raw or [])
        if not values or any(v not in allowed for v in values):
            raise ApplicationError(f"{label}: choose at least one of the listed values.")
        return values
    text = str(raw or "").strip()
    if not text:
        raise ApplicationError(f"{label}: enter a value.")
    return text[:100]


def criteria_clean(criteria) -> list[dict]:
    """Validate a segment's criteria JSON; returns it normalised (values typed, unknown keys refused)."""
    if not isinstance(criteria, list) or not criteria:
        raise ApplicationError("A segment needs at least one criterion.", fields={"criteria": ["Add a criterion."]})
    cleaned = []
    for item in criteria:
        if not isinstance(item, dict) or item.get("key") not in _CRITERIA:
            raise ApplicationError("Unknown criterion.", fields={"criteria": [f"Unknown criterion: {item!r:.60}"]})
        criterion = _CRITERIA[item["key"]]
        raw = item.get("params") or {}
        if not isinstance(raw, dict):
            raise ApplicationError("Criterion parameters must be an object.", fields={"criteria": [criterion.label]})
        try:
            params = {p.name: _clean_value(p, raw.get(p.name)) for p in criterion.params}
        except ApplicationError as error:
            raise ApplicationError(error.message, fields={"criteria": [error.message]}) from None
        cleaned.append(
            {"key": criterion.key, "params": {k: str(v) if isinstance(v, Decimal) else v for k, v in params.items()}}
        )
    return cleaned


def criteria_q(criteria: list[dict]) -> Q:
    """All criteria must hold. Expects criteria that went through `criteria_clean`."""
    query = Q()
    for item in criteria_clean(criteria):
        criterion = _CRITERIA[item["key"]]
        params = {}
        for p in criterion.params:
            value = item["params"][p.name]
            params[p.name] = Decimal(value) if p.kind == "decimal" else value
        query &= criterion.build(**params)
    return query


def criteria_describe(criteria: list[dict]) -> list[str]:
    lines = []
    for item in criteria:
        criterion = _CRITERIA.get(item.get("key"))
        if criterion is None:
            lines.append(f"(criterion {item.get('key')!r} no longer exists)")
            continue
        values = {k: (", ".join(v) if isinstance(v, list) else v) for k, v in (item.get("params") or {}).items()}
        try:
            lines.append(criterion.label.format(**values))
        except (KeyError, IndexError):
            lines.append(criterion.label)
    return lines
