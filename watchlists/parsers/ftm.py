"""OpenSanctions entities in the FollowTheMoney format, one JSON object per line:
{"id", "schema", "caption", "target", "properties": {"name", "alias", "previousName", "birthDate",
"nationality", "citizenship", "topics", "programId", "sanctions": [...nested Sanction...], ...}}.

Only people, organisations, vessels and aircraft are entries; the other schemas in an export
(addresses, sanctions, family links) are skipped, and so are entities marked `"target": false`
(related to a listed one but not listed themselves). `weakAlias` is left out: OpenSanctions marks those
names as too short or generic to match on. Topic "role.pep" makes the entry a PEP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from watchlists.parsers.base import (
    ListEntry,
    ListFile,
    ParseNotes,
    WatchlistFileError,
    iso_country,
    iso_text_date,
)

KINDS = {
    "Person": "person",
    "Organization": "organisation",
    "Company": "organisation",
    "LegalEntity": "organisation",
    "PublicBody": "organisation",
    "Vessel": "vessel",
    "Airplane": "other",
}


def _values(properties: dict[str, Any], key: str) -> list[str]:
    value = properties.get(key) or []
    return [str(item) for item in value if isinstance(item, str | int)] if isinstance(value, list) else []


def _programs(properties: dict[str, Any]) -> list[str]:
    programs = _values(properties, "programId") + _values(properties, "program")
    for sanction in properties.get("sanctions") or []:
        if isinstance(sanction, dict):
            nested = sanction.get("properties") or {}
            programs += _values(nested, "programId") + _values(nested, "program")
    return programs


def parse_ftm_jsonl(files: list[ListFile], notes: ParseNotes) -> Iterator[ListEntry]:
    for file in files:
        with file.open() as stream:
            for line_number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                where = f"{file.name} line {line_number}"
                try:
                    entity = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError) as error:
                    raise WatchlistFileError(
                        f"{where} is not a JSON object ({error}); is this a FollowTheMoney JSON lines file?"
                    ) from None
                if not isinstance(entity, dict) or "schema" not in entity or "properties" not in entity:
                    raise WatchlistFileError(f"{where} is not a FollowTheMoney entity (no schema or properties).")
                schema = entity["schema"]
                if schema not in KINDS:
                    notes.skipped[f"schema {schema}, not a person or organisation"] += 1
                    continue
                if entity.get("target") is False:
                    notes.skipped["related to a listed entity, not listed itself (target false)"] += 1
                    continue
                properties = entity["properties"] if isinstance(entity["properties"], dict) else {}
                names = _values(properties, "name")
                topics = _values(properties, "topics")
                countries = _values(properties, "nationality") + _values(properties, "citizenship")
                notes.unknown_countries.update(code for code in countries if not iso_country(code))
                births = _values(properties, "birthDate")
                notes.unreadable_dates.update(text for text in births if not iso_text_date(text))
                yield ListEntry.build(
                    entry_id=entity.get("id"),
                    kind=KINDS[schema],
                    name=names[0] if names else entity.get("caption", ""),
                    aliases=names[1:] + _values(properties, "alias") + _values(properties, "previousName"),
                    dates_of_birth=[iso_text_date(text) for text in births],
                    nationalities=[iso_country(code) for code in countries],
                    programs=_programs(properties),
                    is_pep="role.pep" in topics,
                    remarks=f"Topics: {', '.join(topics)}" if topics else "",
                    where=where,
                )
