"""Machine-readable zones: ICAO 9303 specimens of every format, wrong check digits named, OCR noise
cleaned, and the comparison with the client's profile (including names typed in Cyrillic)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.models import Client
from kyc.checks import status_resolve
from kyc.checks.mrz import MrzError, mrz_checks, mrz_clean, mrz_parse

# ICAO Doc 9303 specimens (Utopia, Anna Maria Eriksson; expired in 2012).
TD3_SPECIMEN = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
TD2_SPECIMEN = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6"
TD1_SPECIMEN = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
BEFORE_EXPIRY = date(2010, 1, 1)
TODAY = date(2026, 11, 25)


def check_digit(text: str) -> str:
    values = {**{str(n): n for n in range(10)}, **{chr(65 + n): 10 + n for n in range(26)}, "<": 0}
    return str(sum(values[c] * (7, 3, 1)[i % 3] for i, c in enumerate(text)) % 10)


def td3(*, surname: str, given: str, number: str, nationality: str, birth: str, expiry: str, sex: str = "F") -> str:
    """A passport zone with correct check digits (the test's own ICAO arithmetic)."""
    line1 = f"P<{nationality}{surname}<<{given.replace(' ', '<')}".ljust(44, "<")
    number, optional = number.ljust(9, "<"), "<" * 14
    line2 = (
        f"{number}{check_digit(number)}{nationality}{birth}{check_digit(birth)}{sex}{expiry}{check_digit(expiry)}"
        f"{optional}{check_digit(optional)}"
    )
    line2 += check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    return f"{line1}\n{line2}"


def profile(**fields) -> Client:
    defaults = {
        "first_name": "Anna",
        "last_name": "Eriksson",
        "date_of_birth": date(1974, 8, 12),
        "nationality": "SE",
    }
    return Client(**{**defaults, **fields})


def swedish_passport(**changes) -> str:
    fields = {
        "surname": "ERIKSSON",
        "given": "ANNA MARIA",
        "number": "AA1234567",
        "nationality": "SWE",
        "birth": "740812",
        "expiry": "310415",
    }
    return td3(**{**fields, **changes})


def outcomes(results) -> dict[str, str]:
    return {result.name: result.outcome for result in results}


@pytest.mark.parametrize(
    ("text", "expected_format", "number"),
    [(TD3_SPECIMEN, "TD3", "L898902C3"), (TD2_SPECIMEN, "TD2", "D23145890"), (TD1_SPECIMEN, "TD1", "D23145890")],
)
def test_the_icao_specimens_of_each_format_read_with_every_check_digit_right(text, expected_format, number):
    mrz = mrz_parse(text, today=TODAY)
    assert (mrz.format, mrz.failed_check_digits, mrz.invalid_fields) == (expected_format, [], [])
    assert (mrz.surname, mrz.given_names, mrz.document_number) == ("ERIKSSON", "ANNA MARIA", number)
    assert (mrz.issuing_country, mrz.nationality, mrz.sex) == ("UTO", "UTO", "F")
    assert (mrz.birth_date, mrz.expiry_date) == (date(1974, 8, 12), date(2012, 4, 15))


def test_the_specimen_passes_its_own_checks_but_is_expired_today():
    results, updates = mrz_checks(TD3_SPECIMEN, client=profile(nationality=""), kind="passport", today=TODAY)
    assert outcomes(results) == {
        "mrz": "pass",
        "name": "pass",
        "date_of_birth": "pass",
        "nationality": "warn",
        "expiry": "fail",
    }
    assert results[-1].summary == "The document expired on 15 Apr 2012."
    assert updates == {"document_number": "L898902C3", "issuing_country": "UTO", "expires_on": date(2012, 4, 15)}


def test_the_specimen_before_its_expiry_is_not_flagged_expired():
    results, _ = mrz_checks(TD1_SPECIMEN, client=profile(nationality=""), kind="id_card", today=BEFORE_EXPIRY)
    assert outcomes(results)["expiry"] == "pass"


def test_a_valid_passport_matching_the_profile_passes_every_check():
    results, updates = mrz_checks(swedish_passport(), client=profile(), kind="passport", today=TODAY)
    assert set(outcomes(results).values()) == {"pass"}
    assert updates == {"document_number": "AA1234567", "issuing_country": "SWE", "expires_on": date(2031, 4, 15)}
    name = next(r for r in results if r.name == "name")
    assert name.evidence["document"] == {"surname": "ERIKSSON", "given_names": "ANNA MARIA"}
    assert name.evidence["scores"] == {"surname": 100, "given_names": 100}


MRZ_WORDS = "The two or three lines of letters and <<< at the bottom of the photo page (the MRZ)"
RETYPE = "Type the lines again exactly as printed, or upload a sharper photo."


@pytest.mark.parametrize(
    ("line", "position", "named", "part"),
    [
        (1, 9, ["document number", "whole lines"], "the document number"),
        (1, 19, ["date of birth", "whole lines"], "the date of birth"),
        (1, 27, ["expiry date", "whole lines"], "the expiry date"),
        (1, 43, ["whole lines"], "the whole lines"),
    ],
)
def test_a_wrong_check_digit_says_in_plain_words_which_part_was_typed_wrongly(line, position, named, part):
    lines = TD3_SPECIMEN.splitlines()
    wrong = str((int(lines[line][position]) + 1) % 10)
    lines[line] = lines[line][:position] + wrong + lines[line][position + 1 :]
    mrz = mrz_parse("\n".join(lines), today=TODAY)
    assert sorted(mrz.failed_check_digits) == named
    results, _ = mrz_checks("\n".join(lines), client=profile(), kind="passport", today=TODAY)
    assert results[0].outcome == "fail"
    assert results[0].summary == f"{MRZ_WORDS} seem to be typed wrongly: check {part}. {RETYPE}"


def test_several_parts_typed_wrongly_are_all_named():
    lines = TD3_SPECIMEN.splitlines()
    lines[1] = lines[1][:9] + str((int(lines[1][9]) + 1) % 10) + lines[1][10:]
    lines[1] = lines[1][:19] + str((int(lines[1][19]) + 1) % 10) + lines[1][20:]
    results, _ = mrz_checks("\n".join(lines), client=profile(), kind="passport", today=TODAY)
    assert results[0].summary == (
        f"{MRZ_WORDS} seem to be typed wrongly: check the document number and the date of birth. {RETYPE}"
    )
    assert "check digit" not in results[0].summary.lower()


def test_ocr_noise_is_cleaned_case_spaces_lookalikes_and_letters_in_digit_places():
    noisy = "  p‹utoeriksson«anna‹maria<<< <<<<<<<<<<<<<<<<\nL898902C36UTO74O8122F12O4159ZE184226B<<<<<1O  \n\n"
    name, lines, corrections = mrz_clean(noisy)
    assert name == "TD3"
    assert lines == TD3_SPECIMEN.splitlines()
    assert "case, spaces and filler lookalikes normalised" in corrections
    assert any("letters read as digits" in c for c in corrections)
    assert mrz_parse(noisy, today=TODAY).failed_check_digits == []


def test_lines_missing_trailing_fillers_are_padded_and_extra_fillers_dropped():
    first, second = TD3_SPECIMEN.splitlines()
    name, lines, corrections = mrz_clean(f"{first.rstrip('<')}\n{second}<<<")
    assert (name, lines) == ("TD3", [first, second])
    assert corrections == ["line 1: 19 filler(s) added at the end", "line 2: 3 extra filler(s) removed"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "P<UTOERIKSSON",
            "You gave 1 line(s) of the two or three lines of letters and <<< at the bottom of the photo page "
            "(the MRZ): a passport has 2 and an identity card 2 or 3. Type each line on a line of its own.",
        ),
        (
            TD3_SPECIMEN.replace("ZE184226B", "ZE184226BXYZ"),
            "Line 2 of the two or three lines of letters and <<< at the bottom of the photo page (the MRZ) has 47 "
            "characters, but it should have 44. Type the line exactly as printed, with every <.",
        ),
        (
            TD3_SPECIMEN.replace("ANNA", "AN$A"),
            "Line 1 of the two or three lines of letters and <<< at the bottom of the photo page (the MRZ) has "
            "characters that are never there: $. It holds only capital letters, digits and <.",
        ),
    ],
)
def test_an_unreadable_zone_is_a_clear_error(text, message):
    with pytest.raises(MrzError, match=None) as caught:
        mrz_parse(text, today=TODAY)
    assert str(caught.value) == message
    results, updates = mrz_checks(text, client=profile(), kind="passport", today=TODAY)
    assert [(r.name, r.outcome, r.summary) for r in results] == [("mrz", "fail", message)]
    assert updates == {}


