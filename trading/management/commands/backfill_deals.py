"""Back-fill a platform's deal history into one tenant, from a CSV file or from the platform itself.

CSV file format (UTF-8, comma separated, a header row naming the columns, any order; extra columns
are ignored):
    ticket,login,time,symbol,action,entry,volume,price,profit,commission,swap,fee,comment,order,position_id
- required: ticket (positive integer), login, time (ISO 8601; without an offset it is UTC), action
  (buy, sell, balance, credit, charge, correction, bonus), entry (in, out, inout, out_by);
- optional: the rest; empty money, volume and price are 0; symbol is empty for balance deals.
Example row: 81234,500000,2024-05-02T09:31:07+00:00,EURUSD,sell,out,1.00,1.08512,50.00,-3.50,0,0,,7001,6001

Deals already stored are skipped (by ticket); back-filled deals get booking = history (not posted to
the ledger). Running the same back-fill twice adds nothing.

History ends where the live sync begins (trading.sync.bulk.backfill_end: the platform's sync cursor
minus the pull's overlap): deals from then on are the live sync's, which books their money. --to
defaults to that moment and a later --to is clipped to it; rows of a file from then on are not loaded
and are counted as "left to the live sync".
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_tenant_model, schema_context

from brokerage.errors import ApplicationError
from payments.trading_gateway import PlatformUnavailable, TradingGatewayError
from trading.models import Platform
from trading.platforms import platform_call
from trading.sync.bulk import COLUMNS, BulkResult, backfill_end, deals_bulk_load

REQUIRED = {"ticket", "login", "time", "action", "entry"}


def _day(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Load historical deals of one platform into one tenant: from a CSV file (--file, format in this "
        "command's docstring) or from the platform in day-sized windows (--from/--to). Deals already stored "
        "are skipped; nothing is posted to the ledger (booking = history)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--platform", required=True, help="Platform code, e.g. sim-live")
        parser.add_argument("--file", help="CSV file of deals (header: " + ",".join(COLUMNS) + ")")
        parser.add_argument("--from", dest="start", help="Pull from the platform from this date (UTC), inclusive")
        parser.add_argument(
            "--to",
            dest="end",
            help="... up to this date (UTC), exclusive; default (and at most) where the live sync begins",
        )

    def handle(self, *args, tenant: str, platform: str, file=None, start=None, end=None, **options):
        if bool(file) == bool(start):
            raise CommandError("Give either --file or --from (with an optional --to).")
        found = get_tenant_model().objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant with slug {tenant!r}.")
        with schema_context(found.schema_name):
            target = Platform.objects.filter(code=platform).first()
            if target is None:
                raise CommandError(f"No platform {platform!r} in tenant {tenant!r}.")
            try:
                result = self._from_file(target, Path(file)) if file else self._from_platform(target, start, end)
            except ApplicationError as error:
                raise CommandError(str(error)) from None
        self._summary(result)

    def _from_file(self, platform: Platform, path: Path) -> BulkResult:
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = REQUIRED - set(reader.fieldnames or ())
            if missing:
                raise CommandError(f"{path} has no column(s) {', '.join(sorted(missing))} in its header row.")
            rows = ({column: (row.get(column) or None) for column in COLUMNS} for row in reader)
            return deals_bulk_load(platform, rows, progress=self._progress)

    def _from_platform(self, platform: Platform, start: str, end: str | None) -> BulkResult:
        begin = _day(start)
        limit = backfill_end(platform)
        finish = _day(end) if end else limit
        if end and finish <= begin:
            raise CommandError("--to must be after --from.")
        if end and finish > limit:
            self.stdout.write(
                f"--to clipped to {limit:%Y-%m-%d %H:%M:%S} UTC: deals from then on are the live sync's "
                f"(it books their money)."
            )
            finish = limit
        if finish <= begin:
            raise CommandError(
                f"Nothing to back-fill: the live sync of {platform.name} already takes deals from "
                f"{limit:%Y-%m-%d %H:%M:%S} UTC on."
            )
        total = BulkResult()
        day = begin
        while day < finish:
            until = min(day + timedelta(days=1), finish)
            try:
                deals = platform_call(platform, lambda connector, a=day, b=until: connector.deals(a, b))
            except (PlatformUnavailable, TradingGatewayError) as error:
                self._summary(total)
                raise CommandError(
                    f"{platform.name} did not answer for {day:%Y-%m-%d}: {error}. Days before it are loaded; "
                    f"run again with --from {day:%Y-%m-%d}."
                ) from None
            part = deals_bulk_load(platform, deals)
            self.stdout.write(f"{day:%Y-%m-%d}: {part.inserted} new, {part.duplicates} already stored")
            total.add(part)
            day = until
        return total

    def _progress(self, so_far: BulkResult) -> None:
        self.stdout.write(f"{so_far.rows:,} rows read: {so_far.inserted:,} new, {so_far.duplicates:,} already stored")

    def _summary(self, result: BulkResult) -> None:
        self.stdout.write(
            f"{result.inserted} deal(s) loaded, {result.duplicates} already stored, {result.malformed} skipped as malformed."
        )
        if result.clipped:
            self.stdout.write(f"{result.clipped} deal(s) left to the live sync (at or after where it begins).")
        for label, counter in (
            ("unknown symbols (add aliases in /ops/)", result.unknown_symbols),
            ("unknown logins", result.unknown_logins),
            ("logins of another platform", result.wrong_platform),
        ):
            if counter:
                listed = ", ".join(f"{name} ({count})" for name, count in counter.most_common(10))
                self.stdout.write(f"{label}: {listed}")
