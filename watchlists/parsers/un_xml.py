"""UN Security Council consolidated list: <CONSOLIDATED_LIST> with <INDIVIDUALS><INDIVIDUAL> and
<ENTITIES><ENTITY>. A person's name is FIRST_NAME to FOURTH_NAME in order; NAME_ORIGINAL_SCRIPT
(Arabic, Korean, ...) and each INDIVIDUAL_ALIAS / ENTITY_ALIAS ALIAS_NAME are aliases (of either
quality, "Good" or "Low"). Dates of birth are a DATE, a YEAR, or FROM_YEAR..TO_YEAR; nationalities are
country names in NATIONALITY/VALUE. The entry id is the UN reference number ("QDi.001").
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

from watchlists.parsers.base import (
    ListEntry,
    ListFile,
    ParseNotes,
    clean,
    country_code,
    iso_date,
    iso_text_date,
    text_of,
    texts_of,
    xml_records,
    year_range,
)

NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")


def _dates(record: Element, notes: ParseNotes) -> list[str]:
    found = []
    for element in record.findall("INDIVIDUAL_DATE_OF_BIRTH"):
        date_text, year = text_of(element, "DATE"), text_of(element, "YEAR")
        first, last = text_of(element, "FROM_YEAR"), text_of(element, "TO_YEAR")
        if date_text:
            dates = [iso_text_date(date_text)]
        elif year:
            dates = [iso_date(year)]
        elif first and last:
            dates = year_range(first, last)
        else:
            continue
        if not dates or not all(dates):
            notes.unreadable_dates[date_text or year or f"{first} to {last}"] += 1
        found += [iso for iso in dates if iso]
    return found


def parse_un_xml(files: list[ListFile], notes: ParseNotes) -> Iterator[ListEntry]:
    for file in files:
        records = xml_records(
            file, root="CONSOLIDATED_LIST", records={"INDIVIDUAL", "ENTITY"}, label="a UN consolidated list"
        )
        for record in records:
            is_person = record.tag == "INDIVIDUAL"
            entry_id = text_of(record, "REFERENCE_NUMBER") or text_of(record, "DATAID")
            alias_tag = "INDIVIDUAL_ALIAS" if is_person else "ENTITY_ALIAS"
            yield ListEntry.build(
                entry_id=entry_id,
                kind="person" if is_person else "organisation",
                name=clean(" ".join(text_of(record, part) for part in NAME_PARTS)),
                aliases=[text_of(record, "NAME_ORIGINAL_SCRIPT"), *texts_of(record, f"{alias_tag}/ALIAS_NAME")],
                dates_of_birth=_dates(record, notes),
                nationalities=[country_code(name, notes) for name in texts_of(record, "NATIONALITY/VALUE")],
                programs=texts_of(record, "UN_LIST_TYPE"),
                remarks=text_of(record, "COMMENTS1"),
                where=f"{file.name} {record.tag} {entry_id or '(no reference number)'}",
            )
