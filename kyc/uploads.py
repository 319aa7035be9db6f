"""What a KYC upload must be before it is stored: a real JPEG, PNG, WebP or PDF of a sensible size,
whose name does not lie about its content, that decodes cleanly and carries no script.

The type is read from the bytes (magic numbers), never from the name or the browser's claim; images
are fully decoded by Pillow (after a pixel-count guard against decompression bombs) and PDFs are
opened by pypdf and walked for actions. Every refusal is an ApplicationError naming the file.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import PurePath

import filetype
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from brokerage.errors import ApplicationError

MAX_BYTES = 10 * 1024 * 1024
LIMIT_TEXT = "10 MB"
# Smaller than any readable scan or photo: an empty or cut-off file.
MIN_BYTES = 1024
# A 50 megapixel photo is already larger than any phone takes; beyond this, a decompression bomb.
MAX_PIXELS = 50_000_000
MAX_PDF_PAGES = 30
# Walking a PDF's objects stops here: a real statement has a few hundred.
MAX_PDF_OBJECTS = 50_000

# content type -> (label, the extensions a name may have)
ACCEPTED = {
    "image/jpeg": ("JPEG image", ("jpg", "jpeg", "jpe", "jfif")),
    "image/png": ("PNG image", ("png",)),
    "image/webp": ("WebP image", ("webp",)),
    "application/pdf": ("PDF", ("pdf",)),
}
# What browsers and phones send for the accepted types besides the canonical name.
CONTENT_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf": "application/pdf"}
# Claims that say nothing about the content.
GENERIC_CONTENT_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}

# PDF names that run something or carry a file: refused wherever they appear.
PDF_SCRIPT_KEYS = {"/JS", "/JavaScript", "/AA", "/Launch", "/EmbeddedFile", "/EmbeddedFiles", "/RichMedia"}
PDF_SCRIPT_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/RichMediaExecute"}

ACCEPTED_WORDS = "a JPEG, PNG or WebP photo or a PDF"


@dataclass
class CheckedFile:
    """A file that passed every check, with what was learned about it."""

    data: bytes
    content_type: str
    extension: str
    size: int
    sha256: str
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    details: dict = field(default_factory=dict)

    def evidence(self) -> dict:
        facts = {"type": ACCEPTED[self.content_type][0], "content_type": self.content_type, "size": self.size}
        if self.pages is not None:
            facts["pages"] = self.pages
        if self.width is not None:
            facts["width"], facts["height"] = self.width, self.height
        return facts


def _refuse(name: str, why: str) -> ApplicationError:
    return ApplicationError(f"{name}: {why}", fields={"upload": [why]})


def _size_text(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size} bytes"


def upload_read(upload: UploadedFile) -> bytes:
    """The upload's bytes, refusing an oversized file before reading all of it."""
    name = display_name(upload.name)
    if upload.size is not None and upload.size > MAX_BYTES:
        raise _refuse(name, f"The file is {_size_text(upload.size)}, over the {LIMIT_TEXT} limit.")
    upload.seek(0)
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _refuse(name, f"The file is over the {LIMIT_TEXT} limit.")
    return data


def display_name(name: str | None) -> str:
    """The file's own name, without any folder a browser sent along, for messages."""
    base = re.sub(r"[\x00-\x1f\x7f]", "", PurePath((name or "").replace("\\", "/")).name).strip()
    return base[:120] or "The file"


def upload_check(upload: UploadedFile) -> CheckedFile:
    """Read and check an uploaded file; ApplicationError says what is wrong with it."""
    data = upload_read(upload)
    return bytes_check(data, name=upload.name or "", declared_type=getattr(upload, "content_type", "") or "")