def test_a_different_persons_name_fails_and_a_close_spelling_needs_a_look():
    results, _ = mrz_checks(
        swedish_passport(), client=profile(first_name="John", last_name="Smith"), kind="passport", today=TODAY
    )
    name = next(r for r in results if r.name == "name")
    assert name.outcome == "fail"
    assert (
        name.summary
        == "The name on the document (ANNA MARIA ERIKSSON) does not match the name in your profile (John Smith)."
    )
    results, _ = mrz_checks(swedish_passport(), client=profile(last_name="Ericsson"), kind="passport", today=TODAY)
    assert outcomes(results)["name"] == "warn"


def test_swapped_first_and_last_names_need_a_look_not_a_new_upload():
    results, _ = mrz_checks(
        swedish_passport(), client=profile(first_name="Eriksson", last_name="Anna"), kind="passport", today=TODAY
    )
    name = next(r for r in results if r.name == "name")
    assert (name.outcome, name.summary.startswith("The first and last names are swapped")) == ("warn", True)


def test_a_different_date_of_birth_fails_with_both_dates():
    results, _ = mrz_checks(
        swedish_passport(), client=profile(date_of_birth=date(1975, 8, 12)), kind="passport", today=TODAY
    )
    birth = next(r for r in results if r.name == "date_of_birth")
    assert birth.outcome == "fail"
    assert (
        birth.summary == "The date of birth on the document (12 Aug 1974) is not the one in your profile (12 Aug 1975)."
    )
    assert birth.evidence == {"document": "1974-08-12", "profile": "1975-08-12"}


