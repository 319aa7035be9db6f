"""Reading the machine-readable zone (MRZ, ICAO 9303) a client typed or an OCR step read, and comparing
it with the client's profile.

OCR and typing noise is cleaned first: case, spaces, filler lookalikes (« ‹ ＜ ...), letters read in
places that hold only digits (O for 0 in a date), and lines a filler or two short or long. Then the
`mrz` package checks every check digit; a wrong one is named.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from django_countries import countries
from mrz.checker.td1 import TD1CodeChecker
from mrz.checker.td2 import TD2CodeChecker
from mrz.checker.td3 import TD3CodeChecker

from crm.models import Client
from kyc.checks.names import name_score, normalise
from kyc.checks.result import FAIL, PASS, WARN, CheckResult, score_outcome

# format -> (lines, characters per line, checker)
FORMATS = {"TD1": (3, 30, TD1CodeChecker), "TD2": (2, 36, TD2CodeChecker), "TD3": (2, 44, TD3CodeChecker)}
FILLER_LOOKALIKES = {"«": "<<", "≪": "<<", "‹": "<", "＜": "<", "〈": "<", "⟨": "<", "≤": "<", "˂": "<"}
LETTER_AS_DIGIT = str.maketrans("OQDIL|ZSBG", "0001112586")
# Positions (line, first, last exclusive) that hold only digits (or a filler): dates and check digits.
DIGIT_SPANS = {
    "TD1": [(0, 14, 15), (1, 0, 7), (1, 8, 15), (1, 29, 30)],
    "TD2": [(1, 9, 10), (1, 13, 20), (1, 21, 28), (1, 35, 36)],
    "TD3": [(1, 9, 10), (1, 13, 20), (1, 21, 28), (1, 42, 44)],
}
CHECK_DIGIT_NAMES = {
    "document number hash": "document number",
    "birth date hash": "date of birth",
    "expiry date hash": "expiry date",
    "optional data hash": "optional data",
    "final hash": "whole lines",
}
# How the client is told what an MRZ is, wherever a message names it.
MRZ_WORDS = "the two or three lines of letters and <<< at the bottom of the photo page (the MRZ)"
# The parts a wrongly typed check digit points at, in the client's words.
PART_WORDS = {
    "document number": "the document number",
    "date of birth": "the date of birth",
    "expiry date": "the expiry date",
    "optional data": "the personal number",
    "whole lines": "the whole lines",
}
FIELD_NAMES = {
    "document type format": "document type",
    "valid country code": "issuing country",
    "valid nationality code": "nationality",
    "birth date": "date of birth",
    "expiry date": "expiry date",
    "valid genre format": "sex",
    "identifier": "name",
    "document number format": "document number",
    "optional data format": "optional data",
}
# Name thresholds (0-100): at or above PASS the names match; between, a person looks.
NAME_PASS, NAME_WARN = 90, 75
# MRZ codes that are not ISO 3166 alpha-3 (ICAO 9303 part 3).
MRZ_COUNTRY_ALIASES = {"D": "DEU", "GBD": "GBR", "GBN": "GBR", "GBO": "GBR", "GBS": "GBR", "GBP": "GBR"}


class MrzError(ValueError):
    """The text cannot be read as an MRZ; the message says why, for the client."""


@dataclass
class Mrz:
    format: str
    lines: list[str]
    document_type: str
    issuing_country: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: date | None
    expiry_date: date | None
    sex: str
    failed_check_digits: list[str] = field(default_factory=list)
    invalid_fields: list[str] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)


def _line_fix(line: str, length: int, number: int, corrections: list[str]) -> str:
    if len(line) < length:
        corrections.append(f"line {number}: {length - len(line)} filler(s) added at the end")
        return line + "<" * (length - len(line))
    if len(line) > length and set(line[length:]) == {"<"}:
        corrections.append(f"line {number}: {len(line) - length} extra filler(s) removed")
        return line[:length]
    return line


def mrz_clean(text: str) -> tuple[str, list[str], list[str]]:
    """(format, lines, corrections) of a typed or OCR'd zone; MrzError when its shape is unreadable."""
    corrections: list[str] = []
    lines = []
    for raw in text.splitlines():
        line = raw.strip().upper()
        for lookalike, filler in FILLER_LOOKALIKES.items():
            line = line.replace(lookalike, filler)
        line = re.sub(r"\s+", "", line)
        if line:
            lines.append(line)
    if "".join(lines) != re.sub(r"\s+", "", text.upper()):
        corrections.append("case, spaces and filler lookalikes normalised")
    if len(lines) == 3:
        name = "TD1"
    elif len(lines) == 2:
        name = "TD3" if max(len(line) for line in lines) >= 40 else "TD2"
    else:
        raise MrzError(
            f"You gave {len(lines)} line(s) of {MRZ_WORDS}: a passport has 2 and an identity card 2 or 3. "
            "Type each line on a line of its own."
        )
    count, length, _ = FORMATS[name]
    lines = [_line_fix(line, length, number, corrections) for number, line in enumerate(lines, start=1)]
    for number, line in enumerate(lines, start=1):
        if len(line) != length:
            raise MrzError(
                f"Line {number} of {MRZ_WORDS} has {len(line)} characters, but it should have {length}. "
                "Type the line exactly as printed, with every <."
            )
        unreadable = sorted(set(re.sub(r"[A-Z0-9<]", "", line)))
        if unreadable:
            raise MrzError(
                f"Line {number} of {MRZ_WORDS} has characters that are never there: {' '.join(unreadable)}. "
                "It holds only capital letters, digits and <."
            )
    for index, start, end in DIGIT_SPANS[name]:
        span = lines[index][start:end]
        fixed = span.translate(LETTER_AS_DIGIT)
        if fixed != span:
            lines[index] = lines[index][:start] + fixed + lines[index][end:]
            corrections.append(f"line {index + 1}: letters read as digits in {span!r} -> {fixed!r}")
    return name, lines, corrections


