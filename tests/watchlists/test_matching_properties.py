"""Properties of the matcher: what never changes a score, and what never makes screening fail."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from watchlists.matching import ListedEntry, NameIndex, align, name_score, score_bound
from watchlists.names import name_tokens

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=9)
real_words = st.sampled_from(
    [
        "john",
        "smith",
        "li",
        "wei",
        "na",
        "mohammed",
        "muhammad",
        "yusuf",
        "youssef",
        "jin",
        "ping",
        "jinping",
        "xi",
        "abd",
        "rahman",
    ]
)
tokens = st.lists(st.one_of(words, real_words), min_size=1, max_size=6)
marks = st.sampled_from(["\u0301", "\u0300", "\u0308", "\u0302", "\u030c", "\u0327", "\u0303", "\u030a"])


@given(tokens, tokens, st.randoms(use_true_random=False))
def test_score_does_not_depend_on_token_order(client, listed, random):
    shuffled_client, shuffled_listed = client[:], listed[:]
    random.shuffle(shuffled_client)
    random.shuffle(shuffled_listed)
    assert name_score(" ".join(client), " ".join(listed)) == name_score(
        " ".join(shuffled_client), " ".join(shuffled_listed)
    )


@given(tokens, tokens, st.data())
def test_score_does_not_depend_on_case(client, listed, data):
    cased = "".join(char.upper() if data.draw(st.booleans()) else char for char in " ".join(client))
    assert name_score(cased, " ".join(listed)) == name_score(" ".join(client), " ".join(listed))


@given(tokens, tokens, st.data())
def test_score_does_not_depend_on_diacritics(client, listed, data):
    plain = " ".join(client)
    accented = unicodedata.normalize(
        "NFC",
        "".join(char + (data.draw(marks) if char.isalpha() and data.draw(st.booleans()) else "") for char in plain),
    )
    assert name_score(accented, " ".join(listed)) == name_score(plain, " ".join(listed))


@given(tokens)
def test_a_name_scores_100_against_itself(name):
    assert name_score(" ".join(name), " ".join(name)) == 100


@given(tokens, tokens)
def test_scores_are_between_0_and_100(client, listed):
    assert 0 <= name_score(" ".join(client), " ".join(listed)) <= 100


INDEX = NameIndex(
    [
        ListedEntry("un", "1", "h1", "John Michael Smith", aliases=("Smith, John",), dates_of_birth=("1970",)),
        ListedEntry("un", "2", "h2", "Владимир Путин", nationalities=("RU",), dates_of_birth=("1952-10-07",)),
        ListedEntry("un", "3", "h3", "محمد يوسف", aliases=("Muhammad Yusuf",)),
        ListedEntry("un", "4", "h4", "李娜", kind="other"),
        ListedEntry("un", "5", "h5", "Acme Trading LLC", kind="organisation"),
        ListedEntry("un", "6", "h6", "Mr", dates_of_birth=("garbage", "1970-13-45")),
    ]
)
any_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)


@settings(max_examples=300)
@given(
    st.lists(any_text, max_size=4),
    st.one_of(st.none(), st.dates()),
    st.text(max_size=4),
    st.text(max_size=4),
    st.integers(min_value=0, max_value=100),
    st.sampled_from(["person", "company"]),
)
def test_screening_never_fails_on_any_text(names, born, nationality, country, threshold, kind):
    matches = INDEX.screen(
        names, date_of_birth=born, nationality=nationality, country=country, threshold=threshold, kind=kind
    )
    for match in matches:
        assert threshold <= match.score <= 100
        assert match.explanation["final"] == match.score


@given(tokens, tokens)
def test_the_blocking_bound_never_undercuts_a_score_when_every_client_token_is_reached(client, listed):
    client_tokens, listed_tokens = name_tokens(" ".join(client)), name_tokens(" ".join(listed))
    score = align(client_tokens, listed_tokens)[0]
    assert score <= score_bound(len(client_tokens), len(client_tokens), len(listed_tokens)) + 0.5
