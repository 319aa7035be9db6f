from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_tenant_model, schema_context

from payments.models import PaymentMethod
from payments.reconciliation.report import daily_report, report_text


class Command(BaseCommand):
    help = "Print the daily reconciliation report per payment method: expected vs settled vs differences."

    def add_arguments(self, parser):
        parser.add_argument("--date", dest="day", required=True, help="The day, YYYY-MM-DD")
        parser.add_argument("--tenant", help="Only this tenant (slug); every tenant by default")
        parser.add_argument("--method", help="Only this payment method (code)")

    def handle(self, *args, day: str, tenant=None, method=None, **options):
        try:
            chosen_day = date.fromisoformat(day)
        except ValueError:
            raise CommandError(f"--date {day!r} is not a date (YYYY-MM-DD).") from None
        tenants = get_tenant_model().objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).order_by("slug")
        if tenant:
            tenants = tenants.filter(slug=tenant)
            if not tenants:
                raise CommandError(f"No tenant with slug {tenant!r}.")
        for each in tenants:
            with schema_context(each.schema_name):
                chosen = None
                if method:
                    chosen = PaymentMethod.objects.filter(code=method).first()
                    if chosen is None:
                        raise CommandError(f"{each.slug} has no payment method {method!r}.")
                self.stdout.write(f"== {each.slug} ==")
                self.stdout.write(report_text(daily_report(chosen_day, method=chosen), chosen_day), ending="")