def _date(text: str, *, birth: bool, today: date) -> date | None:
    if not re.fullmatch(r"\d{6}", text):
        return None
    year, month, day = int(text[:2]), int(text[2:4]), int(text[4:])
    year += 2000
    # Two-digit years: a birth date is never in the future; an expiry is at most 50 years ahead.
    if (birth and year > today.year) or (not birth and year > today.year + 50):
        year -= 100
    try:
        return date(year, month, day)
    except ValueError:
        return None


def mrz_parse(text: str, *, today: date) -> Mrz:
    name, lines, corrections = mrz_clean(text)
    checker_class = FORMATS[name][2]
    try:
        checker = checker_class("\n".join(lines))
        fields = checker.fields()
    except (ValueError, IndexError) as error:
        raise MrzError(f"We could not read {MRZ_WORDS}. Type the lines again exactly as printed.") from error
    falses = [description for description, ok in checker.report.fields if not ok]
    if name == "TD1":
        birth, expiry = lines[1][0:6], lines[1][8:14]
    else:
        birth, expiry = lines[1][13:19], lines[1][21:27]
    return Mrz(
        format=name,
        lines=lines,
        document_type=fields.document_type.replace("<", ""),
        issuing_country=fields.country.replace("<", ""),
        surname=normalise(fields.surname),
        given_names=normalise(fields.name),
        document_number=fields.document_number.replace("<", ""),
        nationality=fields.nationality.replace("<", ""),
        birth_date=_date(birth, birth=True, today=today),
        expiry_date=_date(expiry, birth=False, today=today),
        sex=fields.sex.replace("<", ""),
        failed_check_digits=[CHECK_DIGIT_NAMES[d] for d in falses if d in CHECK_DIGIT_NAMES],
        invalid_fields=sorted({FIELD_NAMES.get(d, d) for d in falses if d not in CHECK_DIGIT_NAMES}),
        corrections=corrections,
    )


def alpha3(code: str) -> str:
    """ISO alpha-3 of a profile's alpha-2 nationality ("" when unknown)."""
    return countries.alpha3(code) or "" if code else ""


def _non_latin(text: str) -> bool:
    return any(char.isalpha() and not unicodedata.name(char, "").startswith("LATIN") for char in text)


def _names_check(mrz: Mrz, client: Client) -> CheckResult:
    surname = name_score(client.last_name, mrz.surname)
    given = name_score(client.first_name, mrz.given_names)
    evidence = {
        "document": {"surname": mrz.surname, "given_names": mrz.given_names},
        "profile": {"last_name": client.last_name, "first_name": client.first_name},
        "scores": {"surname": surname, "given_names": given},
    }
    outcome = score_outcome(min(surname, given), passing=NAME_PASS, warning=NAME_WARN)
    printed = f"{mrz.given_names} {mrz.surname}".strip()
    if outcome == PASS:
        return CheckResult("name", PASS, f"The name on the document ({printed}) matches the profile.", evidence)
    swapped = min(name_score(client.first_name, mrz.surname), name_score(client.last_name, mrz.given_names))
    if swapped >= NAME_PASS:
        evidence["scores"]["swapped"] = swapped
        summary = f"The first and last names are swapped between the document ({printed}) and the profile."
        return CheckResult("name", WARN, summary, evidence)
    typed = f"{client.first_name} {client.last_name}".strip()
    if outcome == FAIL and _non_latin(typed):
        # Abjads (Arabic, Hebrew) and other scripts have no one Latin spelling to compare letter by letter.
        summary = (
            f"The profile's name ({typed}) is not in Latin letters and could not be compared with the "
            f"document's ({printed}): staff to compare."
        )
        return CheckResult("name", WARN, summary, evidence)
    if outcome == WARN:
        summary = f"The name on the document ({printed}) is close to, but not the same as, the profile's ({typed})."
    else:
        summary = f"The name on the document ({printed}) does not match the name in your profile ({typed})."
    return CheckResult("name", outcome, summary, evidence)


