from django.core.management.base import BaseCommand, CommandError

from brokerage.errors import ApplicationError
from tenants.services import operator_invite, platform_ensure


class Command(BaseCommand):
    help = "First-time set-up of a deployment: the operator console's domain and its first operator."

    def add_arguments(self, parser):
        parser.add_argument("domain", help="host name of the operator console, e.g. console.example.com")
        parser.add_argument("operator_email", nargs="?", help="invite this operator (skipped if they exist)")

    def handle(self, *args, **options):
        try:
            platform_ensure(domain=options["domain"])
            self.stdout.write(f"Operator console served on {options['domain']}.")
            if options["operator_email"]:
                operator_invite(email=options["operator_email"])
                self.stdout.write(f"Invitation sent to {options['operator_email']}.")
        except ApplicationError as error:
            raise CommandError(str(error)) from None
