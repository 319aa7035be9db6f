"""Keyset pages over deals, newest first: no COUNT and no OFFSET, so page 10,000 costs what page 1 does.

A cursor is "<time as ISO 8601>~<id>" of the row a page ends (older) or starts (newer) at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet


@dataclass
class KeysetPage:
    rows: list
    older: str = ""  # cursor for the next (older) page, "" when there is none
    newer: str = ""  # cursor for the previous (newer) page, "" on the first page

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def cursor_of(row) -> str:
    return f"{row.time.isoformat()}~{row.pk}"


def cursor_parse(text: str) -> tuple[datetime, int] | None:
    """A cursor's (time, id), or None for anything malformed (then the first page is shown)."""
    stamp, _, pk = (text or "").partition("~")
    try:
        when = datetime.fromisoformat(stamp)
        number = int(pk)
    except ValueError:
        return None
    return (when, number) if when.tzinfo is not None else None


def keyset_page(rows: QuerySet, *, after: str = "", before: str = "", size: int = 50) -> KeysetPage:
    """One page of `rows` (ordered by time and id, newest first): the one after (older than) cursor
    `after`, or the one before (newer than) cursor `before`, or the newest."""
    older_than, newer_than = cursor_parse(after), cursor_parse(before)
    if newer_than is not None:
        when, pk = newer_than
        found = list(rows.filter(Q(time__gt=when) | Q(time=when, pk__gt=pk)).order_by("time", "id")[: size + 1])
        has_newer = len(found) > size
        found = list(reversed(found[:size]))
        return KeysetPage(
            found, older=cursor_of(found[-1]) if found else "", newer=cursor_of(found[0]) if has_newer and found else ""
        )
    if older_than is not None:
        when, pk = older_than
        rows = rows.filter(Q(time__lt=when) | Q(time=when, pk__lt=pk))
    found = list(rows.order_by("-time", "-id")[: size + 1])
    has_older = len(found) > size
    found = found[:size]
    return KeysetPage(
        found,
        older=cursor_of(found[-1]) if has_older else "",
        newer=cursor_of(found[0]) if older_than is not None and found else "",
    )