def _birth_check(mrz: Mrz, client: Client) -> CheckResult:
    evidence = {
        "document": mrz.birth_date.isoformat() if mrz.birth_date else None,
        "profile": client.date_of_birth.isoformat() if client.date_of_birth else None,
    }
    if mrz.birth_date is None:
        return CheckResult(
            "date_of_birth",
            FAIL,
            f"The date of birth in {MRZ_WORDS} is not a valid date. Check what you typed.",
            evidence,
        )
    if client.date_of_birth is None:
        return CheckResult(
            "date_of_birth", WARN, "The profile has no date of birth to compare: staff to confirm.", evidence
        )
    if client.date_of_birth != mrz.birth_date:
        return CheckResult(
            "date_of_birth",
            FAIL,
            f"The date of birth on the document ({mrz.birth_date:%d %b %Y}) is not the one in your profile "
            f"({client.date_of_birth:%d %b %Y}).",
            evidence,
        )
    return CheckResult("date_of_birth", PASS, "The date of birth matches the profile.", evidence)


def _nationality_check(mrz: Mrz, client: Client) -> CheckResult:
    document = MRZ_COUNTRY_ALIASES.get(mrz.nationality, mrz.nationality)
    profile = alpha3(client.nationality)
    evidence = {"document": mrz.nationality, "profile": client.nationality, "profile_alpha3": profile}
    if not profile:
        return CheckResult(
            "nationality", WARN, "The profile has no nationality to compare: staff to confirm.", evidence
        )
    if document != profile:
        # A person may hold two nationalities: a person decides, the client need not re-upload.
        return CheckResult(
            "nationality",
            WARN,
            f"The document's nationality ({mrz.nationality}) is not the profile's ({client.nationality}).",
            evidence,
        )
    return CheckResult("nationality", PASS, "The nationality matches the profile.", evidence)


def expiry_check(expires_on: date | None, *, today: date) -> CheckResult:
    evidence = {"expires_on": expires_on.isoformat() if expires_on else None, "today": today.isoformat()}
    if expires_on is None:
        return CheckResult("expiry", FAIL, "The expiry date is not a valid date. Check what you typed.", evidence)
    if expires_on < today:
        return CheckResult("expiry", FAIL, f"The document expired on {expires_on:%d %b %Y}.", evidence)
    return CheckResult("expiry", PASS, f"Valid until {expires_on:%d %b %Y}.", evidence)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def typing_error_summary(failed_check_digits: list[str]) -> str:
    """What the client reads when check digits do not match: the lines were typed (or photographed)
    wrongly, and in which part. The whole-lines digit fails with any part, so it is named alone only."""
    parts = [part for part in failed_check_digits if part != "whole lines"] or ["whole lines"]
    words = [PART_WORDS.get(part, part) for part in parts]
    where = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return _capital(
        f"{MRZ_WORDS} seem to be typed wrongly: check {where}. "
        "Type the lines again exactly as printed, or upload a sharper photo."
    )


def mrz_checks(text: str, *, client: Client, kind: str, today: date) -> tuple[list[CheckResult], dict]:
    """The MRZ's own check and its comparison with the profile, and the Document fields it fills."""
    try:
        mrz = mrz_parse(text, today=today)
    except MrzError as error:
        return [CheckResult("mrz", FAIL, str(error), {"text": text[:400]})], {}
    evidence = {
        "format": mrz.format,
        "lines": mrz.lines,
        "document_type": mrz.document_type,
        "failed_check_digits": mrz.failed_check_digits,
        "invalid_fields": mrz.invalid_fields,
        "corrections": mrz.corrections,
    }
    if mrz.failed_check_digits:
        result = CheckResult("mrz", FAIL, typing_error_summary(mrz.failed_check_digits), evidence)
    elif mrz.invalid_fields:
        summary = (
            f"Some parts of {MRZ_WORDS} are not valid: {', '.join(mrz.invalid_fields)}. "
            "Type the lines again exactly as printed."
        )
        result = CheckResult("mrz", FAIL, summary, evidence)
    elif kind == "passport" and not mrz.document_type.startswith("P"):
        result = CheckResult("mrz", WARN, f"The zone is of a {mrz.format} document, not a passport.", evidence)
    else:
        result = CheckResult(
            "mrz", PASS, f"The {mrz.format} zone is well formed and every check digit matches.", evidence
        )
    results = [
        result,
        _names_check(mrz, client),
        _birth_check(mrz, client),
        _nationality_check(mrz, client),
        expiry_check(mrz.expiry_date, today=today),
    ]
    updates = {
        "document_number": mrz.document_number[:40],
        "issuing_country": MRZ_COUNTRY_ALIASES.get(mrz.issuing_country, mrz.issuing_country)[:3],
        "expires_on": mrz.expiry_date,
    }
    return results, updates
