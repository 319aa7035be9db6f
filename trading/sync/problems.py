"""SyncProblem rows: one open row per (platform, kind, subject), counted up while it keeps happening."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.utils import timezone

from trading.models import Platform, SyncProblem

Kind = SyncProblem.Kind

_UPSERT = """
    INSERT INTO trading_syncproblem (platform_id, kind, subject, message, occurrences, first_seen_at, last_seen_at)
    VALUES (%s, %s, %s, %s, %s, now(), now())
    ON CONFLICT (platform_id, kind, subject) WHERE resolved_at IS NULL
    DO UPDATE SET occurrences = trading_syncproblem.occurrences + EXCLUDED.occurrences,
                  message = EXCLUDED.message, last_seen_at = now()
"""


def problem_raise(platform: Platform, kind: str, subject: str, message: str, *, count: int = 1) -> None:
    """Open the problem, or count it again on the open row (a single upsert: safe under concurrency)."""
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [platform.pk, kind, str(subject)[:100], message[:500], count])


def problems_raise(platform: Platform, problems: Iterable[tuple[str, str, str]]) -> int:
    """Raise many (kind, subject, message) problems; repeats in one call are counted on one row."""
    grouped: dict[tuple[str, str], list] = {}
    for kind, subject, message in problems:
        key = (kind, str(subject)[:100])
        if key in grouped:
            grouped[key][1] += 1
        else:
            grouped[key] = [message, 1]
    # Sorted, so that two batches raising the same problems lock their rows in the same order.
    for (kind, subject), (message, count) in sorted(grouped.items()):
        problem_raise(platform, kind, subject, message, count=count)
    return sum(count for _, count in grouped.values())


def problem_resolve(platform: Platform, kind: str, subject: str | None = None) -> int:
    """Close the open problem(s) of a kind (one subject, or all of them); returns how many closed."""
    rows = SyncProblem.objects.filter(platform=platform, kind=kind, resolved_at__isnull=True)
    if subject is not None:
        rows = rows.filter(subject=str(subject)[:100])
    return rows.update(resolved_at=timezone.now())
