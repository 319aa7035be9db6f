"""Load a sanctions or PEP list into a new version of its source.

    manage.py load_watchlist --source ofac_sdn --format sdn_csv sdn.csv alt.csv add.csv
    manage.py load_watchlist --source ofac_sdn --format sdn_xml sdn.xml
    manage.py load_watchlist --source eu --format eu_xml eu.xml
    manage.py load_watchlist --source un --format un_xml consolidated.xml
    manage.py load_watchlist --source opensanctions --format ftm_jsonl entities.ftm.json
    manage.py load_watchlist --demo      (the bundled, fictitious sample in watchlists/samples/)

Every load makes a new version (also of an unchanged file, with 0 added/changed/removed) and makes
it current; a file that cannot be read in full loads nothing.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from brokerage.errors import ApplicationError
from watchlists.loading import demo_load, list_load
from watchlists.models import ListVersion
from watchlists.parsers import FORMATS, ParseNotes


class Command(BaseCommand):
    help = "Load a sanctions/PEP list (OFAC SDN CSV or XML, EU, UN, OpenSanctions FtM) as a new current version."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", help="The list's files (OFAC CSV: sdn.csv, and alt.csv/add.csv)")
        parser.add_argument("--source", choices=ListVersion.Source.values, help="Which list this is")
        parser.add_argument("--format", dest="list_format", choices=list(FORMATS), help="The files' format")
        parser.add_argument("--demo", action="store_true", help="Load the bundled fictitious sample of each format")

    def handle(self, *args, paths, source, list_format, demo, **options):
        notes = ParseNotes()
        try:
            if demo:
                if paths or source or list_format:
                    raise CommandError("--demo loads the bundled sample; give no files, --source or --format with it.")
                version = demo_load(notes=notes)
            else:
                if not (paths and source and list_format):
                    raise CommandError("Give --source, --format and the list's files (or --demo).")
                version = list_load(source, paths, list_format, notes=notes)
        except ApplicationError as error:
            raise CommandError(str(error)) from None
        self._summary(version, notes)

    def _summary(self, version: ListVersion, notes: ParseNotes) -> None:
        previous = ListVersion.objects.filter(source=version.source, pk__lt=version.pk).order_by("-pk").first()
        self.stdout.write(
            f"{version.get_source_display()}: version #{version.pk} from {version.file_name} ({version.format}), "
            f"{version.entry_count} entries, now current."
        )
        if previous is None:
            self.stdout.write(f"First version of this list: {version.added} added.")
        else:
            self.stdout.write(
                f"Against version #{previous.pk}: {version.added} added, {version.changed} changed, "
                f"{version.removed} removed."
            )
            if previous.sha256 == version.sha256:
                self.stdout.write(f"Same file as version #{previous.pk}: the list has not changed.")
        for line in notes.lines():
            self.stdout.write(self.style.WARNING(line))
