"""Loading a published list into a new ListVersion: all of it or nothing.

`list_load` parses while it writes (the files stream, entries go in batches), compares the new
version with the source's current one entry by entry (by the list's own id and the entry's content
hash), makes it current, audits the load, and sends `list_version_loaded` once the transaction commits.
Any error leaves the database as it was: the previous version stays current.

Loading the same file again still makes a version, with 0 added, changed and removed. That is what a
compliance officer expects from a daily job: each load is the record that the list was checked on
that day (the question an examiner asks is "when did you last update your lists?"), and a day on which
the publisher changed nothing must not fail. The summary says it was the same file as before.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef

from brokerage.audit import audit_log
from watchlists.models import Entry, ListVersion
from watchlists.parsers import SOURCE_FORMATS, ListEntry, ListFile, ParseNotes, WatchlistFileError, entries_parse
from watchlists.signals import list_version_loaded

BATCH_SIZE = 2000
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
# The bundled demo sample: files per format, and the prefix that keeps entry ids apart in one version.
SAMPLES: list[tuple[str, list[str], str]] = [
    ("sdn_csv", ["sdn.csv", "alt.csv", "add.csv"], "ofac"),
    ("sdn_xml", ["sdn.xml"], "ofac"),
    ("eu_xml", ["eu.xml"], "eu"),
    ("un_xml", ["un.xml"], "un"),
    ("ftm_jsonl", ["opensanctions.jsonl"], "os"),
]

FileInput = Path | str | IO[bytes]


def list_load(
    source: str,
    files: Sequence[FileInput],
    format: str,
    *,
    actor: Any = None,
    notes: ParseNotes | None = None,
) -> ListVersion:
    """Load one source's list from its files (sdn.csv with alt.csv/add.csv, or one XML/JSONL file)."""
    if source not in ListVersion.Source.values:
        raise WatchlistFileError(f"Unknown list source {source!r}; one of: {', '.join(ListVersion.Source.values)}.")
    if format not in SOURCE_FORMATS[source]:
        allowed = ", ".join(sorted(SOURCE_FORMATS[source]))
        raise WatchlistFileError(f"The {source} list is not published as {format!r}; its formats: {allowed}.")
    list_files = _files(files)
    notes = notes if notes is not None else ParseNotes()
    return _version_load(
        source=source,
        format=format,
        files=list_files,
        entries=lambda: entries_parse(format, list_files, notes),
        actor=actor,
    )


def demo_load(*, actor: Any = None, notes: ParseNotes | None = None) -> ListVersion:
    """Load every bundled sample (watchlists/samples/, fictitious people) as one version of the demo
    source, so demo data never takes the place of a real list's current version."""
    notes = notes if notes is not None else ParseNotes()
    groups = [
        (format, [ListFile.of(SAMPLES_DIR / name) for name in names], prefix) for format, names, prefix in SAMPLES
    ]

    def entries() -> Iterator[ListEntry]:
        for format, group_files, prefix in groups:
            for entry in entries_parse(format, group_files, notes):
                yield dataclasses.replace(entry, entry_id=f"{prefix}:{entry.entry_id}")

    all_files = [file for _, group_files, _ in groups for file in group_files]
    return _version_load(source="demo", format="demo", files=all_files, entries=entries, actor=actor)


def _files(files: Sequence[FileInput]) -> list[ListFile]:
    if isinstance(files, str | Path) or not files:
        raise WatchlistFileError("Give the list's files (a list of paths or open files).")
    return [ListFile.of(item) for item in files]


def _fingerprint(files: list[ListFile]) -> str:
    """SHA-256 of the file, or for several files of their sorted hashes (their order does not matter)."""
    hashes = []
    for file in files:
        digest, size = file.sha256()
        if size == 0:
            raise WatchlistFileError(f"{file.name} is empty.")
        hashes.append(digest)
    if len(hashes) == 1:
        return hashes[0]
    return hashlib.sha256("\n".join(sorted(hashes)).encode()).hexdigest()


def _version_load(
    *,
    source: str,
    format: str,
    files: list[ListFile],
    entries: Callable[[], Iterable[ListEntry]],
    actor: Any,
) -> ListVersion:
    sha256 = _fingerprint(files)
    with transaction.atomic():
        # One load per source at a time: the second compares itself with the first's version.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"watchlists.load.{source}"])
        previous = ListVersion.objects.filter(source=source, is_current=True).first()
        version = ListVersion.objects.create(
            source=source,
            format=format,
            file_name=", ".join(file.name for file in files)[:200],
            sha256=sha256,
        )
        version.entry_count = _entries_write(version, entries())
        if version.entry_count == 0:
            names = ", ".join(file.name for file in files)
            raise WatchlistFileError(f"No entries found in {names}; is it the right format ({format})?")
        version.added, version.changed, version.removed = _differences(version, previous)
        if previous is not None:
            ListVersion.objects.filter(pk=previous.pk).update(is_current=False)
        version.is_current = True
        version.save(update_fields=["entry_count", "added", "changed", "removed", "is_current"])
        audit_log(
            actor=actor,
            action="watchlists.list.loaded",
            obj=version,
            after={
                "source": source,
                "format": format,
                "files": version.file_name,
                "sha256": sha256,
                "entries": version.entry_count,
                "added": version.added,
                "changed": version.changed,
                "removed": version.removed,
                "previous_version": previous.pk if previous else None,
            },
        )
        transaction.on_commit(partial(list_version_loaded.send, sender=ListVersion, version=version))
    return version


def _entries_write(version: ListVersion, entries: Iterable[ListEntry]) -> int:
    seen: set[str] = set()
    batch: list[Entry] = []
    count = 0
    for entry in entries:
        if entry.entry_id in seen:
            raise WatchlistFileError(f"Entry {entry.entry_id} appears twice in the list; the file is inconsistent.")
        seen.add(entry.entry_id)
        batch.append(
            Entry(
                version=version,
                entry_id=entry.entry_id,
                kind=entry.kind,
                name=entry.name,
                aliases=list(entry.aliases),
                dates_of_birth=list(entry.dates_of_birth),
                nationalities=list(entry.nationalities),
                programs=list(entry.programs),
                is_pep=entry.is_pep,
                remarks=entry.remarks,
                content_hash=entry.content_hash,
            )
        )
        if len(batch) >= BATCH_SIZE:
            Entry.objects.bulk_create(batch)
            count += len(batch)
            batch = []
    Entry.objects.bulk_create(batch)
    return count + len(batch)


def _differences(version: ListVersion, previous: ListVersion | None) -> tuple[int, int, int]:
    """Entries added, changed (same id, new content hash) and removed against the previous version."""
    if previous is None:
        return version.entry_count, 0, 0
    old = Entry.objects.filter(version=previous)
    new = Entry.objects.filter(version=version)
    added = new.exclude(entry_id__in=old.values("entry_id")).count()
    removed = old.exclude(entry_id__in=new.values("entry_id")).count()
    changed = new.filter(
        Exists(old.filter(entry_id=OuterRef("entry_id")).exclude(content_hash=OuterRef("content_hash")))
    ).count()
    return added, changed, removed
