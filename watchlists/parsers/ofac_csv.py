"""OFAC SDN list in its CSV files: sdn.csv, with alt.csv (other names) and add.csv (addresses).

The files have no header; every field is quoted; "-0-" means empty. Which file is which is told by
its number of fields (sdn 12, alt 5, add 6), so their names do not matter. Dates of birth and
nationalities are only in sdn.csv's remarks: "DOB 01 Jan 1970; alt. DOB 1971; POB Tehran, Iran;
nationality Iran; citizen Iraq.". Programs look like "SDGT] [IRAN" when there are several.
The files are a few megabytes and alt/add rows must be joined to sdn rows anyway, so each is read whole.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterator

from watchlists.parsers.base import ListEntry, ListFile, ParseNotes, WatchlistFileError, clean, country_code
from watchlists.parsers.base import english_dates as dates_in

SDN_FIELDS, ALT_FIELDS, ADD_FIELDS = 12, 5, 6
KINDS = {"individual": "person", "vessel": "vessel", "aircraft": "other", "": "organisation"}
# A remark runs to the next ";" or sentence end; "Nationality of Registration" is a vessel's flag.
_END = r"\s*(?:;|\.\s|\.?$)"
_DOB = re.compile(r"\bDOB\s+([^;]+?)" + _END, re.IGNORECASE)
_NATIONALITY = re.compile(r"\b(?:nationality|citizen)\s+(?!of\b)([^;]+?)" + _END, re.IGNORECASE)


def _rows(file: ListFile) -> tuple[int, list[tuple[int, list[str]]]]:
    """The file's rows (line number, fields with "-0-" emptied) and their common field count."""
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    text = text.rstrip("\x1a\r\n ")  # OFAC ends its files with a DOS end-of-file mark
    rows, width = [], 0
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for fields in reader:
            if not any(field.strip() for field in fields):
                continue
            width = width or len(fields)
            if len(fields) != width or width not in (SDN_FIELDS, ALT_FIELDS, ADD_FIELDS):
                raise WatchlistFileError(
                    f"{file.name} line {reader.line_num}: {len(fields)} fields where an OFAC CSV row has "
                    f"{SDN_FIELDS} (sdn.csv), {ALT_FIELDS} (alt.csv) or {ADD_FIELDS} (add.csv); "
                    "is the file truncated, or in another format?"
                )
            rows.append((reader.line_num, ["" if field.strip() == "-0-" else clean(field) for field in fields]))
    except csv.Error as error:
        raise WatchlistFileError(f"{file.name} line {reader.line_num}: not valid CSV ({error}).") from None
    return width, rows


def parse_sdn_csv(files: list[ListFile], notes: ParseNotes) -> Iterator[ListEntry]:
    sdn: tuple[ListFile, list[tuple[int, list[str]]]] | None = None
    aliases: dict[str, list[str]] = defaultdict(list)
    addresses: dict[str, list[str]] = defaultdict(list)
    for file in files:
        width, rows = _rows(file)
        if width == SDN_FIELDS:
            if sdn is not None:
                raise WatchlistFileError(f"{sdn[0].name} and {file.name} are both sdn.csv files; give one.")
            sdn = (file, rows)
        elif width == ALT_FIELDS:
            for _, (ent_num, _alt_num, _alt_type, alt_name, _remarks) in rows:
                aliases[ent_num].append(alt_name)
        elif width == ADD_FIELDS:
            for _, (ent_num, _add_num, street, city, country, _remarks) in rows:
                addresses[ent_num].append(", ".join(part for part in (street, city, country) if part))
    if sdn is None:
        raise WatchlistFileError("No sdn.csv among the files: alt.csv and add.csv only add to it.")
    file, rows = sdn
    for line, fields in rows:
        ent_num, name, sdn_type, program, title = fields[:5]
        remarks = fields[11]
        where = f"{file.name} line {line}"
        if not ent_num.isdigit():
            raise WatchlistFileError(f"{where}: entry number {ent_num!r} is not a number; is this sdn.csv?")
        if sdn_type.casefold() not in KINDS:
            raise WatchlistFileError(f"{where}: unknown SDN type {sdn_type!r}.")
        extra = [f"Title: {title}"] if title else []
        extra += [f"Address: {address}" for address in addresses.get(ent_num, []) if address]
        yield ListEntry.build(
            entry_id=ent_num,
            kind=KINDS[sdn_type.casefold()],
            name=name,
            aliases=aliases.get(ent_num, []),
            dates_of_birth=[iso for text in _DOB.findall(remarks) for iso in dates_in(text, notes)],
            nationalities=[country_code(text, notes) for text in _NATIONALITY.findall(remarks)],
            programs=[part.strip("[] ") for part in re.split(r"\]\s*\[", program)],
            remarks="; ".join(filter(None, [remarks.rstrip("."), *extra])),
            where=where,
        )
