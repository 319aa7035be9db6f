from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_tenant_model, schema_context

from brokerage.errors import ApplicationError
from payments.rate_providers import ECB_MAX_BYTES, ecb_fetch, ecb_import


class Command(BaseCommand):
    help = (
        "Import ECB euro reference rates (the daily file or a history file) from a file or an http(s) address "
        "into every active tenant, or one. Importing the same rates again adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "source", help="A file path, or e.g. https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
        )
        parser.add_argument("--tenant", help="Import only into this tenant (slug)")

    def _read(self, source: str) -> bytes:
        if source.startswith(("http://", "https://")):
            return ecb_fetch(source)
        path = Path(source)
        if not path.is_file():
            raise CommandError(f"No such file: {source}")
        if path.stat().st_size > ECB_MAX_BYTES:
            raise CommandError(f"{source} is larger than {ECB_MAX_BYTES // (1024 * 1024)} MB.")
        return path.read_bytes()

    def handle(self, *args, source: str, tenant=None, **options):
        tenants = get_tenant_model().objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).order_by("slug")
        if tenant:
            tenants = tenants.filter(slug=tenant)
            if not tenants:
                raise CommandError(f"No tenant with slug {tenant!r}.")
        else:
            tenants = tenants.filter(status="active")
        try:
            content = self._read(source)
            for each in tenants:
                with schema_context(each.schema_name):
                    result = ecb_import(content, origin=source)
                self.stdout.write(f"{each.slug}: {result.summary()}")
                for note in result.notes:
                    self.stdout.write(f"{each.slug}: note: {note}")
        except ApplicationError as error:
            raise CommandError(str(error)) from None
