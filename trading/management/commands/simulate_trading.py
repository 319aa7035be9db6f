from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_tenant_model, schema_context

from trading.simulator.traffic import traffic_run


class Command(BaseCommand):
    help = (
        "Make the clients' simulator accounts of one tenant trade: random market orders sized to their free "
        "margin and closes of open positions, with the price feed moving, so dashboards have living data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--trades", type=int, default=20, help="How many trading actions (default 20)")
        parser.add_argument(
            "--seconds",
            type=int,
            default=0,
            help="Spread the actions over this many seconds, with a feed step every second (default: at once)",
        )
        parser.add_argument("--seed", type=int, default=None, help="Seed for a repeatable run")

    def handle(self, *args, tenant, trades, seconds, seed, **options):
        if trades < 0 or seconds < 0:
            raise CommandError("--trades and --seconds cannot be negative.")
        if seconds > 86400:
            raise CommandError("--seconds is at most 86400 (one day).")
        found = get_tenant_model().objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant with slug {tenant!r}.")
        with schema_context(found.schema_name):
            summary = traffic_run(trades=trades, seconds=seconds, seed=seed)
        if not summary.accounts and trades:
            self.stdout.write(self.style.WARNING(f"{tenant}: no simulator account could trade (open and fund some)."))
        self.stdout.write(self.style.SUCCESS(f"{tenant}: {summary}"))
