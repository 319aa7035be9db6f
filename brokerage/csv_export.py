"""CSV downloads: streamed row by row (memory stays flat for millions of rows), with text cells a
spreadsheet cannot run as a formula."""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse
from django.utils import timezone


def csv_safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    """A file whose write returns what it was given: csv.writer then yields lines to stream."""

    def write(self, value: str) -> str:
        return value


def csv_download(name: str, header: list[str], rows: Iterable[list]) -> StreamingHttpResponse:
    """`rows` is read lazily while the response streams; the file is called <name>-<today>.csv."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.localdate():%Y-%m-%d}.csv"'
    return response
