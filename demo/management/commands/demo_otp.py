import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.management.base import BaseCommand

from demo.seed import DEMO_TOTP_SECRET

PERIOD = 30


class Command(BaseCommand):
    help = "Print the current two-factor code of the demo staff accounts (they share one demo secret)."

    def handle(self, *args, **options):
        now = int(time.time())
        code = format_hotp_value(hotp_value(DEMO_TOTP_SECRET, now // PERIOD))
        self.stdout.write(f"{code}   (valid for {PERIOD - now % PERIOD} more seconds)")
