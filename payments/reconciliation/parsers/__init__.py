"""Statement files in, one normalised `ParsedStatement` out.

`statement_parse(data, chosen_format)` checks the size, sniffs what the bytes
are (XML, MT940 text or CSV), refuses a file whose content disagrees with the
format the person chose, and hands it to the right parser.
"""

from __future__ import annotations

import re

from payments.reconciliation.parsers import camt, mt940, psp_csv
from payments.reconciliation.parsers.base import ParsedEntry, ParsedStatement, StatementError

MAX_BYTES = 10 * 1024 * 1024

# Chosen format -> the kind of content it must be.
_KIND = {"camt053": "xml", "camt054": "xml", "camt052": "xml", "mt940": "mt940", "psp_csv": "csv"}
_KIND_NAMES = {"xml": "XML", "mt940": "MT940 text", "csv": "CSV", "binary": "a binary file", "text": "plain text"}
_MT940_TAGS = re.compile(rb"^:(20|25|60[FM]|61|62[FM]):", re.MULTILINE)

__all__ = ["MAX_BYTES", "ParsedEntry", "ParsedStatement", "StatementError", "content_kind", "statement_parse"]


def content_kind(data: bytes) -> str:
    """What the bytes look like: xml, mt940, csv, binary or text."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if b"\x00" in head or head[:4] in (b"PK\x03\x04", b"%PDF") or head[:2] == b"\x1f\x8b":
        return "binary"
    if head.startswith(b"<"):
        return "xml"
    if len(_MT940_TAGS.findall(data[:65536])) >= 2:
        return "mt940"
    first_line = head.split(b"\n", 1)[0]
    if b"," in first_line or b";" in first_line:
        return "csv"
    return "text"


def statement_parse(data: bytes, chosen_format: str) -> ParsedStatement:
    if chosen_format not in _KIND:
        raise StatementError(f"Unknown statement format {chosen_format!r}.")
    if len(data) > MAX_BYTES:
        raise StatementError(
            f"The file is {len(data) / 1048576:.1f} MB; at most {MAX_BYTES // 1048576} MB is accepted."
        )
    if not data.strip():
        raise StatementError("The file is empty.")
    kind = content_kind(data)
    expected = _KIND[chosen_format]
    if kind != expected:
        raise StatementError(
            f"The file is {_KIND_NAMES[kind]}, not {_KIND_NAMES[expected]} as the chosen format needs."
        )
    if expected == "xml":
        # Any camt message is accepted under either camt choice; the import records which one it was.
        return camt.parse(data)
    if expected == "mt940":
        return mt940.parse(data)
    return psp_csv.parse(data)
