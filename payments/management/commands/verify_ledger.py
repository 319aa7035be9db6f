from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_tenant_model, schema_context

from payments.ledger import ledger_problems, ledger_totals
from payments.models import LedgerLine


class Command(BaseCommand):
    help = (
        "Prove every tenant's ledger: stored and running balances equal the lines, holds equal the held "
        "amounts, every transaction balances per currency and no wallet is overdrawn."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Check only this tenant (slug)")

    def handle(self, *args, tenant=None, **options):
        tenants = get_tenant_model().objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).order_by("slug")
        if tenant:
            tenants = tenants.filter(slug=tenant)
            if not tenants:
                raise CommandError(f"No tenant with slug {tenant!r}.")
        failed = 0
        for each in tenants:
            with schema_context(each.schema_name):
                problems = ledger_problems()
                lines = LedgerLine.objects.count()
                totals = ledger_totals()
            if problems:
                failed += 1
                for problem in problems:
                    self.stderr.write(f"{each.slug}: {problem}")
            else:
                currencies = ", ".join(f"{c} {t:f}" for c, t in totals.items()) or "no postings"
                self.stdout.write(f"{each.slug}: {lines} lines, balanced ({currencies})")
        if failed:
            raise CommandError(f"The ledger of {failed} tenant(s) does not agree with itself.")
        self.stdout.write(self.style.SUCCESS("Every ledger balances."))