def test_a_different_nationality_needs_a_look():
    results, _ = mrz_checks(swedish_passport(), client=profile(nationality="NO"), kind="passport", today=TODAY)
    nationality = next(r for r in results if r.name == "nationality")
    assert (nationality.outcome, nationality.evidence) == (
        "warn",
        {"document": "SWE", "profile": "NO", "profile_alpha3": "NOR"},
    )


def test_an_expired_passport_fails():
    results, updates = mrz_checks(swedish_passport(expiry="251124"), client=profile(), kind="passport", today=TODAY)
    assert outcomes(results)["expiry"] == "fail"
    assert updates["expires_on"] == date(2025, 11, 24)


@pytest.mark.parametrize(
    ("first_name", "last_name", "surname", "given"),
    [
        ("Юлия", "Щукина", "SHCHUKINA", "IULIIA"),  # ICAO 9303 transliteration (Russian passports since 2013)
        ("Юлия", "Щукина", "SHCHUKINA", "YULIYA"),  # the older spelling
        ("Ольга", "Хрущёва", "KHRUSHCHEVA", "OLGA"),
        ("Jürgen", "Müller", "MUELLER", "JUERGEN"),
        ("Jürgen", "Müller", "MULLER", "JURGEN"),
    ],
)
def test_names_typed_in_their_own_script_match_the_latin_zone(first_name, last_name, surname, given):
    zone = td3(surname=surname, given=given, number="751234567", nationality="RUS", birth="900101", expiry="300101")
    client = profile(first_name=first_name, last_name=last_name, date_of_birth=date(1990, 1, 1), nationality="RU")
    results, _ = mrz_checks(zone, client=client, kind="passport", today=TODAY)
    assert outcomes(results) == {
        "mrz": "pass",
        "name": "pass",
        "date_of_birth": "pass",
        "nationality": "pass",
        "expiry": "pass",
    }


