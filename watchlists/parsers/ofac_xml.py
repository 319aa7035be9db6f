"""OFAC SDN list as XML (sdn.xml): <sdnList><sdnEntry> with uid, lastName, firstName, sdnType,
programList, akaList, dateOfBirthList, nationalityList, citizenshipList, addressList, remarks.

Names are written "LASTNAME, Firstname" like the CSV files, so loading the same list from either
format gives the same entries (and the same content hashes).
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

from watchlists.parsers.base import (
    ListEntry,
    ListFile,
    ParseNotes,
    WatchlistFileError,
    country_code,
    english_dates,
    text_of,
    texts_of,
    xml_records,
)

KINDS = {"individual": "person", "entity": "organisation", "vessel": "vessel", "aircraft": "other"}


def _name(element: Element) -> str:
    last, first = text_of(element, "lastName"), text_of(element, "firstName")
    return f"{last}, {first}" if last and first else last or first


def parse_sdn_xml(files: list[ListFile], notes: ParseNotes) -> Iterator[ListEntry]:
    for file in files:
        for record in xml_records(file, root="sdnList", records={"sdnEntry"}, label="an OFAC SDN XML file"):
            uid = text_of(record, "uid")
            where = f"{file.name} sdnEntry {uid or '(no uid)'}"
            sdn_type = text_of(record, "sdnType").casefold()
            if sdn_type not in KINDS:
                raise WatchlistFileError(f"{where}: unknown sdnType {sdn_type!r}.")
            countries = texts_of(record, "nationalityList/nationality/country")
            countries += texts_of(record, "citizenshipList/citizenship/country")
            addresses = [
                ", ".join(filter(None, (text_of(address, tag) for tag in ("address1", "city", "country"))))
                for address in record.findall("addressList/address")
            ]
            title = text_of(record, "title")
            remarks = [text_of(record, "remarks")] + ([f"Title: {title}"] if title else [])
            remarks += [f"Address: {address}" for address in addresses if address]
            yield ListEntry.build(
                entry_id=uid,
                kind=KINDS[sdn_type],
                name=_name(record),
                aliases=[_name(aka) for aka in record.findall("akaList/aka")],
                dates_of_birth=[
                    iso
                    for text in texts_of(record, "dateOfBirthList/dateOfBirthItem/dateOfBirth")
                    for iso in english_dates(text, notes)
                ],
                nationalities=[country_code(name, notes) for name in countries],
                programs=texts_of(record, "programList/program"),
                remarks="; ".join(filter(None, remarks)),
                where=where,
            )
