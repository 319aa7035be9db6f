"""What every list parser yields, and the pieces they share (files, dates, countries, safe XML).

A parser turns the files of one published list into `ListEntry` objects, one per listed person or
organisation, streaming: it never needs the whole list in memory. Anything it cannot read is a
`WatchlistFileError` naming the file and, where it can, the line or record.
"""

from __future__ import annotations

import calendar
import contextlib
import functools
import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET
from django_countries import countries

from brokerage.errors import ApplicationError

NAME_MAX = 300
ENTRY_ID_MAX = 100
# A date-of-birth range ("1955 to 1958") becomes one entry per year; longer ranges say too little.
YEAR_RANGE_MAX = 15

# Country names the lists use that django-countries does not know by that name.
COUNTRY_ALIASES = {
    "burma": "MM",
    "democratic people's republic of korea": "KP",
    "korea, democratic people's republic of": "KP",
    "republic of korea": "KR",
    "korea, south": "KR",
    "palestinian": "PS",
    "state of palestine": "PS",
    "palestinian territories": "PS",
    "united states": "US",
    "usa": "US",
    "republic of moldova": "MD",
    "united republic of tanzania": "TZ",
    "cote d'ivoire": "CI",
    "ivory coast": "CI",
    "the former yugoslav republic of macedonia": "MK",
    "macedonia": "MK",
    "swaziland": "SZ",
    "cape verde": "CV",
}


class WatchlistFileError(ApplicationError):
    """A list file that cannot be loaded: empty, malformed, of another format, or unsafe."""

    code = "watchlist_file"


@dataclass
class ParseNotes:
    """What a parse left out, for the person running the load to read."""

    unknown_countries: Counter[str] = field(default_factory=Counter)
    unreadable_dates: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        out = []
        if self.unknown_countries:
            names = ", ".join(f"{name} ({count})" for name, count in self.unknown_countries.most_common())
            out.append(f"Countries not recognised, left out of nationalities: {names}")
        if self.unreadable_dates:
            texts = ", ".join(f"{text!r} ({count})" for text, count in self.unreadable_dates.most_common())
            out.append(f"Dates of birth not understood, left out: {texts}")
        for reason, count in self.skipped.most_common():
            out.append(f"Skipped {count} record(s): {reason}")
        return out


@dataclass(frozen=True)
class ListFile:
    """One input file: a path on disk, or an open binary file (an upload) read from its start."""

    name: str
    source: Path | IO[bytes]

    @classmethod
    def of(cls, item: Path | str | IO[bytes]) -> ListFile:
        if isinstance(item, str | Path):
            path = Path(item)
            return cls(name=path.name, source=path)
        return cls(name=Path(getattr(item, "name", "") or "upload").name, source=item)

    @contextlib.contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        if isinstance(self.source, Path):
            try:
                with self.source.open("rb") as stream:
                    yield stream
            except FileNotFoundError:
                raise WatchlistFileError(f"{self.source}: no such file.") from None
        else:
            self.source.seek(0)
            yield self.source

    def read_bytes(self) -> bytes:
        with self.open() as stream:
            return stream.read()

    def sha256(self) -> tuple[str, int]:
        """The file's SHA-256 (as `sha256sum` prints it) and its size in bytes."""
        digest, size = hashlib.sha256(), 0
        with self.open() as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        return digest.hexdigest(), size


def clean(text: Any) -> str:
    """One line of text: NFC (so composed and decomposed accents are the same name), single spaces."""
    if text is None:
        return ""
    return " ".join(unicodedata.normalize("NFC", str(text)).split())