def test_an_arabic_script_name_that_cannot_be_spelt_letter_by_letter_goes_to_a_person_not_back_to_the_client():
    zone = td3(surname="ALRASHID", given="OMAR KHALID", number="A1234567", nationality="IRQ", birth="900101",
               expiry="300101")  # fmt: skip
    client = profile(first_name="عمر خالد", last_name="الرشيد", date_of_birth=date(1990, 1, 1), nationality="IQ")
    results, _ = mrz_checks(zone, client=client, kind="passport", today=TODAY)
    name = next(result for result in results if result.name == "name")
    assert name.outcome == "warn"
    assert "not in Latin letters" in name.summary and "staff to compare" in name.summary
    # A Latin name that differs is still a failure: the client typed someone else's name.
    results, _ = mrz_checks(zone, client=profile(first_name="Peter", last_name="Smith", date_of_birth=date(1990, 1, 1),
                                                 nationality="IQ"), kind="passport", today=TODAY)  # fmt: skip
    assert outcomes(results)["name"] == "fail"


def test_an_identity_card_zone_on_a_passport_upload_needs_a_look():
    results, _ = mrz_checks(TD1_SPECIMEN, client=profile(), kind="passport", today=BEFORE_EXPIRY)
    assert (results[0].outcome, results[0].summary) == ("warn", "The zone is of a TD1 document, not a passport.")


letters = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=12)
digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


@given(
    surname=letters,
    given_name=letters,
    number=digits,
    birth=st.dates(min_value=date(1930, 1, 1), max_value=date(2008, 12, 31)),
    expiry=st.dates(min_value=date(2027, 1, 1), max_value=date(2036, 12, 31)),
    position=st.integers(min_value=0, max_value=8),
    shift=st.integers(min_value=1, max_value=9),
)
def test_any_valid_zone_reads_back_and_any_changed_digit_of_its_number_is_caught(
    surname, given_name, number, birth, expiry, position, shift
):
    zone = td3(
        surname=surname,
        given=given_name,
        number=number,
        nationality="FRA",
        birth=birth.strftime("%y%m%d"),
        expiry=expiry.strftime("%y%m%d"),
    )
    mrz = mrz_parse(zone, today=TODAY)
    assert (mrz.surname, mrz.given_names, mrz.document_number) == (surname, given_name, number)
    assert (mrz.birth_date, mrz.expiry_date, mrz.failed_check_digits) == (birth, expiry, [])
    lines = zone.splitlines()
    wrong = str((int(number[position]) + shift) % 10)
    lines[1] = lines[1][:position] + wrong + lines[1][position + 1 :]
    assert "document number" in mrz_parse("\n".join(lines), today=TODAY).failed_check_digits


@given(
    position=st.integers(min_value=0, max_value=87),
    replacement=st.sampled_from("0123456789ABCXYZ<$ "),
    lines=st.sampled_from([1, 2, 3]),
)
def test_what_the_client_reads_about_a_mistyped_mrz_is_a_plain_sentence(position, replacement, lines):
    """Whatever goes wrong in what was typed, the client's reason starts with a capital letter and
    uses no internal words (zone, check digit, TD1/TD2/TD3, hash)."""
    text = "".join(TD3_SPECIMEN.splitlines())
    text = text[:position] + replacement + text[position + 1 :]
    typed = "\n".join(text[i * 44 : (i + 1) * 44] for i in range(2))
    if lines != 2:
        typed = "\n".join(typed.splitlines()[:1] * lines)
    results, _ = mrz_checks(typed, client=profile(), kind="passport", today=TODAY)
    status, reason = status_resolve(results)
    if status == "failed":
        assert reason[0].isupper(), reason
        words = reason.lower()
        assert not any(jargon in words for jargon in ("zone", "check digit", "td1", "td2", "td3", "hash")), reason