def bytes_check(data: bytes, *, name: str, declared_type: str = "") -> CheckedFile:
    """Check a file's bytes against everything an upload must be (also used again on the stored copy)."""
    shown = display_name(name)
    size = len(data)
    if size > MAX_BYTES:
        raise _refuse(shown, f"The file is {_size_text(size)}, over the {LIMIT_TEXT} limit.")
    if size == 0:
        raise _refuse(shown, "The file is empty.")
    # The type and content first: a small web page or locked PDF is refused for what it is.
    content_type = _detect_type(data, shown)
    extension = _check_claims(content_type, name=name, shown=shown, declared_type=declared_type)
    checked = CheckedFile(
        data=data,
        content_type=content_type,
        extension=extension,
        size=size,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    if content_type == "application/pdf":
        checked.pages = _check_pdf(data, shown)
    else:
        checked.width, checked.height = _check_image(data, shown, PILLOW_FORMATS[content_type])
    if size < MIN_BYTES:
        raise _refuse(shown, f"The file is only {size} bytes: too small to be a readable photo or scan of a document.")
    return checked


def _looks_like_markup(data: bytes) -> str:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in head:
        return "an SVG drawing"
    if head.startswith((b"<!doctype html", b"<html", b"<script", b"<head", b"<body")) or b"<script" in head:
        return "a web page (HTML)"
    if head.startswith(b"<?xml"):
        return "an XML file"
    return ""


def _detect_type(data: bytes, shown: str) -> str:
    kind = filetype.guess(data)
    if kind is not None and kind.mime in ACCEPTED:
        return kind.mime
    if kind is not None:
        what = {"zip": "a ZIP archive", "exe": "a program (EXE)", "elf": "a program", "gif": "a GIF image"}.get(
            kind.extension, f"a {kind.extension.upper()} file"
        )
        raise _refuse(shown, f"The file is {what}, not {ACCEPTED_WORDS}.")
    markup = _looks_like_markup(data)
    if markup:
        raise _refuse(shown, f"The file is {markup}, not {ACCEPTED_WORDS}.")
    raise _refuse(shown, f"The file's content is not {ACCEPTED_WORDS}.")


def _check_claims(content_type: str, *, name: str, shown: str, declared_type: str) -> str:
    """The file's extension as stored; refuses a name or a declared type that contradicts the content."""
    label, extensions = ACCEPTED[content_type]
    suffix = PurePath(name.replace("\\", "/")).suffix.lower().lstrip(".")
    if suffix and suffix not in extensions:
        raise _refuse(
            shown,
            f"The file's name ends in .{suffix} but it is a {label}. "
            f"Rename it to .{extensions[0]}, or upload the original file.",
        )
    declared = declared_type.split(";")[0].strip().lower()
    declared = CONTENT_TYPE_ALIASES.get(declared, declared)
    if declared not in GENERIC_CONTENT_TYPES and declared != content_type:
        raise _refuse(shown, f"The file was sent as {declared} but it is a {label}. Upload the original file.")
    return suffix if suffix else extensions[0]


def _check_image(data: bytes, shown: str, expected_format: str) -> tuple[int, int]:
    """Width and height of an image that decodes completely; refuses bombs and corrupt files."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that: make it a refusal too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if image.format != expected_format:
                    raise _refuse(shown, "The image's content does not match its type. Upload the original photo.")
                if width * height > MAX_PIXELS:
                    raise _refuse(
                        shown,
                        f"The image is {width} × {height} pixels, more than any photo of a document needs "
                        f"(limit {MAX_PIXELS // 1_000_000} megapixels).",
                    )
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except ApplicationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(shown, "The image is far too large to be a photo of a document.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise _refuse(shown, "The image is damaged or incomplete and cannot be opened. Upload it again.") from error
    if width < 50 or height < 50:
        raise _refuse(shown, f"The image is only {width} × {height} pixels: too small to read. Upload a larger photo.")
    return width, height


def _check_pdf(data: bytes, shown: str) -> int:
    """Page count of a readable, unencrypted PDF without scripts, actions or attached files."""
    if b"%%EOF" not in data[-2048:]:
        raise _refuse(shown, "The PDF is incomplete (it ends early): upload the whole file.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise _refuse(shown, "The PDF is password-protected: upload a copy without a password.")
            root = reader.trailer.get("/Root")
            script = _pdf_script(reader.trailer)
            if script:
                raise _refuse(
                    shown,
                    f"The PDF contains scripts or embedded content ({script}), which we do not accept. "
                    "Upload a plain copy (print it to PDF again).",
                )
            pages = len(reader.pages)
            for page in reader.pages[:MAX_PDF_PAGES]:
                page.mediabox  # noqa: B018 - reading it parses the page dictionary
    except ApplicationError:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise _refuse(shown, "The PDF is damaged and cannot be opened. Upload it again.") from error
    if root is None or pages == 0:
        raise _refuse(shown, "The PDF has no pages.")
    if pages > MAX_PDF_PAGES:
        raise _refuse(
            shown, f"The PDF has {pages} pages; at most {MAX_PDF_PAGES} are accepted. Upload only the pages we need."
        )
    return pages


def _pdf_script(trailer: DictionaryObject) -> str:
    """The first script-bearing name found in the PDF's object graph, or ""."""
    seen: set[tuple[int, int]] = set()
    stack: list = [trailer]
    visited = 0
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        visited += 1
        if visited > MAX_PDF_OBJECTS:
            return "too many objects to inspect"
        if isinstance(item, DictionaryObject):
            for name, value in item.items():
                if name in PDF_SCRIPT_KEYS:
                    return name.lstrip("/")
                if name == "/S" and isinstance(value, NameObject) and value in PDF_SCRIPT_ACTIONS:
                    return value.lstrip("/")
                if name != "/Parent":  # pages point back up the tree: already on the stack
                    stack.append(value)
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return ""
