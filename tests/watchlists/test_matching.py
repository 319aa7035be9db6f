"""Screening against the current list versions: tolerant name matching, DOB and nationality, the index.

Entries are written straight into ListVersion/Entry rows (the public schema), as a load would leave them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from itertools import count

import pytest
from django_tenants.utils import tenant_context

from tests.concurrency import race
from watchlists import matching
from watchlists.matching import (
    DOB_CONFLICT,
    DOB_EXACT,
    DOB_NEAR_YEAR,
    DOB_SAME_MONTH,
    DOB_SAME_YEAR,
    DOB_SAME_YEAR_CONFLICT,
    NATIONALITY_MATCH,
    NATIONALITY_MISMATCH,
    RESIDENCE_MATCH,
    index_stats,
    name_score,
    screen,
)
from watchlists.models import Entry, ListVersion
from watchlists.names import name_tokens

_ids = count(1)


def entry(name, *, aliases=(), dobs=(), nationalities=(), kind="person", programs=("SDGT",), entry_id=None, pep=False):
    return {
        "entry_id": entry_id or f"E{next(_ids)}",
        "name": name,
        "aliases": list(aliases),
        "dates_of_birth": list(dobs),
        "nationalities": list(nationalities),
        "kind": kind,
        "programs": list(programs),
        "is_pep": pep,
    }


def load(source, *entries):
    """A new current version of `source` holding `entries` (the previous current one is retired)."""
    ListVersion.objects.filter(source=source, is_current=True).update(is_current=False)
    version = ListVersion.objects.create(
        source=source,
        format="test",
        file_name=f"{source}.test",
        sha256="0" * 64,
        entry_count=len(entries),
        is_current=True,
    )
    Entry.objects.bulk_create(
        Entry(
            version=version, content_hash=hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest(), **data
        )
        for data in entries
    )
    return version


def found(matches):
    return {match.entry.entry_id: match.score for match in matches}


@pytest.fixture
def sdn(db):
    return load(
        "ofac_sdn",
        entry("John Michael SMITH", entry_id="smith", dobs=["1970-03-01"], nationalities=["GB"]),
        entry("Hans Müller", entry_id="muller"),
        entry("Hans Mueller", entry_id="mueller"),
        entry("Vladimir Vladimirovich PUTIN", entry_id="putin", dobs=["1952-10-07"], nationalities=["RU"]),
        entry("Евгений Викторович Пригожин", entry_id="prigozhin", aliases=["Prigozhin, Yevgeniy"]),
        entry("Muhammad Yusuf AL-HASSAN", entry_id="yusuf", nationalities=["IQ"]),
        entry("Abdul Karim RASHID", entry_id="rashid", aliases=["Abu Omar al-Baghdadi", "Karim Rashid"]),
        entry(
            "Usama bin Muhammad bin Awad BIN LADIN",
            entry_id="ladin",
            aliases=["Usama BIN LADIN", "Osama bin Laden"],
            dobs=["1957"],
            nationalities=["SA"],
        ),
        entry("LI Na", entry_id="lina", nationalities=["CN"]),
        entry("Acme Trading LLC", entry_id="acme", kind="organisation", programs=["IRAN"]),
        entry("Golden Star", entry_id="vessel", kind="vessel"),
    )


def test_the_same_name_in_another_order_matches(sdn):
    assert found(screen(["Smith John Michael"])) == {"smith": 100}


def test_a_missing_middle_name_still_matches(sdn):
    [match] = screen(["John Smith"])
    assert match.entry.entry_id == "smith"
    assert match.score == name_score("John Smith", "John Michael SMITH") == 93
    assert match.explanation["token_pairs"] == [
        {"client": "john", "list": "john", "score": 100, "how": "same"},
        {"client": "smith", "list": "smith", "score": 100, "how": "same"},
    ]


@pytest.mark.parametrize("client", ["Hans Müller", "Hans Mueller", "Hans Muller", "HANS MULLER", "hans müller"])
def test_diacritics_and_their_spellings_match_both_entries(sdn, client):
    assert set(found(screen([client]))) == {"muller", "mueller"}


def test_a_cyrillic_client_name_matches_the_latin_list_name(sdn):
    [match] = screen(["Владимир Путин"], date_of_birth=date(1952, 10, 7), nationality="RU")
    assert match.entry.entry_id == "putin"
    assert match.explanation["client_name"] == "Владимир Путин"
    assert match.explanation["list_name"] == "Vladimir Vladimirovich PUTIN"


def test_a_latin_client_name_matches_the_cyrillic_list_name(sdn):
    [match] = screen(["Yevgeny Prigozhin"])
    assert match.entry.entry_id == "prigozhin"
    # The Latin alias lacks the patronymic too, so both names score alike; the primary one wins the tie.
    assert match.explanation["token_pairs"][0] == {
        "client": "prigozhin",
        "list": "prigozhin",
        "score": 100,
        "how": "same",
    }


@pytest.mark.parametrize("client", ["Mohammed Youssef Hassan", "Mohamed Yousef al-Hassan", "محمد يوسف الحسن"])
def test_arabic_names_match_across_transliterations(sdn, client):
    [match] = screen([client])
    assert match.entry.entry_id == "yusuf"
    assert match.score >= 85
    assert {pair["how"] for pair in match.explanation["token_pairs"]} <= {"same", "transliteration", "spelling"}


def test_osama_in_arabic_script_matches_usama_with_his_year_of_birth(sdn):
    [match] = screen(["أسامة بن لادن"], date_of_birth=date(1957, 3, 10))
    assert match.entry.entry_id == "ladin"
    assert match.explanation["dob_effect"] == DOB_SAME_YEAR


def test_an_alias_hit_says_it_was_an_alias(sdn):
    [match] = screen(["Abu Omar Baghdadi"])
    assert match.entry.entry_id == "rashid"
    assert match.explanation["list_name"] == "Abu Omar al-Baghdadi"
    assert match.explanation["list_name_type"] == "alias"
    assert match.score == 100


def test_the_explanation_is_complete_and_json_able(sdn):
    [match] = screen(["John Smith"], date_of_birth=date(1970, 3, 1), nationality="GB", country="FR")
    assert match.explanation == {
        "client_name": "John Smith",
        "list_name": "John Michael SMITH",
        "list_name_type": "primary",
        "name_score": 93,
        "token_pairs": [
            {"client": "john", "list": "john", "score": 100, "how": "same"},
            {"client": "smith", "list": "smith", "score": 100, "how": "same"},
        ],
        "dob_effect": DOB_EXACT,
        "dob_note": "date of birth 1970-03-01 agrees with the list's 1970-03-01",
        "nationality_effect": NATIONALITY_MATCH,
        "nationality_note": "nationality GB is the list's",
        "final": 100,
    }
    assert match.score == 100
    assert json.loads(json.dumps(match.explanation)) == match.explanation
    assert json.loads(json.dumps(match.entry.as_dict())) == {
        "source": "ofac_sdn",
        "entry_id": "smith",
        "content_hash": Entry.objects.get(entry_id="smith").content_hash,
        "name": "John Michael SMITH",
        "aliases": [],
        "dates_of_birth": ["1970-03-01"],
        "nationalities": ["GB"],
        "programs": ["SDGT"],
        "is_pep": False,
        "kind": "person",
        "version_id": sdn.pk,
    }


@pytest.mark.parametrize(
    ("born", "effect"),
    [
        (date(1970, 3, 1), DOB_EXACT),
        (date(1970, 1, 3), DOB_SAME_YEAR_CONFLICT),
        (date(1985, 3, 1), DOB_CONFLICT),
        (None, 0),
    ],
)
def test_a_full_date_of_birth_lifts_or_lowers(sdn, born, effect):
    matches = screen(["John Smith"], date_of_birth=born, threshold=0)
    [match] = [match for match in matches if match.entry.entry_id == "smith"]
    assert match.explanation["dob_effect"] == effect
    assert match.score == min(100, 93 + effect)


def test_a_conflicting_date_of_birth_drops_a_name_match_below_the_threshold(sdn):
    assert screen(["John Smith"], date_of_birth=date(1985, 3, 1)) == []


@pytest.mark.parametrize(
    ("born", "effect"),
    [
        (date(1957, 12, 31), DOB_SAME_YEAR),
        (date(1958, 1, 1), DOB_NEAR_YEAR),
        (date(1960, 1, 1), matching.DOB_YEAR_CONFLICT),
    ],
)
def test_a_year_only_date_of_birth_compares_on_the_year(born, effect):
    assert matching.dob_effect(["1957"], born)[0] == effect


def test_a_year_and_month_compare_on_both():
    assert matching.dob_effect(["1957-03"], date(1957, 3, 9))[0] == DOB_SAME_MONTH
    assert matching.dob_effect(["1957-03"], date(1957, 4, 9))[0] == DOB_SAME_YEAR_CONFLICT


def test_the_best_of_several_listed_dates_counts_and_nonsense_is_ignored():
    assert matching.dob_effect(["1950", "circa 1960", "1957-03-10"], date(1957, 3, 10))[0] == DOB_EXACT
    assert matching.dob_effect(["unknown"], date(1957, 3, 10)) == (0, "no date of birth to compare")


@pytest.mark.parametrize(
    ("nationality", "country", "effect"),
    [
        ("RU", "", NATIONALITY_MATCH),
        ("ru", "", NATIONALITY_MATCH),
        ("DE", "RU", RESIDENCE_MATCH),
        ("DE", "", NATIONALITY_MISMATCH),
        ("", "", 0),
    ],
)
def test_nationality_lifts_or_lowers_slightly(sdn, nationality, country, effect):
    [match] = screen(["Vladimir Putin"], nationality=nationality, country=country, threshold=0)[:1]
    assert match.entry.entry_id == "putin"
    assert match.explanation["nationality_effect"] == effect
    assert match.score == match.explanation["name_score"] + effect


def test_the_threshold_decides(sdn):
    assert found(screen(["John Smith"], threshold=93)) == {"smith": 93}
    assert screen(["John Smith"], threshold=94) == []


def test_common_short_chinese_names_do_not_hit_each_other(sdn):
    assert screen(["Li Wei"], nationality="CN") == []
    assert found(screen(["Li Na"])) == {"lina": 100}
    assert found(screen(["李娜"])) == {"lina": 100}


@pytest.mark.parametrize(
    ("client", "listed"),
    [("Li Wei", "Li Na"), ("Wang Wei", "Wang Wen"), ("Mahmoud Abbas", "Mohammed Abbas"), ("Hassan Ali", "Hussein Ali")],
)
def test_different_names_sharing_a_surname_stay_below_the_default_threshold(client, listed):
    assert name_score(client, listed) < matching.DEFAULT_THRESHOLD - matching.MAX_LIFT


def test_one_shared_name_part_is_not_a_hit_even_with_date_and_nationality(sdn):
    assert screen(["Smith"], date_of_birth=date(1970, 3, 1), nationality="GB") == []


def test_typos_anywhere_in_every_name_part_are_still_found():
    index = matching.NameIndex([matching.ListedEntry("un", "UN-9", "hash", "John Smith")])
    assert found(index.screen(["Jonh Snith"], threshold=75)) == {"UN-9": 78}


def test_a_person_is_screened_against_persons_and_a_company_against_organisations(sdn):
    assert screen(["Acme Trading"]) == []
    assert found(screen(["ACME TRADING Ltd."], kind="company")) == {"acme": 100}
    assert found(screen(["Golden Star"], kind="company")) == {"vessel": 100}
    assert screen(["John Michael Smith"], kind="company") == []


def test_several_client_names_report_the_best_per_entry(sdn):
    matches = screen(["Jon Smyth", "John Michael Smith"])
    assert found(matches) == {"smith": 100}
    assert matches[0].explanation["client_name"] == "John Michael Smith"


def test_screening_works_from_a_tenant_schema(sdn, alpha):
    with tenant_context(alpha):
        assert found(screen(["John Michael Smith"])) == {"smith": 100}


@pytest.mark.parametrize(
    "names",
    [
        [],
        [""],
        ["   "],
        ["👍🏽🔥"],
        ["\u200f\u202e"],
        ["x" * 100_000],
        ["محمد " * 5000],
        ["Mr"],
        ["a b c d e f g h i j k l m n o"],
    ],
)
def test_bad_names_give_no_match_and_no_error(sdn, names):
    assert screen(names) == []


@pytest.mark.parametrize("threshold", [-1, 101])
def test_a_threshold_outside_0_100_is_refused(sdn, threshold):
    with pytest.raises(ValueError, match="threshold"):
        screen(["John Smith"], threshold=threshold)


def test_an_unknown_client_kind_is_refused(sdn):
    with pytest.raises(ValueError, match="kind"):
        screen(["John Smith"], kind="robot")


def test_a_new_current_version_rebuilds_the_index(sdn):
    before = index_stats()
    assert before["version_ids"] == [sdn.pk]
    assert before["entries"] == 11
    assert found(screen(["John Michael Smith"])) == {"smith": 100}
    assert index_stats()["builds"] == before["builds"]  # nothing changed, nothing rebuilt

    newer = load("ofac_sdn", entry("Jane Doe", entry_id="doe"))
    eu = load("eu", entry("John Michael Smith", entry_id="EU-1"))
    assert found(screen(["John Michael Smith"])) == {"EU-1": 100}
    assert found(screen(["Jane Doe"])) == {"doe": 100}
    after = index_stats()
    assert after["version_ids"] == sorted([newer.pk, eu.pk])
    assert after["entries"] == 2
    assert after["builds"] == before["builds"] + 1

    ListVersion.objects.filter(pk=eu.pk).update(is_current=False)
    assert screen(["John Michael Smith"]) == []


def test_no_current_version_means_no_match(db):
    ListVersion.objects.update(is_current=False)
    assert screen(["John Smith"]) == []
    assert index_stats()["entries"] == 0


@pytest.mark.django_db(transaction=True)
def test_racing_screenings_after_a_load_build_the_index_once(alpha):
    load("un", entry("Kim Jong Un", entry_id="UN-1"))
    builds = index_stats()["builds"]
    load("un", entry("Kim Jong Il", entry_id="UN-2"))

    results = race(alpha, lambda index: found(screen(["Kim Jong Il"])), count=6)

    assert results == [{"UN-2": 100}] * 6
    assert index_stats()["builds"] == builds + 1


def test_a_screening_scores_a_handful_of_names_not_the_whole_list():
    given = ["John", "Maria", "Mohammed", "Wei", "Ivan", "Anna", "Omar", "Peter", "Li", "Yusuf"]
    family = ["Smith", "Garcia", "Hassan", "Wang", "Petrov", "Rossi", "Haddad", "Novak", "Chen", "Khan"]
    names = [f"{first} {middle} {last}" for first in given for middle in given for last in family]
    index = matching.NameIndex(matching.ListedEntry("un", name, "hash", name) for name in names)
    floor = matching.DEFAULT_THRESHOLD - matching.MAX_LIFT

    scored = index.candidates(name_tokens("John Peter Smith"), floor)

    assert len(index.forms) == 550  # "John Peter X" and "Peter John X" are one form
    assert 0 < len(scored) < 30
    assert found(index.screen(["John Peter Smith"])) == {"John Peter Smith": 100, "Peter John Smith": 100}