def _unique(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for value in values:
        if value and value not in seen:
            seen.add(value)
            out.append(value)
    return out


@dataclass(frozen=True)
class ListEntry:
    """A listed person or organisation, normalised the same way whatever format it came from."""

    entry_id: str
    kind: str
    name: str
    aliases: tuple[str, ...] = ()
    dates_of_birth: tuple[str, ...] = ()
    nationalities: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    is_pep: bool = False
    remarks: str = ""

    @classmethod
    def build(
        cls,
        *,
        entry_id: Any,
        kind: str,
        name: str,
        aliases: Iterable[str] = (),
        dates_of_birth: Iterable[str] = (),
        nationalities: Iterable[str] = (),
        programs: Iterable[str] = (),
        is_pep: bool = False,
        remarks: str = "",
        where: str,
    ) -> ListEntry:
        """Clean and check one record; `where` names it in errors ("sdn.csv line 12")."""
        entry_id = clean(entry_id)
        if not entry_id:
            raise WatchlistFileError(f"{where}: the record has no identifier.")
        if len(entry_id) > ENTRY_ID_MAX:
            raise WatchlistFileError(f"{where}: identifier {entry_id[:40]!r}... is longer than {ENTRY_ID_MAX}.")
        name = clean(name)
        if not name:
            raise WatchlistFileError(f"{where}: record {entry_id} has no name.")
        alias_list = [clean(alias) for alias in aliases]
        if len(name) > NAME_MAX:
            # The whole name stays searchable as an alias; the name column keeps what fits.
            alias_list.insert(0, name)
            name = name[:NAME_MAX]
        primary = name.casefold()
        return cls(
            entry_id=entry_id,
            kind=kind,
            name=name,
            aliases=tuple(_unique(alias for alias in alias_list if alias.casefold() != primary)),
            dates_of_birth=tuple(sorted(set(filter(None, dates_of_birth)))),
            nationalities=tuple(sorted({code.upper() for code in nationalities if code})),
            programs=tuple(_unique(clean(program) for program in programs)),
            is_pep=is_pep,
            remarks=clean(remarks),
        )

    def screening_content(self) -> dict[str, Any]:
        """Everything screening reads, in a form that does not depend on the list's ordering."""
        return {
            "kind": self.kind,
            "name": self.name,
            "aliases": sorted(self.aliases),
            "dates_of_birth": list(self.dates_of_birth),
            "nationalities": list(self.nationalities),
            "programs": sorted(self.programs),
            "is_pep": self.is_pep,
        }

    @property
    def content_hash(self) -> str:
        canonical = json.dumps(self.screening_content(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


# --- countries ---------------------------------------------------------------------------------


def country_code(name: str, notes: ParseNotes) -> str:
    """ISO alpha-2 code of a country as a list names it ("Iran", "Korea, North", "Viet Nam"), or ""."""
    text = clean(name).strip(" .")
    if not text:
        return ""
    code = _country_code(text)
    if not code:
        notes.unknown_countries[text] += 1
    return code


@functools.lru_cache(maxsize=4096)
def _country_code(text: str) -> str:
    """Cached: django-countries translates every country name on each lookup (about 4 ms)."""
    if len(text) == 2 and text.upper() in countries:
        return text.upper()
    folded = text.casefold()
    if folded in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[folded]
    candidates = [text]
    if "," in text:  # "Korea, North" -> "North Korea"
        head, _, tail = text.partition(",")
        candidates.append(f"{tail.strip()} {head.strip()}")
    if "(" in text:  # "Venezuela (Bolivarian Republic of)" -> "Venezuela"
        candidates.append(text.split("(")[0].strip())
    candidates.append("".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)))
    for candidate in candidates:
        code = countries.by_name(candidate) or COUNTRY_ALIASES.get(candidate.casefold(), "")
        if code:
            return code
    return ""


def iso_country(code: str) -> str:
    """An alpha-2 code as lists give it ("ru", "IQ"), or "" when it is none ("00", "suhh")."""
    code = clean(code).upper()
    return code if len(code) == 2 and code in countries else ""


# --- dates -------------------------------------------------------------------------------------

_MONTHS = {name.casefold(): number for number, name in enumerate(calendar.month_abbr) if name}
_FULL_MONTHS = {name.casefold(): number for number, name in enumerate(calendar.month_name) if name}
_APPROXIMATE = re.compile(r"^(?:circa|ca\.?|approximately|approx\.?|about)\s+", re.IGNORECASE)


def iso_date(year: Any, month: Any = None, day: Any = None) -> str:
    """ "1970", "1970-03" or "1970-03-01" as precise as the parts given; "" if they are not a date."""
    try:
        year_number = int(year)
        month_number = int(month) if month not in (None, "", "0") else 0
        day_number = int(day) if day not in (None, "", "0") else 0
    except (TypeError, ValueError):
        return ""
    if not 1800 <= year_number <= 2100:
        return ""
    if not month_number:
        return f"{year_number:04d}"
    if not 1 <= month_number <= 12:
        return ""
    if not day_number:
        return f"{year_number:04d}-{month_number:02d}"
    try:
        return date(year_number, month_number, day_number).isoformat()
    except ValueError:
        return ""


def year_range(first: Any, last: Any) -> list[str]:
    try:
        start, end = int(first), int(last)
    except (TypeError, ValueError):
        return []
    if start > end or end - start > YEAR_RANGE_MAX:
        return []
    return [iso_date(year) for year in range(start, end + 1) if iso_date(year)]


def iso_text_date(text: str) -> str:
    """An ISO date as lists write it, maybe with a time ("1964-03-15T00:00:00"), kept as precise as given."""
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:[T ].*)?", clean(text))
    return iso_date(*match.groups()) if match else ""


