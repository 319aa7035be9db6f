from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_tenant_model, schema_context

from brokerage.errors import ApplicationError
from payments.models import PaymentMethod, StatementImport
from payments.reconciliation.parsers import MAX_BYTES
from payments.reconciliation.services import statement_import, statement_summary


class Command(BaseCommand):
    help = (
        "Import a bank statement (camt.053/.052/.054, MT940) or a PSP settlement CSV into one tenant and match it: "
        "wire deposits with their reference and the exact amount are confirmed, the rest waits in the exception queue."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the statement file")
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument(
            "--format",
            required=True,
            choices=[f.value for f in StatementImport.Format],
            help="What the file is (its content must agree)",
        )
        parser.add_argument("--method", help="Payment method code the file belongs to (e.g. card, bank-wire)")

    def handle(self, *args, file, tenant, format, method=None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        if path.stat().st_size > MAX_BYTES:
            raise CommandError(f"{path} is larger than {MAX_BYTES // 1048576} MB.")
        found = get_tenant_model().objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant with slug {tenant!r}.")
        with schema_context(found.schema_name):
            chosen = None
            if method:
                chosen = PaymentMethod.objects.filter(code=method).first()
                if chosen is None:
                    raise CommandError(f"{tenant} has no payment method {method!r}.")
            try:
                statement = statement_import(data=path.read_bytes(), filename=path.name, format=format, method=chosen)
            except ApplicationError as error:
                raise CommandError(str(error)) from None
            summary = statement_summary(statement)
        self.stdout.write(
            f"{tenant}: statement #{statement.pk} ({statement.get_format_display()}), {statement.balance_detail}"
        )
        self.stdout.write(self.style.SUCCESS(summary))
