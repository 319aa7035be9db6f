"""What a KYC upload must be: every bad file is refused with a message that names it and says why."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from brokerage.errors import ApplicationError
from kyc.uploads import MAX_BYTES, upload_check


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (240, 160)) -> bytes:
    """A photo-like image: noise, so it does not compress below the minimum size."""
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def pdf_bytes(pages: int = 1) -> bytes:
    images = [Image.frombytes("RGB", (120, 90), os.urandom(120 * 90 * 3)) for _ in range(pages)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="PDF", save_all=True, append_images=images[1:])
    return buffer.getvalue()


def pdf_changed(change) -> bytes:
    """A valid PDF passed through `change(writer)`."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf_bytes()))
    change(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG that claims billions of bytes of pixels: only its header is real."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (width + 1) * 64, 9)
    padding = chunk(b"tEXt", b"Comment\0" + b"x" * 2000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + padding + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def upload(data: bytes, name: str, content_type: str = "") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def refusal(data: bytes, name: str, content_type: str = "") -> str:
    with pytest.raises(ApplicationError) as caught:
        upload_check(upload(data, name, content_type))
    assert caught.value.message.startswith(name.rsplit("/", 1)[-1] + ": ")
    return caught.value.message


@pytest.mark.parametrize(
    ("fmt", "name", "content_type"),
    [
        ("JPEG", "passport.jpg", "image/jpeg"),
        ("JPEG", "passport.JPEG", "image/jpg"),
        ("PNG", "scan.png", "image/png"),
        ("WEBP", "photo.webp", "image/webp"),
        ("PNG", "no-extension", "application/octet-stream"),
    ],
)
def test_photos_of_the_accepted_types_pass_with_their_dimensions(fmt, name, content_type):
    data = image_bytes(fmt)
    checked = upload_check(upload(data, name, content_type))
    assert (checked.width, checked.height) == (240, 160)
    assert checked.size == len(data)
    assert checked.content_type == {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}[fmt]


def test_a_pdf_passes_with_its_page_count():
    checked = upload_check(upload(pdf_bytes(pages=2), "statement.pdf", "application/pdf"))
    assert (checked.content_type, checked.pages, checked.extension) == ("application/pdf", 2, "pdf")


def test_an_oversized_file_is_refused_before_it_is_read():
    data = b"\xff\xd8\xff" + b"0" * (MAX_BYTES + 2 * 1024 * 1024)
    assert refusal(data, "huge.jpg") == "huge.jpg: The file is 12.0 MB, over the 10 MB limit."


def blank_pdf(password: str = "") -> bytes:
    """A one-page PDF with nothing on it: a few hundred bytes."""
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    if password:
        writer.encrypt(password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def plain_png(size: tuple[int, int]) -> bytes:
    """One colour: it compresses to a couple of hundred bytes."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 200, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_empty_or_tiny_file_is_refused():
    assert refusal(b"", "empty.png") == "empty.png: The file is empty."
    assert refusal(image_bytes(size=(4, 4)), "dot.png") == (
        "dot.png: The image is only 4 × 4 pixels: too small to read. Upload a larger photo."
    )
    data = plain_png((60, 60))
    assert refusal(data, "grey.png") == (
        f"grey.png: The file is only {len(data)} bytes: too small to be a readable photo or scan of a document."
    )
    assert "too small to be a readable photo" in refusal(blank_pdf(), "blank.pdf")


def test_a_small_file_of_another_kind_is_refused_for_what_it_is_not_for_its_size():
    html = b"<!doctype html><html><body>Login expired</body></html>"
    assert refusal(html, "bill.pdf") == (
        "bill.pdf: The file is a web page (HTML), not a JPEG, PNG or WebP photo or a PDF."
    )
    locked = blank_pdf(password="secret")
    assert len(locked) < 1024
    assert refusal(locked, "bill.pdf") == "bill.pdf: The PDF is password-protected: upload a copy without a password."


def test_a_corrupt_image_is_refused_as_damaged():
    data = image_bytes("PNG")
    message = refusal(data[: len(data) // 2], "half.png")
    assert message == "half.png: The image is damaged or incomplete and cannot be opened. Upload it again."
    jpeg = image_bytes("JPEG")
    assert "damaged" in refusal(jpeg[:200] + os.urandom(4000), "noise.jpg")


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    # Past Pillow's own guard (MAX_IMAGE_PIXELS) it refuses at open; below it, our smaller limit does.
    assert (
        refusal(png_bomb(30000, 30000), "bomb.png")
        == "bomb.png: The image is far too large to be a photo of a document."
    )
    assert refusal(png_bomb(8000, 8000), "big.png") == (
        "big.png: The image is 8000 × 8000 pixels, more than any photo of a document needs (limit 50 megapixels)."
    )


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (
            b"<!DOCTYPE html><html><body><script>alert(1)</script>" + b" " * 2000 + b"</body></html>",
            "id.jpg",
            "web page",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script>' + b" " * 2000 + b"</svg>",
            "id.jpg",
            "SVG",
        ),
        (b"MZ\x90\x00\x03" + b"\x00" * 2000, "passport.jpg", "program"),
        (None, "passport.jpg", "ZIP archive"),
        (b"just some text " * 200, "scan.pdf", "not a JPEG, PNG or WebP photo or a PDF"),
    ],
)
def test_other_content_disguised_with_a_document_name_is_refused(data, name, words):
    if data is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("inside.jpg", os.urandom(4000))
        data = buffer.getvalue()
    assert words in refusal(data, name)


def test_a_name_that_contradicts_the_content_is_refused():
    assert refusal(image_bytes("PNG"), "statement.pdf") == (
        "statement.pdf: The file's name ends in .pdf but it is a PNG image. Rename it to .png, "
        "or upload the original file."
    )


def test_a_declared_type_that_contradicts_the_content_is_refused():
    message = refusal(image_bytes("PNG"), "scan.png", "application/pdf")
    assert message == "scan.png: The file was sent as application/pdf but it is a PNG image. Upload the original file."


def test_a_password_protected_pdf_is_refused_with_that_reason():
    data = pdf_changed(lambda writer: writer.encrypt("secret"))
    assert refusal(data, "locked.pdf") == "locked.pdf: The PDF is password-protected: upload a copy without a password."


def _open_action(action: dict):
    def change(writer):
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject(k): (NameObject(v) if v.startswith("/") else TextStringObject(v)) for k, v in action.items()}
        )

    return change


def _document_javascript(writer):
    """A document-level script in the /Names /JavaScript tree, run when the file opens."""
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )
    tree = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("run"), writer._add_object(action)])})
    writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})


def _page_actions(writer):
    writer.pages[0][NameObject("/AA")] = DictionaryObject(
        {
            NameObject("/O"): DictionaryObject(
                {NameObject("/S"): NameObject("/Named"), NameObject("/N"): NameObject("/Print")}
            )
        }
    )


@pytest.mark.parametrize(
    ("change", "found"),
    [
        (_document_javascript, "JavaScript"),
        (_open_action({"/S": "/JavaScript", "/JS": "app.alert(1)"}), "JavaScript"),
        (_open_action({"/S": "/Launch", "/F": "calc.exe"}), "Launch"),
        (lambda writer: writer.add_attachment("payload.exe", b"MZ" * 100), "EmbeddedFile"),
        (_page_actions, "AA"),
    ],
)
def test_a_script_bearing_pdf_is_refused(change, found):
    message = refusal(pdf_changed(change), "statement.pdf")
    assert message.startswith("statement.pdf: The PDF contains scripts or embedded content (")
    assert found in message


def test_an_open_action_that_only_goes_to_a_page_is_fine():
    def goto(writer):
        page = writer.pages[0].indirect_reference
        writer._root_object[NameObject("/OpenAction")] = ArrayObject([page, NameObject("/Fit")])

    assert upload_check(upload(pdf_changed(goto), "ok.pdf")).pages == 1


def test_a_truncated_pdf_is_refused_as_incomplete():
    data = pdf_bytes()
    assert refusal(data[: len(data) * 2 // 3], "cut.pdf") == (
        "cut.pdf: The PDF is incomplete (it ends early): upload the whole file."
    )


def test_a_corrupt_pdf_is_refused_as_damaged():
    data = b"%PDF-1.7\n" + os.urandom(3000) + b"\n%%EOF\n"
    assert refusal(data, "broken.pdf") == "broken.pdf: The PDF is damaged and cannot be opened. Upload it again."


def test_a_folder_sent_with_the_name_is_not_repeated_in_the_message():
    with pytest.raises(ApplicationError) as caught:
        upload_check(upload(b"", "C:\\Users\\me\\empty.png"))
    assert caught.value.message == "empty.png: The file is empty."
