from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo import seed


class Command(BaseCommand):
    help = "Create (or complete) the demo platform: two sub-brokers, a user per role, clients. Safe to re-run."

    def handle(self, *args, **options):
        if not (settings.DEBUG or settings.BROKERAGE_DEMO or settings.TESTING):
            raise CommandError(
                "seed_demo creates accounts with published passwords: run it only for a demo (BROKERAGE_DEMO=1)."
            )
        tenants = seed.seed_demo()
        port = f":{settings.BROKERAGE_URL_PORT}" if settings.BROKERAGE_URL_PORT else ""
        scheme = settings.BROKERAGE_URL_SCHEME
        out = self.stdout.write
        out(self.style.SUCCESS("Demo data ready."))
        out(f"\n  Operator console  {scheme}://{settings.PLATFORM_DOMAIN}{port}/   {seed.OPERATOR_EMAIL}")
        for tenant in tenants:
            base = f"{scheme}://{tenant.primary_domain}{port}"
            out(f"\n  {tenant.name}")
            out(
                f"    ops       {base}/ops/       owner@{tenant.slug}.test, admin@, backoffice@, compliance@, finance@, dealing@, sales@, support@"
            )
            out(f"    portal    {base}/portal/    client@{tenant.slug}.test  (or sign up)")
            out(f"    partners  {base}/partners/  partner@{tenant.slug}.test")
            out(f"    API docs  {base}/api/docs/")
        out(f"\n  Password for every demo user: {seed.DEMO_PASSWORD}")
        out(
            f"  Staff and the operator use two-factor codes: add secret {seed.DEMO_TOTP_SECRET} to an authenticator app,"
        )
        out("  or print the current code with:  make otp")
