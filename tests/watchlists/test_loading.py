"""Loading a list makes a new current version, says what changed against the previous one, tells
the rest of the platform once it is committed, and writes nothing at all when a file is bad."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import transaction

from brokerage.models import AuditRecord
from tests.concurrency import race
from watchlists.loading import demo_load, list_load
from watchlists.models import Entry, ListVersion
from watchlists.parsers import WatchlistFileError
from watchlists.signals import list_version_loaded

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
OFAC = [FIXTURES / "ofac" / name for name in ("sdn.csv", "alt.csv", "add.csv")]
OFAC_NEXT = [FIXTURES / "ofac_next" / name for name in ("sdn.csv", "alt.csv")]


@pytest.fixture
def received():
    """Every list_version_loaded the test sees, as (sender, version)."""
    calls = []

    def receiver(sender, version, **kwargs):
        calls.append((sender, version))

    list_version_loaded.connect(receiver)
    yield calls
    list_version_loaded.disconnect(receiver)


def nothing_written(before_versions: int = 0, before_entries: int = 0) -> bool:
    return ListVersion.objects.count() == before_versions and Entry.objects.count() == before_entries


class TestFirstLoad:
    def test_makes_a_current_version_with_every_entry(self):
        version = list_load("ofac_sdn", OFAC, "sdn_csv")

        version.refresh_from_db()
        assert (version.source, version.format, version.is_current) == ("ofac_sdn", "sdn_csv", True)
        assert version.file_name == "sdn.csv, alt.csv, add.csv"
        assert (version.entry_count, version.added, version.changed, version.removed) == (3, 3, 0, 0)
        halabi = version.entries.get(entry_id="173")
        assert halabi.name == "HALABI, Khalil Ibrahim"
        assert halabi.aliases == ["AL-HALABI, Khalil", "خليل إبراهيم الحلبي"]
        assert halabi.dates_of_birth == ["1948-07-01", "1950"]
        assert halabi.nationalities == ["IQ", "JO"]
        assert halabi.programs == ["IRAQ2", "SDGT"]
        assert len(halabi.content_hash) == 64

    def test_sha256_of_one_file_is_the_files_own(self):
        version = list_load("eu", [FIXTURES / "eu.xml"], "eu_xml")

        assert version.sha256 == hashlib.sha256((FIXTURES / "eu.xml").read_bytes()).hexdigest()

    def test_an_uploaded_file_loads_like_a_path(self):
        upload = SimpleUploadedFile("consolidated.xml", (FIXTURES / "un.xml").read_bytes())

        version = list_load("un", [upload], "un_xml")

        assert version.entry_count == 3
        assert version.file_name == "consolidated.xml"
        assert set(version.entries.values_list("entry_id", flat=True)) == {"QDi.777", "KPi.777", "QDe.777"}

    def test_pep_flag_is_stored(self):
        version = list_load("opensanctions", [FIXTURES / "ftm.jsonl"], "ftm_jsonl")

        assert list(version.entries.filter(is_pep=True).values_list("entry_id", flat=True)) == ["t-pep-1"]

    def test_is_audited(self):
        version = list_load("ofac_sdn", OFAC, "sdn_csv")

        record = AuditRecord.objects.get(action="watchlists.list.loaded")
        assert record.object_id == str(version.pk)
        assert record.after["entries"] == 3
        assert record.after["previous_version"] is None


class TestVersions:
    def test_same_file_again_is_a_new_version_with_nothing_changed(self):
        first = list_load("ofac_sdn", OFAC, "sdn_csv")
        second = list_load("ofac_sdn", OFAC, "sdn_csv")

        first.refresh_from_db()
        assert first.is_current is False
        assert second.is_current is True
        assert (second.entry_count, second.added, second.changed, second.removed) == (3, 0, 0, 0)
        assert second.sha256 == first.sha256
        assert ListVersion.objects.filter(source="ofac_sdn", is_current=True).get() == second
        # Both versions keep their entries, so every old hit still names what it matched.
        assert first.entries.count() == second.entries.count() == 3

    def test_next_publication_counts_added_changed_and_removed(self):
        first = list_load("ofac_sdn", OFAC, "sdn_csv")
        second = list_load("ofac_sdn", OFAC_NEXT, "sdn_csv")

        # 36 unchanged, 173 gained an alias, 306 left the list, 411 is new.
        assert (second.entry_count, second.added, second.changed, second.removed) == (3, 1, 1, 1)
        assert second.entries.get(entry_id="36").content_hash == first.entries.get(entry_id="36").content_hash
        assert second.entries.get(entry_id="173").content_hash != first.entries.get(entry_id="173").content_hash

    def test_switching_between_ofac_csv_and_xml_changes_nothing(self):
        list_load("ofac_sdn", OFAC, "sdn_csv")
        from_xml = list_load("ofac_sdn", [FIXTURES / "ofac" / "sdn.xml"], "sdn_xml")

        assert (from_xml.added, from_xml.changed, from_xml.removed) == (0, 0, 0)

    def test_sources_are_versioned_apart(self):
        ofac = list_load("ofac_sdn", OFAC, "sdn_csv")
        eu = list_load("eu", [FIXTURES / "eu.xml"], "eu_xml")

        assert eu.added == 3
        assert set(ListVersion.objects.filter(is_current=True)) == {ofac, eu}

    @pytest.mark.django_db(transaction=True)
    def test_concurrent_loads_of_one_source_leave_one_current_version(self, alpha):
        results = race(alpha, lambda index: list_load("ofac_sdn", OFAC, "sdn_csv").pk, count=3)

        assert all(isinstance(result, int) for result in results), results
        versions = list(ListVersion.objects.filter(source="ofac_sdn").order_by("pk"))
        assert len(versions) == 3
        assert [version.is_current for version in versions] == [False, False, True]
        # Serialised: the first counts everything as added, the later ones compare with it.
        assert [version.added for version in versions] == [3, 0, 0]


class TestSignal:
    def test_sent_once_on_commit_with_the_version(self, received, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            version = list_load("ofac_sdn", OFAC, "sdn_csv")
            assert received == []  # not before the commit

        assert received == [(ListVersion, version)]
        assert sum(getattr(callback, "func", None) == list_version_loaded.send for callback in callbacks) == 1

    def test_not_sent_when_the_surrounding_transaction_rolls_back(self, received, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with pytest.raises(RuntimeError), transaction.atomic():
                list_load("ofac_sdn", OFAC, "sdn_csv")
                raise RuntimeError("caller failed after loading")

        assert callbacks == []
        assert received == []
        assert nothing_written()

    def test_not_sent_for_a_refused_file(self, received, django_capture_on_commit_callbacks, tmp_path):
        empty = tmp_path / "eu.xml"
        empty.write_bytes(b"")
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with pytest.raises(WatchlistFileError):
                list_load("eu", [empty], "eu_xml")

        assert callbacks == [] and received == []


class TestBadFiles:
    """Each bad file is refused with a message that says what is wrong, and the current version stays."""

    @pytest.fixture
    def current(self):
        return list_load("eu", [FIXTURES / "eu.xml"], "eu_xml")

    def assert_unchanged(self, current):
        assert ListVersion.objects.count() == 1
        assert Entry.objects.count() == current.entry_count
        assert ListVersion.objects.get(is_current=True) == current
        assert AuditRecord.objects.filter(action="watchlists.list.loaded").count() == 1

    def test_empty_file(self, current, tmp_path):
        empty = tmp_path / "eu.xml"
        empty.write_bytes(b"")

        with pytest.raises(WatchlistFileError, match="eu.xml is empty"):
            list_load("eu", [empty], "eu_xml")
        self.assert_unchanged(current)

    def test_malformed_xml_after_some_records(self, current, tmp_path):
        broken = tmp_path / "eu.xml"
        content = (FIXTURES / "eu.xml").read_bytes()
        broken.write_bytes(content[: content.index(b'euReferenceNumber="EU.100.2"') + 40])

        with pytest.raises(WatchlistFileError, match="is not well-formed XML"):
            list_load("eu", [broken], "eu_xml")
        self.assert_unchanged(current)

    def test_wrong_format_flag(self, current):
        with pytest.raises(WatchlistFileError, match="not a UN consolidated list"):
            list_load("un", [FIXTURES / "eu.xml"], "un_xml")
        self.assert_unchanged(current)

    def test_format_the_source_does_not_publish(self, current):
        with pytest.raises(WatchlistFileError, match=r"The eu list is not published as 'un_xml'; its formats: eu_xml"):
            list_load("eu", [FIXTURES / "un.xml"], "un_xml")
        self.assert_unchanged(current)

    def test_truncated_csv(self, current, tmp_path):
        folder = tmp_path / "ofac"
        shutil.copytree(FIXTURES / "ofac", folder)
        (folder / "sdn.csv").write_bytes((FIXTURES / "ofac" / "sdn.csv").read_bytes()[:300])

        with pytest.raises(WatchlistFileError, match="sdn.csv line 2"):
            list_load("ofac_sdn", [folder / "sdn.csv", folder / "alt.csv"], "sdn_csv")
        self.assert_unchanged(current)

    def test_billion_laughs(self, current, tmp_path):
        bomb = tmp_path / "eu.xml"
        bomb.write_text(
            '<?xml version="1.0"?><!DOCTYPE export [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
            '<export><sanctionEntity euReferenceNumber="EU.1"><subjectType code="person"/>'
            '<nameAlias wholeName="&b;"/></sanctionEntity></export>'
        )

        with pytest.raises(WatchlistFileError, match="declares XML entities"):
            list_load("eu", [bomb], "eu_xml")
        self.assert_unchanged(current)

    def test_well_formed_file_without_entries(self, current, tmp_path):
        hollow = tmp_path / "eu.xml"
        hollow.write_text('<export xmlns="http://eu.europa.ec/fpi/fsd/export" generationDate="2026-11-20"/>')

        with pytest.raises(
            WatchlistFileError, match=r"No entries found in eu.xml; is it the right format \(eu_xml\)\?"
        ):
            list_load("eu", [hollow], "eu_xml")
        self.assert_unchanged(current)

    def test_an_entry_listed_twice(self, current):
        line = b'{"id": "dup", "schema": "Person", "properties": {"name": ["Jane Roe"]}}\n'

        with pytest.raises(WatchlistFileError, match="Entry dup appears twice"):
            list_load("demo", [io.BytesIO(line + line)], "ftm_jsonl")
        self.assert_unchanged(current)

    def test_missing_file(self, current, tmp_path):
        with pytest.raises(WatchlistFileError, match="no such file"):
            list_load("eu", [tmp_path / "nowhere.xml"], "eu_xml")
        self.assert_unchanged(current)

    def test_unknown_source(self, current):
        with pytest.raises(WatchlistFileError, match="Unknown list source 'interpol'"):
            list_load("interpol", [FIXTURES / "eu.xml"], "eu_xml")
        self.assert_unchanged(current)


class TestDemo:
    def test_loads_every_sample_into_the_demo_source_only(self):
        version = demo_load()

        assert (version.source, version.format, version.is_current) == ("demo", "demo", True)
        assert version.entry_count == 28
        assert ListVersion.objects.count() == 1  # no real list's current version is touched
        prefixes = {entry_id.split(":")[0] for entry_id in version.entries.values_list("entry_id", flat=True)}
        assert prefixes == {"ofac", "eu", "un", "os"}
        zhukov = version.entries.get(entry_id="os:demo-pep-zhukov")
        assert zhukov.is_pep is True
        assert "Николай Иванович Жуков" in zhukov.aliases


class TestCommand:
    def run(self, *args, **options) -> str:
        out = io.StringIO()
        call_command("load_watchlist", *args, stdout=out, **options)
        return out.getvalue()

    def test_loads_and_prints_a_summary(self):
        output = self.run(*map(str, OFAC), source="ofac_sdn", format="sdn_csv")

        version = ListVersion.objects.get()
        assert (
            f"OFAC SDN: version #{version.pk} from sdn.csv, alt.csv, add.csv (sdn_csv), 3 entries, now current."
            in output
        )
        assert "First version of this list: 3 added." in output

    def test_second_load_reports_the_differences(self):
        self.run(*map(str, OFAC), source="ofac_sdn", format="sdn_csv")
        first = ListVersion.objects.get()

        output = self.run(*map(str, OFAC_NEXT), source="ofac_sdn", format="sdn_csv")
        assert f"Against version #{first.pk}: 1 added, 1 changed, 1 removed." in output

        output = self.run(*map(str, OFAC_NEXT), source="ofac_sdn", format="sdn_csv")
        assert "0 added, 0 changed, 0 removed." in output
        assert "the list has not changed" in output

    def test_prints_what_was_left_out(self):
        output = self.run(str(FIXTURES / "un.xml"), source="un", format="un_xml")

        assert "Countries not recognised, left out of nationalities: Soviet Union (1)" in output

    def test_demo(self):
        output = self.run(demo=True)

        version = ListVersion.objects.get(source="demo")
        assert f"Demo sample: version #{version.pk} from sdn.csv" in output
        assert "28 entries, now current." in output

    @pytest.mark.parametrize(
        ("args", "options", "message"),
        [
            (["missing.csv"], {"source": "ofac_sdn", "format": "sdn_csv"}, "missing.csv: no such file"),
            ([str(FIXTURES / "eu.xml")], {"source": "un", "format": "un_xml"}, "is not a UN consolidated list"),
            ([str(FIXTURES / "eu.xml")], {"source": "eu"}, "Give --source, --format and the list's files"),
            ([], {"source": "eu", "format": "eu_xml"}, "Give --source, --format and the list's files"),
            ([str(FIXTURES / "eu.xml")], {"demo": True}, "--demo loads the bundled sample"),
        ],
    )
    def test_bad_input_is_a_command_error_and_writes_nothing(self, args, options, message):
        with pytest.raises(CommandError, match=message):
            self.run(*args, **options)
        assert nothing_written()

    def test_unknown_format_choice_is_refused_by_the_parser(self):
        with pytest.raises(CommandError, match="invalid choice: 'pdf'"):
            self.run(str(FIXTURES / "eu.xml"), "--source", "eu", "--format", "pdf")
        assert nothing_written()
