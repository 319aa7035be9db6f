from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_tenant_model, schema_context

from brokerage.audit import audit_chain_breaks
from brokerage.models import AuditRecord


class Command(BaseCommand):
    help = "Check the audit trail's hash chain in the public schema and every tenant schema."

    def handle(self, *args, **options):
        broken = 0
        for schema in get_tenant_model().objects.order_by("schema_name").values_list("schema_name", flat=True):
            with schema_context(schema):
                count = AuditRecord.objects.count()
                breaks = list(audit_chain_breaks())
            if breaks:
                broken += len(breaks)
                for chain_break in breaks:
                    self.stderr.write(f"{schema}: record {chain_break.record_id}: {chain_break.reason}")
            else:
                self.stdout.write(f"{schema}: {count} records, chain intact")
        if broken:
            raise CommandError(f"The audit trail was tampered with: {broken} problem(s).")
        self.stdout.write(self.style.SUCCESS("Every audit trail is intact."))