def english_dates(text: str, notes: ParseNotes) -> list[str]:
    """Dates of birth as OFAC writes them: "01 Jan 1970", "Jan 1970", "1970", "circa 1970",
    "1955 to 1958", also "1970-01-01"."""
    text = _APPROXIMATE.sub("", clean(text).strip(" .;"))
    if not text:
        return []
    if " to " in text:
        first, _, last = text.partition(" to ")
        start, end = english_dates(first, notes), english_dates(last, notes)
        years = year_range(start[0][:4], end[-1][:4]) if start and end else []
        if not years:
            notes.unreadable_dates[text] += 1
        return years
    found = iso_text_date(text)
    if not found:
        parts = text.replace(",", " ").split()
        if len(parts) == 3 and parts[0].isdigit():
            day, month, year = parts
            found = iso_date(year, _month(month), day) if _month(month) else ""
        elif len(parts) == 2:
            found = iso_date(parts[1], _month(parts[0])) if _month(parts[0]) else ""
    if not found:
        notes.unreadable_dates[text] += 1
        return []
    return [found]


def _month(text: str) -> int:
    folded = text.casefold().rstrip(".")
    return _MONTHS.get(folded) or _FULL_MONTHS.get(folded) or 0


# --- XML ---------------------------------------------------------------------------------------


def local_name(tag: str) -> str:
    """A tag without its namespace: the lists have changed namespaces over the years."""
    return tag.rpartition("}")[2]


def xml_records(file: ListFile, *, root: str, records: set[str], label: str) -> Iterator[Element]:
    """Each record element of a list file, complete, with namespaces stripped from its tags.

    Streams: a record is dropped from the tree once the caller has read it, so a 100 MB list never
    sits in memory whole. DTD entities are refused (billion laughs, external entities).
    """
    with file.open() as stream:
        stack: list[Element] = []
        try:
            for event, element in SafeET.iterparse(stream, events=("start", "end")):
                tag = local_name(element.tag)
                if event == "start":
                    if not stack and tag != root:
                        raise WatchlistFileError(
                            f"{file.name} is not {label}: its root element is <{tag}>, expected <{root}>."
                        )
                    stack.append(element)
                    continue
                stack.pop()
                if tag in records and stack:
                    for child in element.iter():
                        child.tag = local_name(child.tag)
                    yield element
                    stack[-1].remove(element)
        except ParseError as error:
            raise WatchlistFileError(f"{file.name} is not well-formed XML ({error}); is the file complete?") from None
        except defusedxml.DefusedXmlException as error:
            raise WatchlistFileError(
                f"{file.name} declares XML entities or external references ({type(error).__name__}); "
                "list files never need them, so the file is refused."
            ) from None


def text_of(element: Element, path: str) -> str:
    found = element.find(path)
    return clean(found.text) if found is not None else ""


def texts_of(element: Element, path: str) -> list[str]:
    return [clean(found.text) for found in element.findall(path) if clean(found.text)]
