"""Phone numbers are stored in E.164; what cannot be one exact number is refused with a message."""

from __future__ import annotations

import pytest

from brokerage.errors import ApplicationError
from crm.phones import phone_display, phone_normalize


@pytest.mark.parametrize(
    ("text", "country", "e164"),
    [
        ("+44 20 7946 0000", "", "+442079460000"),
        ("+357 99-123456", "", "+35799123456"),
        ("+1 (202) 555-0143", "DE", "+12025550143"),  # the country code wins over the client's country
        ("07911 123456", "GB", "+447911123456"),  # national, read with the client's country
        ("07911 123456", "gb", "+447911123456"),
        ("  ", "GB", ""),
    ],
)
def test_valid_numbers_become_e164(text, country, e164):
    assert phone_normalize(text, country=country) == e164


@pytest.mark.parametrize(
    "text",
    [
        "+44 20 7946 0000x",  # phonenumbers alone would drop the "x" and accept it
        "+44 20 7946 0000 ext. 12",
        "+44 20 7946 0000 x12",
        "+44 20 7946 0000;ext=12",
        "+44 20 7946 0000#12",
        "+1-800-FLOWERS",
        "07911 123456abc",
    ],
)
def test_extensions_and_letters_are_refused_not_dropped(text):
    with pytest.raises(ApplicationError) as refused:
        phone_normalize(text, country="GB", field="new_phone")
    assert refused.value.fields == {
        "new_phone": ["Remove the extension or letters: write only the number, like +44 7911 123456."]
    }


@pytest.mark.parametrize(("text", "country"), [("12", "GB"), ("+44 123", ""), ("+44 20 7946", "")])
def test_too_short_numbers_are_refused(text, country):
    with pytest.raises(ApplicationError) as refused:
        phone_normalize(text, country=country)
    assert refused.value.fields == {"phone": ["Not a valid phone number."]}


def test_a_national_number_without_a_country_asks_for_the_country_code():
    with pytest.raises(ApplicationError) as refused:
        phone_normalize("07911 123456")
    assert refused.value.fields["phone"] == [
        "Not a phone number. Write it with the country code, like +44 7911 123456."
    ]


def test_display_is_international():
    assert phone_display("+447911123456") == "+44 7911 123456"
    assert phone_display("") == ""
