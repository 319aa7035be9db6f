"""Each list format is read into the same normalised entries: names and aliases (non-Latin scripts
too), dates of birth as precise as the list gives them, nationalities as ISO codes, programmes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchlists.loading import SAMPLES, SAMPLES_DIR
from watchlists.parsers import ListEntry, ListFile, ParseNotes, WatchlistFileError, entries_parse
from watchlists.parsers.base import country_code, english_dates

FIXTURES = Path(__file__).parent / "fixtures"


def parse(format: str, *paths: Path | io.BytesIO, notes: ParseNotes | None = None) -> dict[str, ListEntry]:
    notes = notes if notes is not None else ParseNotes()
    return {entry.entry_id: entry for entry in entries_parse(format, [ListFile.of(p) for p in paths], notes)}


def ofac_csv_files(folder: str = "ofac") -> list[Path]:
    return [
        FIXTURES / folder / name for name in ("sdn.csv", "alt.csv", "add.csv") if (FIXTURES / folder / name).exists()
    ]


class TestOfacCsv:
    def test_reads_names_aliases_programs_and_remarks_fields(self):
        entries = parse("sdn_csv", *ofac_csv_files())

        assert list(entries) == ["36", "173", "306"]
        halabi = entries["173"]
        assert halabi.kind == "person"
        assert halabi.name == "HALABI, Khalil Ibrahim"
        assert halabi.aliases == ("AL-HALABI, Khalil", "خليل إبراهيم الحلبي")
        assert halabi.programs == ("IRAQ2", "SDGT")
        # "DOB 01 Jul 1948; alt. DOB circa 1950": a day and a year, each as precise as given.
        assert halabi.dates_of_birth == ("1948-07-01", "1950")
        # "nationality Iraq; citizen Jordan"
        assert halabi.nationalities == ("IQ", "JO")
        assert "Title: Former Minister" in halabi.remarks

    def test_entity_has_empty_fields_for_minus_zero_minus_and_its_address_in_remarks(self):
        entity = parse("sdn_csv", *ofac_csv_files())["36"]

        assert entity.kind == "organisation"
        assert entity.aliases == ("AERO STAR TRADING",)
        assert entity.dates_of_birth == entity.nationalities == ()
        assert entity.remarks == "Address: Calle 23 No. 55, Havana, Cuba"

    def test_month_precision_and_cyrillic_former_name(self):
        orlova = parse("sdn_csv", *ofac_csv_files())["306"]

        assert orlova.dates_of_birth == ("1977-02",)
        assert orlova.nationalities == ("RU",)
        assert orlova.aliases == ("ОРЛОВА, Елена",)

    def test_files_are_told_apart_by_their_columns_not_their_names_or_order(self, tmp_path):
        renamed = []
        for index, path in enumerate(reversed(ofac_csv_files())):
            copy = tmp_path / f"download-{index}.csv"
            copy.write_bytes(path.read_bytes())
            renamed.append(copy)

        assert parse("sdn_csv", *renamed) == parse("sdn_csv", *ofac_csv_files())

    def test_a_year_range_becomes_each_year(self):
        entries = parse("sdn_csv", *ofac_csv_files("ofac_next"))

        assert entries["411"].dates_of_birth == ("1966", "1967", "1968")
        assert entries["411"].nationalities == ("MX",)
        assert entries["411"].name == "QUINTERO SALAZAR, Héctor"

    def test_windows_1252_file_is_read(self):
        row = '1,"NUÑEZ, José","individual","CUBA","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","DOB 1950."\r\n'
        upload = io.BytesIO(row.encode("cp1252"))

        assert parse("sdn_csv", upload)["1"].name == "NUÑEZ, José"

    def test_alt_csv_alone_is_refused(self):
        with pytest.raises(WatchlistFileError, match="No sdn.csv among the files"):
            parse("sdn_csv", FIXTURES / "ofac" / "alt.csv")


class TestOfacXml:
    def test_reads_entries_under_any_namespace(self):
        entries = parse("sdn_xml", FIXTURES / "ofac" / "sdn.xml")

        halabi = entries["173"]
        assert halabi.name == "HALABI, Khalil Ibrahim"
        assert halabi.aliases == ("AL-HALABI, Khalil", "خليل إبراهيم الحلبي")
        assert halabi.dates_of_birth == ("1948-07-01", "1950")
        assert halabi.nationalities == ("IQ", "JO")
        assert halabi.programs == ("IRAQ2", "SDGT")
        assert entries["36"].kind == "organisation"
        assert entries["306"].dates_of_birth == ("1977-02",)

    def test_same_list_as_csv_or_xml_gives_the_same_content_hashes(self):
        from_csv = parse("sdn_csv", *ofac_csv_files())
        from_xml = parse("sdn_xml", FIXTURES / "ofac" / "sdn.xml")

        assert {key: entry.content_hash for key, entry in from_xml.items()} == {
            key: entry.content_hash for key, entry in from_csv.items()
        }


class TestEuXml:
    def test_reads_aliases_birthdates_citizenships_and_programme(self):
        entries = parse("eu_xml", FIXTURES / "eu.xml")

        lebedev = entries["EU.100.1"]
        assert lebedev.kind == "person"
        assert lebedev.name == "Pavel Olegovich LEBEDEV"
        assert lebedev.aliases == ("Павел Олегович Лебедев",)  # built from first/middle/last name
        assert lebedev.dates_of_birth == ("1969-12-31", "1970")
        assert lebedev.nationalities == ("RU",)  # "00" (unknown) is left out
        assert lebedev.programs == ("UKR",)  # once, though two regulations name it
        assert lebedev.remarks == "Former deputy head of a fictitious agency."

    def test_month_precision_and_entity_without_reference_number(self):
        entries = parse("eu_xml", FIXTURES / "eu.xml")

        assert entries["EU.100.2"].dates_of_birth == ("1981-05",)
        entity = entries["13"]
        assert entity.kind == "organisation"
        assert entity.name == "Société Générale d'Import-Export de Wŏnsan"
        assert entity.aliases == ("SGIEW",)


class TestUnXml:
    def test_reads_names_in_order_original_script_and_aliases(self):
        notes = ParseNotes()
        entries = parse("un_xml", FIXTURES / "un.xml", notes=notes)

        hamid = entries["QDi.777"]
        assert hamid.name == "HAMID ABDULLAH AL-SAADI"
        assert hamid.aliases == ("حامد عبد الله السعدي", "Abu Hamid", "Hamid al-Sa'di")
        assert hamid.dates_of_birth == ("1974", "1975-08-09")
        assert hamid.nationalities == ("IR",)
        assert hamid.programs == ("Al-Qaida",)
        # A country that no longer exists has no code: it is left out, and said.
        assert notes.unknown_countries == {"Soviet Union": 1}
        assert "Soviet Union (1)" in notes.lines()[0]

    def test_year_range_country_name_mapping_and_entities(self):
        entries = parse("un_xml", FIXTURES / "un.xml")

        assert entries["KPi.777"].name == "PAK MYONG CHOL"
        assert entries["KPi.777"].dates_of_birth == ("1960", "1961", "1962")
        assert entries["KPi.777"].nationalities == ("KP",)
        trust = entries["QDe.777"]
        assert trust.kind == "organisation"
        assert trust.aliases == ("Nijmat al-Sharq",)


class TestFollowTheMoney:
    def test_person_with_pep_topic_aliases_and_codes(self):
        notes = ParseNotes()
        entries = parse("ftm_jsonl", FIXTURES / "ftm.jsonl", notes=notes)

        person = entries["t-pep-1"]
        assert person.is_pep is True
        assert person.kind == "person"
        assert person.aliases == ("Иван Петрович Сидоренко", "Ivan Sidorov")  # no weak alias
        assert person.dates_of_birth == ("1961", "1961-04-12")
        assert person.nationalities == ("RU", "UA")  # "suhh" (Soviet Union) is no ISO code
        assert notes.unknown_countries == {"suhh": 1}

    def test_programmes_from_nested_sanctions_and_skipped_records(self):
        notes = ParseNotes()
        entries = parse("ftm_jsonl", FIXTURES / "ftm.jsonl", notes=notes)

        assert set(entries) == {"t-pep-1", "t-san-1", "t-vessel-1"}
        company = entries["t-san-1"]
        assert company.kind == "organisation"
        assert company.is_pep is False
        assert company.aliases == ("OOO Orion Metally",)
        assert company.programs == ("EU-RUS", "Russia sanctions")
        assert entries["t-vessel-1"].kind == "vessel"
        assert sum(notes.skipped.values()) == 2  # the related person (target false) and the Sanction


@pytest.mark.parametrize(("format", "names", "prefix"), SAMPLES)
def test_bundled_samples_parse_with_every_entry_named(format, names, prefix):
    entries = parse(format, *[SAMPLES_DIR / name for name in names])

    assert len(entries) >= 5
    assert all(entry.name for entry in entries.values())


def test_bundled_samples_cover_scripts_partial_dates_and_a_pep():
    everything = [
        entry
        for format, names, _ in SAMPLES
        for entry in parse(format, *[SAMPLES_DIR / name for name in names]).values()
    ]
    text = " ".join(name for entry in everything for name in (entry.name, *entry.aliases))

    assert 15 <= len(everything) <= 40
    assert any("\u0400" <= char <= "\u04ff" for char in text)  # Cyrillic
    assert any("\u0600" <= char <= "\u06ff" for char in text)  # Arabic
    assert any(len(dob) == 4 for entry in everything for dob in entry.dates_of_birth)
    assert any(len(dob) == 7 for entry in everything for dob in entry.dates_of_birth)
    assert any(entry.is_pep for entry in everything)
    assert "é" in text


class TestBadFiles:
    @pytest.mark.parametrize("format", ["sdn_xml", "eu_xml", "un_xml"])
    def test_malformed_xml_is_refused_with_the_file_name(self, tmp_path, format):
        source = {"sdn_xml": "ofac/sdn.xml", "eu_xml": "eu.xml", "un_xml": "un.xml"}[format]
        broken = tmp_path / "broken.xml"
        content = (FIXTURES / source).read_bytes()
        broken.write_bytes(content[: len(content) * 2 // 3])

        with pytest.raises(WatchlistFileError, match=r"broken.xml is not well-formed XML"):
            parse(format, broken)

    @pytest.mark.parametrize(
        ("format", "path", "expected"),
        [
            ("un_xml", "eu.xml", r"eu.xml is not a UN consolidated list: its root element is <export>"),
            ("eu_xml", "un.xml", r"un.xml is not an EU consolidated list: its root element is <CONSOLIDATED_LIST>"),
            ("sdn_xml", "eu.xml", r"is not an OFAC SDN XML file"),
            ("sdn_csv", "eu.xml", r"eu.xml line 1: 1 fields where an OFAC CSV row has 12"),
            ("sdn_xml", "ofac/sdn.csv", r"sdn.csv is not well-formed XML"),
            ("ftm_jsonl", "un.xml", r"un.xml line 1 is not a JSON object"),
        ],
    )
    def test_wrong_format_flag_is_a_clear_error(self, format, path, expected):
        with pytest.raises(WatchlistFileError, match=expected):
            parse(format, FIXTURES / path)

    def test_truncated_csv_row_is_refused_with_its_line(self, tmp_path):
        truncated = tmp_path / "sdn.csv"
        truncated.write_bytes((FIXTURES / "ofac" / "sdn.csv").read_bytes()[:300])

        with pytest.raises(WatchlistFileError, match=r"sdn.csv line 2: not valid CSV|sdn.csv line 2: \d+ fields"):
            parse("sdn_csv", truncated)

    def test_csv_cut_inside_a_quoted_field_is_refused(self):
        upload = io.BytesIO(
            b'1,"SMITH, John","individual","CUBA","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","DOB'
        )

        with pytest.raises(WatchlistFileError, match="not valid CSV"):
            parse("sdn_csv", upload)

    def test_billion_laughs_is_refused(self, tmp_path):
        bomb = tmp_path / "bomb.xml"
        bomb.write_text(
            '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
            "<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>&lol3;</FIRST_NAME>"
            "<REFERENCE_NUMBER>QDi.1</REFERENCE_NUMBER></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"
        )

        with pytest.raises(WatchlistFileError, match="bomb.xml declares XML entities"):
            parse("un_xml", bomb)

    def test_external_entity_is_refused_and_never_read(self, tmp_path):
        secret = tmp_path / "secret.txt"
        secret.write_text("TOP SECRET")
        xxe = tmp_path / "xxe.xml"
        xxe.write_text(
            f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY ext SYSTEM "file://{secret}">]>\n'
            '<export><sanctionEntity euReferenceNumber="EU.1"><subjectType code="person"/>'
            '<nameAlias wholeName="&ext;"/></sanctionEntity></export>'
        )

        with pytest.raises(WatchlistFileError, match="xxe.xml declares XML entities") as raised:
            parse("eu_xml", xxe)
        assert "TOP SECRET" not in str(raised.value)

    def test_record_without_a_name_is_refused(self):
        upload = io.BytesIO(b'{"id": "x1", "schema": "Person", "properties": {"topics": ["sanction"]}}\n')

        with pytest.raises(WatchlistFileError, match="record x1 has no name"):
            parse("ftm_jsonl", upload)

    def test_unknown_format_is_refused(self):
        with pytest.raises(WatchlistFileError, match="Unknown list format 'pdf'"):
            parse("pdf", FIXTURES / "eu.xml")


class TestNormalising:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("01 Jan 1970", ["1970-01-01"]),
            ("Jan 1970", ["1970-01"]),
            ("1970", ["1970"]),
            ("circa 1970", ["1970"]),
            ("1970-03-05", ["1970-03-05"]),
            ("1969 to 1971", ["1969", "1970", "1971"]),
            ("31 Feb 1970", []),
            ("sometime", []),
        ],
    )
    def test_ofac_dates_keep_their_precision(self, text, expected):
        assert english_dates(text, ParseNotes()) == expected

    @pytest.mark.parametrize(
        ("name", "code"),
        [
            ("Iran", "IR"),
            ("Korea, North", "KP"),
            ("Democratic People's Republic of Korea", "KP"),
            ("Syrian Arab Republic", "SY"),
            ("Venezuela (Bolivarian Republic of)", "VE"),
            ("Burma", "MM"),
            ("Congo, Democratic Republic of the", "CD"),
            ("United States", "US"),
            ("Côte d'Ivoire", "CI"),
            ("Atlantis", ""),
        ],
    )
    def test_country_names_map_to_iso_codes(self, name, code):
        assert country_code(name, ParseNotes()) == code

    @given(
        aliases=st.lists(st.text(min_size=1, max_size=12), max_size=6),
        programs=st.lists(st.sampled_from(["SDGT", "IRAN", "CUBA", "RUSSIA-EO14024"]), max_size=4),
        order=st.randoms(use_true_random=False),
    )
    def test_content_hash_ignores_the_order_and_repeats_of_names_and_programs(self, aliases, programs, order):
        def entry(alias_list, program_list):
            return ListEntry.build(
                entry_id="1",
                kind="person",
                name="Primary Name",
                aliases=alias_list,
                programs=program_list,
                where="test",
            )

        shuffled_aliases, shuffled_programs = aliases[:], programs + programs
        order.shuffle(shuffled_aliases)
        order.shuffle(shuffled_programs)

        assert entry(aliases, programs).content_hash == entry(shuffled_aliases, shuffled_programs).content_hash

    def test_content_hash_changes_with_what_screening_reads_but_not_remarks(self):
        base = {"entry_id": "1", "kind": "person", "name": "Jane Roe", "dates_of_birth": ["1970"], "where": "test"}
        original = ListEntry.build(**base).content_hash

        assert ListEntry.build(**base, remarks="new remark").content_hash == original
        assert ListEntry.build(**{**base, "dates_of_birth": ["1971"]}).content_hash != original
        assert ListEntry.build(**base, is_pep=True).content_hash != original
        # Composed and decomposed accents are one name.
        composed = ListEntry.build(**{**base, "name": "Jos\u00e9"}).content_hash
        assert ListEntry.build(**{**base, "name": "Jose\u0301"}).content_hash == composed
