"""Name normalisation for screening: any script in, comparable ASCII tokens out.

Every name goes through the same steps, client names and list names alike, so they meet halfway:

1. Unicode NFKC (full-width and mathematical letters become plain ones); symbols, emoji and control
   characters become spaces; hyphens and apostrophes are kept for the steps below.
2. The Arabic article "ال" is split off, then anyascii transliterates every script. Chinese
   characters and Hangul syllables are transliterated one by one with spaces between them, so
   "李伟" gives "li wei" like the list's "LI Wei" (anyascii alone would give "LiWei").
3. Lower case; article prefixes written with a hyphen ("al-", "el-", "ad-", "ash-" ...) are dropped;
   hyphens split words ("Jean-Pierre" is two tokens, the matcher joins them back when the other side
   writes "Jeanpierre"); apostrophes vanish ("O'Brien" is "obrien").
4. "Abdul"/"Abdel" + name is "Abd" + name (the Arabic "Abd al-X" construct is written at least four
   ways: "Abd al-Rahman", "Abdul Rahman", "Abdulrahman", "Abdel Rahman").
5. Titles ("mr", "dr", "sheikh", "gen"), generational suffixes and name particles ("bin", "ibn",
   "von", "van", "de", "al") are dropped, and for organisations legal forms ("ltd", "llc", "gmbh",
   "ooo") and "the/and/of" too. A name made only of such words keeps them all rather than vanish.

Each token also carries a consonant skeleton (`skeleton`), the principled stand-in for a dictionary
of transliteration variants: vowels and the semivowels y/w carry most of the variation between
"Mohammed", "Muhammad", "Mohamed" and the vowelless Arabic "mhmd", or between "Yusuf", "Youssef" and
"ywsf", so they are dropped after the first letter (an initial vowel, or an Arabic initial ayn or
hamza, is kept as "a"), a few spelling pairs are merged (q/k, c/k, ph/f, dh/d, dj/j, sch/sh) and
double letters collapse. The matcher gives equal skeletons partial credit (see matching.py).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from anyascii import anyascii

# Bounds on the work one name can cause: no real name comes near them.
MAX_CHARS = 1000
MAX_TOKENS = 12
MAX_TOKEN_CHARS = 40

# fmt: off
TITLES = frozenset({
    "mr", "mrs", "ms", "miss", "mx", "mister", "madam", "madame", "mme", "mlle", "dr", "doctor", "prof",
    "professor", "sir", "dame", "lord", "lady", "hon", "rev", "reverend", "fr", "father", "sheikh", "shaikh",
    "sheik", "shaykh", "haji", "hajji", "hadji", "mullah", "mulla", "imam", "ayatollah", "gen", "general", "col",
    "colonel", "maj", "major", "capt", "captain", "cpt", "lt", "lieutenant", "sgt", "sergeant", "cmdr",
    "commander", "adm", "admiral", "brig", "brigadier", "marshal", "herr", "frau", "sr", "snr", "jr", "jnr", "ii",
    "iii", "iv", "phd", "md", "esq",
})
PARTICLES = frozenset({
    "al", "el", "ul", "bin", "ibn", "bint", "binti", "bn", "von", "van", "der", "de", "del", "dos", "da", "du",
})
LEGAL_FORMS = frozenset({
    "ltd", "limited", "llc", "inc", "incorporated", "corp", "corporation", "co", "company", "plc", "gmbh", "ag",
    "sa", "sarl", "srl", "spa", "bv", "nv", "ab", "oy", "oyj", "kg", "jsc", "ojsc", "pjsc", "cjsc", "ooo", "zao",
    "oao", "pao", "llp", "lp", "fze", "fzco", "fzc", "pte", "pty", "sdn", "bhd", "the", "and", "of", "for",
})
# fmt: on
_PERSON_NOISE = TITLES | PARTICLES
_ORGANISATION_NOISE = TITLES | PARTICLES | LEGAL_FORMS

_APOSTROPHES = "'`\u2018\u2019\u02bc\u02bb\u02bd\u02be\u02bf\u00b4\u2032"
_ARABIC_ARTICLE = re.compile("(?<![\u0600-\u06ff])\u0627\u0644(?=[\u0600-\u06ff]{2})")
_HYPHEN_ARTICLE = re.compile(r"(?<![a-z0-9'`])(?:al|el|ul|il|an|ar|as|ash|at|ath|ad|adh|az)-(?=[a-z])")
_ASCII_OTHER = re.compile(r"[^A-Za-z0-9'-]")
_TOKEN_SPLIT = re.compile(r"[^a-z0-9'`]+")
_ABD = re.compile(r"^abd[aeiou]l(?!lah)([a-z]{3,})$")
_ABD_ALONE = re.compile(r"^abd[aeiou]l$")
_VOWELS = "aeiouyw"
_SPELLINGS = (("sch", "sh"), ("ph", "f"), ("ck", "k"), ("dj", "j"), ("dh", "d"), ("q", "k"), ("c", "k"), ("x", "ks"))


class Token(NamedTuple):
    text: str  # folded letters and digits: "muhammad"
    key: str  # consonant skeleton: "mhmd"


def _spaced(char: str) -> bool:
    """Chinese characters and Hangul syllables: one syllable each, written with spaces in Latin."""
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x2FFFF
        or 0xAC00 <= code <= 0xD7A3
    )


def fold(text: str) -> str:
    """Any text to lower-case ASCII letters, digits, spaces, hyphens and apostrophes (steps 1-2)."""
    text = str(text)[:MAX_CHARS]
    if text.isascii():  # most list names: the same result as the character walk, several times faster
        return _ASCII_OTHER.sub(" ", text.replace("`", "'")).lower()
    return _fold_characters(text)


def _fold_characters(text: str) -> str:
    text = _ARABIC_ARTICLE.sub(" ", unicodedata.normalize("NFKC", text))
    out: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if char in _APOSTROPHES:
            out.append("'")
        elif category == "Pd":
            out.append("-")
        elif category[0] not in "LMN":
            out.append(" ")
        elif _spaced(char):
            out.append(f" {anyascii(char)} ")
        else:
            out.append(anyascii(char))
    return "".join(out).lower()


@lru_cache(maxsize=65536)
def skeleton(text: str, *, vowel_initial: bool = False) -> str:
    """The consonant skeleton of a folded token: "Mohammed", "Muhammad" and "mhmd" all give "mhmd".

    `vowel_initial` says the token began with an apostrophe, which in transliterated Arabic is an
    ayn or a hamza carrying the initial vowel ("`ly" is "Ali", "'hmd" is "Ahmad")."""
    if not text or not text.isalpha():
        return text
    for written, said in _SPELLINGS:
        text = text.replace(written, said)
    if len(text) > 1 and text.endswith("h"):
        text = text[:-1]  # "Fatimah"/"Fatima", the Arabic taa marbuta
    if vowel_initial:
        head, rest = "a", text
    elif text[0] in _VOWELS:
        head, rest = "a", text[1:]
    else:
        head, rest = text[0], text[1:]
    out = head
    for char in rest:
        if char not in _VOWELS and char != out[-1]:
            out += char
    return out


def _split_abd(word: str) -> list[str]:
    if _ABD_ALONE.match(word):
        return ["abd"]
    parts = []
    while match := _ABD.match(word):
        parts.append("abd")
        word = match.group(1)
    return [*parts, "abd" if _ABD_ALONE.match(word) else word]


def name_tokens(text: str, *, organisation: bool = False) -> tuple[Token, ...]:
    """The tokens of one name, noise words dropped (see the module docstring)."""
    folded = _HYPHEN_ARTICLE.sub(" ", fold(text))
    raw: list[tuple[str, bool]] = []
    for chunk in _TOKEN_SPLIT.split(folded):
        letters = chunk.replace("'", "").replace("`", "")
        if not letters:
            continue
        vowel_initial = chunk[0] in "'`"
        for index, word in enumerate(_split_abd(letters)):
            raw.append((word[:MAX_TOKEN_CHARS], vowel_initial and index == 0))
    noise = _ORGANISATION_NOISE if organisation else _PERSON_NOISE
    kept = [item for item in raw if item[0] not in noise] or raw
    return tuple(Token(word, skeleton(word, vowel_initial=initial)) for word, initial in kept[:MAX_TOKENS])


@lru_cache(maxsize=65536)
def token_join(first: Token, second: Token) -> Token:
    """Two tokens written as one ("jin" + "ping" = "jinping"), for names split differently."""
    text = first.text + second.text
    return Token(text, skeleton(text, vowel_initial=first.key.startswith("a")))


def normalise(text: str, *, organisation: bool = False) -> str:
    """The tokens of a name joined by spaces: what a person reads as "the name we compared"."""
    return " ".join(token.text for token in name_tokens(text, organisation=organisation))


def is_vowelless(text: str) -> bool:
    """Letters without a, e, i, o, u: a name transliterated from an abjad (Arabic, Hebrew, Persian)."""
    return len(text) > 1 and text.isalpha() and not any(vowel in text for vowel in "aeiou")
