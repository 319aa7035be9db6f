"""Parsers of the published list formats, by the name `load_watchlist --format` takes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from watchlists.parsers.base import ListEntry, ListFile, ParseNotes, WatchlistFileError
from watchlists.parsers.eu_xml import parse_eu_xml
from watchlists.parsers.ftm import parse_ftm_jsonl
from watchlists.parsers.ofac_csv import parse_sdn_csv
from watchlists.parsers.ofac_xml import parse_sdn_xml
from watchlists.parsers.un_xml import parse_un_xml

Parser = Callable[[list[ListFile], ParseNotes], Iterator[ListEntry]]

FORMATS: dict[str, Parser] = {
    "sdn_csv": parse_sdn_csv,
    "sdn_xml": parse_sdn_xml,
    "eu_xml": parse_eu_xml,
    "un_xml": parse_un_xml,
    "ftm_jsonl": parse_ftm_jsonl,
}

# The formats each source publishes. Loading a source from another format would change every
# entry id (OpenSanctions numbers OFAC's entries its own way) and look like a whole new list.
SOURCE_FORMATS: dict[str, set[str]] = {
    "ofac_sdn": {"sdn_csv", "sdn_xml"},
    "eu": {"eu_xml"},
    "un": {"un_xml"},
    "opensanctions": {"ftm_jsonl"},
    "demo": set(FORMATS),
}

__all__ = ["FORMATS", "SOURCE_FORMATS", "ListEntry", "ListFile", "ParseNotes", "WatchlistFileError", "entries_parse"]


def entries_parse(format: str, files: list[ListFile], notes: ParseNotes) -> Iterator[ListEntry]:
    if format not in FORMATS:
        raise WatchlistFileError(f"Unknown list format {format!r}; one of: {', '.join(FORMATS)}.")
    return FORMATS[format](files, notes)
