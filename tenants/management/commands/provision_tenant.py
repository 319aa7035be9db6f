from django.core.management.base import BaseCommand, CommandError

from brokerage.errors import ApplicationError
from tenants.services import tenant_provision


class Command(BaseCommand):
    help = "Create a sub-broker: schema, domain, roles and its first admin, who gets an invitation email."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("domain")
        parser.add_argument("admin_email")
        parser.add_argument("--slug", default="")
        parser.add_argument("--currency", default="USD")
        parser.add_argument("--jurisdiction", default="")

    def handle(self, *args, **options):
        try:
            tenant = tenant_provision(
                name=options["name"],
                domain=options["domain"],
                admin_email=options["admin_email"],
                slug=options["slug"],
                base_currency=options["currency"].upper(),
                jurisdiction=options["jurisdiction"],
            )
        except ApplicationError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Tenant {tenant.slug} created on {options['domain']} (schema {tenant.schema_name}).")
        )
