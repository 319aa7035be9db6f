"""Phone numbers in one form (E.164), with clear messages for what cannot be one."""

from __future__ import annotations

import re

import phonenumbers

from brokerage.errors import ApplicationError

# Text that looks like a phone number (searched by its digits) rather than a name or email.
PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]{6,}$")
# What a number may be written with. phonenumbers would read "0000x" or "0000 ext. 12" and drop the
# letters or keep an extension we cannot dial: refuse them instead of storing a different number.
PHONE_CHARACTERS = re.compile(r"^\+?[\d\s().\-/]+$")


def phone_normalize(text: str, *, country: str = "", field: str = "phone") -> str:
    """ "+44 7700 900123" or a national "07700 900123" with its country -> "+447700900123"; "" stays "".

    Raises ApplicationError (on `field`) for anything that is not a valid number.
    """
    text = (text or "").strip()
    if not text:
        return ""
    if not PHONE_CHARACTERS.match(text):
        raise ApplicationError(
            "That phone number has letters or an extension.",
            fields={field: ["Remove the extension or letters: write only the number, like +44 7911 123456."]},
        )
    region = (country or "").upper() or None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        hint = "" if text.startswith("+") or region else " Write it with the country code, like +44 7911 123456."
        raise ApplicationError(
            "That phone number cannot be read.", fields={field: [f"Not a phone number.{hint}"]}
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ApplicationError("That phone number is not valid.", fields={field: ["Not a valid phone number."]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    if not e164:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164
