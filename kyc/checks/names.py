"""Comparing a person's name as the client typed it (any script) with a document's Latin spelling.

A name has several correct Latin spellings: anyascii's (Юлия -> YULIYA, Müller -> MULLER) and ICAO
9303's, which passports use (Юлия -> IULIIA, Müller -> MUELLER). Every spelling is tried and the best
fuzzy score counts.
"""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii
from rapidfuzz import fuzz

# ICAO 9303 part 3, section 6: Cyrillic and the Latin letters written out in an MRZ.
ICAO_LETTERS = {
    "А": "A", "Б": "B", "В": "V", "Г": "G", "Ґ": "G", "Д": "D", "Е": "E", "Ё": "E", "Є": "IE", "Ж": "ZH",
    "З": "Z", "И": "I", "І": "I", "Ї": "I", "Й": "I", "К": "K", "Л": "L", "М": "M", "Н": "N", "О": "O",
    "П": "P", "Р": "R", "С": "S", "Т": "T", "У": "U", "Ф": "F", "Х": "KH", "Ц": "TS", "Ч": "CH", "Ш": "SH",
    "Щ": "SHCH", "Ъ": "IE", "Ы": "Y", "Ь": "", "Э": "E", "Ю": "IU", "Я": "IA",
    "Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "SS", "Å": "AA", "Æ": "AE", "Ø": "OE", "Œ": "OE", "Þ": "TH",
}  # fmt: skip


def normalise(text: str) -> str:
    """Upper-case Latin letters and digits separated by single spaces; apostrophes vanish, as in an MRZ."""
    text = re.sub(r"['’`ʼ]", "", anyascii(text))
    return " ".join(re.sub(r"[^A-Z0-9]+", " ", text.upper()).split())


def _icao(text: str) -> str:
    upper = unicodedata.normalize("NFC", text).upper()
    return normalise("".join(ICAO_LETTERS.get(char, char) for char in upper))


def spellings(text: str) -> set[str]:
    """Every Latin spelling of `text` worth comparing (without empty ones)."""
    return {spelling for spelling in (normalise(text), _icao(text)) if spelling}


def name_score(typed: str, document: str) -> int:
    """0-100: how well a name the client typed matches the document's; extra given names on the
    document (ANNA MARIA for Anna) do not lower it."""
    printed = normalise(document)
    if not printed or not typed.strip():
        return 0
    return round(max(fuzz.token_set_ratio(spelling, printed) for spelling in spellings(typed)))


def text_contains_score(needle: str, text: str) -> int:
    """0-100: how well `needle` appears somewhere in a longer normalised `text`."""
    if not needle.strip() or not text:
        return 0
    return round(max(fuzz.partial_ratio(spelling, text) for spelling in spellings(needle)))
