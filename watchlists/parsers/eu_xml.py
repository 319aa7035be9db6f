"""EU consolidated financial sanctions list (the FSF XML export): <export><sanctionEntity> with
attributes euReferenceNumber and logicalId, and children subjectType@code, nameAlias (wholeName or
firstName/middleName/lastName, one per spelling and language), birthdate (birthdate, or year /
monthOfYear / dayOfMonth), citizenship@countryIso2Code, regulation@programme and remark.

The first nameAlias is the entry's name, the others its aliases.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

from watchlists.parsers.base import (
    ListEntry,
    ListFile,
    ParseNotes,
    WatchlistFileError,
    clean,
    iso_country,
    iso_date,
    iso_text_date,
    texts_of,
    xml_records,
)

KINDS = {"person": "person", "enterprise": "organisation", "vessel": "vessel"}


def _whole_name(alias: Element) -> str:
    whole = clean(alias.get("wholeName"))
    if whole:
        return whole
    return clean(" ".join(alias.get(part, "") for part in ("firstName", "middleName", "lastName")))


def _birthdate(element: Element, notes: ParseNotes) -> str:
    full = element.get("birthdate", "")
    if full:
        found = iso_text_date(full)
    else:
        found = iso_date(
            element.get("year"),
            element.get("monthOfYear") or element.get("month"),
            element.get("dayOfMonth") or element.get("day"),
        )
    if not found and (full or element.get("year")):
        notes.unreadable_dates[full or element.get("year", "")] += 1
    return found


def parse_eu_xml(files: list[ListFile], notes: ParseNotes) -> Iterator[ListEntry]:
    for file in files:
        records = xml_records(file, root="export", records={"sanctionEntity"}, label="an EU consolidated list")
        for record in records:
            entry_id = record.get("euReferenceNumber") or record.get("logicalId")
            where = f"{file.name} sanctionEntity {entry_id or '(no reference)'}"
            subject = record.find("subjectType")
            code = clean(subject.get("code") if subject is not None else "").casefold()
            if code not in KINDS:
                raise WatchlistFileError(f"{where}: unknown subjectType {code!r}.")
            names = [_whole_name(alias) for alias in record.findall("nameAlias")]
            names = [name for name in names if name]
            yield ListEntry.build(
                entry_id=entry_id,
                kind=KINDS[code],
                name=names[0] if names else "",
                aliases=names[1:],
                dates_of_birth=[_birthdate(element, notes) for element in record.findall("birthdate")],
                nationalities=[
                    iso_country(element.get("countryIso2Code", "")) for element in record.findall("citizenship")
                ],
                programs=[element.get("programme", "") for element in record.findall("regulation")],
                remarks="; ".join(texts_of(record, "remark")),
                where=where,
            )
