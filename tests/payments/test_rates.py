"""Exchange rates: lookups, age limits, the demo feed, and the ECB importer."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from payments import rates
from payments.models import ExchangeRate
from payments.rate_providers import DEMO_MIDS, demo_rates_refresh, ecb_import, ecb_parse
from payments.rates import RateUnavailable, rate_lookup, rate_mid
from tests.payments.wallets_support import FIXTURES, rate

pytestmark = pytest.mark.django_db

DAILY = (FIXTURES / "ecb_daily.xml").read_bytes()
HISTORY = (FIXTURES / "ecb_hist_3days.xml").read_bytes()


# Lookups -----------------------------------------------------------------------------------------


def test_a_stored_pair_is_used_as_published(in_alpha):
    rate("EUR", "USD", "1.0800", source="ecb")
    assert rate_mid("EUR", "USD") == (D("1.0800"), "ecb")


def test_the_inverse_pair_is_derived_at_full_precision(in_alpha):
    rate("USD", "JPY", "150")
    value, source = rate_mid("JPY", "USD")
    assert source == "manual"
    assert value == D(1) / D(150)
    assert str(value).startswith("0.006666666666666666666666")


def test_a_pair_nobody_published_is_crossed_through_eur(in_alpha):
    rate("EUR", "USD", "1.08", source="ecb")
    rate("EUR", "JPY", "162", source="ecb")
    found = rate_lookup("USD", "JPY")
    assert found.rate == D(162) / D("1.08")
    assert found.source == "ecb via EUR"
    assert len(found.legs) == 2


def test_a_cross_through_usd_names_both_sources(in_alpha):
    rate("GBP", "USD", "1.25", source="demo")
    rate("USD", "CHF", "0.90", source="manual")
    found = rate_lookup("GBP", "CHF")
    assert found.rate == D("1.125")
    assert found.source == "demo+manual via USD"


def test_the_inverse_published_later_wins_over_an_older_pair(in_alpha):
    rate("USD", "EUR", "0.90", age=timedelta(hours=2))
    rate("EUR", "USD", "1.08", source="ecb", age=timedelta(hours=1))
    assert rate_mid("USD", "EUR") == (D(1) / D("1.08"), "ecb")


def test_an_out_of_date_pair_gives_way_to_a_fresh_cross(in_alpha):
    rate("USD", "JPY", "140", age=timedelta(days=3))  # entered by hand once, long ago
    rate("EUR", "USD", "1.08", source="ecb")
    rate("EUR", "JPY", "162", source="ecb")
    found = rate_lookup("USD", "JPY")
    assert (found.rate, found.source) == (D(162) / D("1.08"), "ecb via EUR")
    assert not found.is_stale()


def test_an_out_of_date_pair_is_still_reported_when_nothing_fresher_exists(in_alpha):
    rate("USD", "JPY", "140", age=timedelta(days=3))
    found = rate_lookup("USD", "JPY")
    assert found.rate == D(140) and found.is_stale()


def test_the_latest_rate_wins_and_a_past_moment_sees_the_rate_of_then(in_alpha):
    monday = datetime(2024, 5, 6, 16, tzinfo=UTC)
    rate("EUR", "USD", "1.07", at=monday)
    rate("EUR", "USD", "1.08", at=monday + timedelta(days=1))
    assert rate_mid("EUR", "USD")[0] == D("1.08")
    assert rate_mid("EUR", "USD", at=monday + timedelta(hours=3))[0] == D("1.07")
    with pytest.raises(RateUnavailable):
        rate_mid("EUR", "USD", at=monday - timedelta(seconds=1))


def test_an_unknown_pair_is_a_clear_error(in_alpha):
    rate("EUR", "USD", "1.08")
    with pytest.raises(RateUnavailable, match="No exchange rate for GBP/JPY"):
        rate_mid("GBP", "JPY")


def test_a_currency_against_itself_is_one(in_alpha):
    assert rate_mid("USD", "USD") == (D(1), "identity")


def test_amount_in_rounds_once_to_the_target_currency(in_alpha):
    rate("USD", "JPY", "150.555")
    assert rates.amount_in(D("10.00"), "USD", "JPY") == D("1506")


@pytest.mark.parametrize(
    ("source", "age", "stale"),
    [
        ("demo", timedelta(minutes=9), False),
        ("demo", timedelta(minutes=11), True),
        ("ecb", timedelta(days=5), False),
        ("ecb", timedelta(days=5, hours=7), True),
        ("manual", timedelta(hours=23), False),
        ("manual", timedelta(hours=25), True),
    ],
)
def test_how_old_a_rate_may_be_depends_on_its_source(in_alpha, source, age, stale):
    rate("EUR", "USD", "1.08", source=source, age=age)
    assert rate_lookup("EUR", "USD").is_stale() is stale


def test_a_cross_is_stale_when_either_leg_is(in_alpha):
    rate("EUR", "USD", "1.08", source="demo")
    rate("EUR", "JPY", "162", source="demo", age=timedelta(hours=1))
    assert rate_lookup("USD", "JPY").is_stale()


# Manual rates -------------------------------------------------------------------------------------


def test_staff_set_a_manual_rate_audited(in_alpha, alice):
    stored = rates.rate_set_manually(base="EUR", quote="USD", rate=D("1.085"), actor=alice)
    assert (stored.source, stored.rate) == ("manual", D("1.085"))
    record = AuditRecord.objects.get(action="payments.rate.set")
    assert record.actor_email == "alice@alpha.test"


@pytest.mark.parametrize(
    ("base", "quote", "value", "field"),
    [
        ("EUR", "EUR", "1", "quote"),
        ("EUR", "XXX", "1", "quote"),
        ("EUR", "USD", "0", "rate"),
        ("EUR", "USD", "-1.2", "rate"),
        ("EUR", "USD", "0.00000000001", "rate"),
    ],
)
def test_a_bad_manual_rate_is_refused_with_the_field(in_alpha, alice, base, quote, value, field):
    with pytest.raises(ApplicationError) as error:
        rates.rate_set_manually(base=base, quote=quote, rate=D(value), actor=alice)
    assert field in error.value.fields
    assert not ExchangeRate.objects.exists()


# Demo feed --------------------------------------------------------------------------------------


def test_the_demo_feed_publishes_every_pair_near_its_mid(in_alpha):
    added = demo_rates_refresh(rng=random.Random(7))
    assert added == len(DEMO_MIDS)
    for (base, quote), (mid, _) in DEMO_MIDS.items():
        stored = ExchangeRate.objects.get(base=base, quote=quote, source="demo")
        assert abs(stored.rate - mid) / mid < D("0.02"), (base, quote, stored.rate)


def test_the_demo_feed_walks_from_its_last_price_and_stays_close(in_alpha):
    rng = random.Random(11)
    start = timezone.now() - timedelta(hours=2)
    for minute in range(120):
        demo_rates_refresh(at=start + timedelta(minutes=minute), rng=rng)
    prices = list(ExchangeRate.objects.filter(base="EUR", quote="USD").order_by("as_of").values_list("rate", flat=True))
    assert len(prices) == 120
    assert len(set(prices)) > 50  # it moves
    assert all(abs(p - D("1.085")) < D("0.03") for p in prices)  # and reverts to its mid
    assert rate_lookup("USD", "JPY").source == "demo"


def test_the_demo_feed_keeps_two_days_of_history(in_alpha):
    now = timezone.now()
    demo_rates_refresh(at=now - timedelta(days=3), rng=random.Random(3))
    demo_rates_refresh(at=now - timedelta(days=1), rng=random.Random(4))
    rate("EUR", "USD", "1.09", source="ecb", age=timedelta(days=30))
    demo_rates_refresh(at=now, rng=random.Random(5))
    assert ExchangeRate.objects.filter(source="demo").count() == 2 * len(DEMO_MIDS)
    assert ExchangeRate.objects.filter(source="ecb").count() == 1


def test_a_demo_refresh_in_the_same_second_adds_nothing(in_alpha):
    moment = timezone.now()
    assert demo_rates_refresh(at=moment, rng=random.Random(1)) == len(DEMO_MIDS)
    assert demo_rates_refresh(at=moment, rng=random.Random(2)) == 0


def test_the_beat_task_refreshes_only_for_tenants_on_the_demo_feed(in_alpha):
    from payments.models import PaymentPolicy
    from payments.wallets.tasks import rates_refresh

    assert rates_refresh() == len(DEMO_MIDS)
    policy = PaymentPolicy.current()
    policy.rate_feed = PaymentPolicy.RateFeed.MANUAL
    policy.save()
    assert rates_refresh() == 0


# ECB import -------------------------------------------------------------------------------------


def test_the_ecb_daily_file_is_imported_with_eur_as_base(in_alpha):
    result = ecb_import(DAILY)
    assert (result.added, result.already_stored, result.days) == (6, 0, 1)
    usd = ExchangeRate.objects.get(base="EUR", quote="USD")
    assert (usd.rate, usd.source) == (D("1.0773"), "ecb")
    # Published around 16:00 CET (CEST in May): that is when the rate becomes known.
    assert usd.as_of == datetime(2024, 5, 10, 14, 0, tzinfo=UTC)
    assert ExchangeRate.objects.get(quote="GBP").rate == D("0.86038")


def test_currencies_we_do_not_know_are_skipped_with_a_note(in_alpha):
    result = ecb_import(DAILY)
    assert result.notes == ("Skipped currencies this product does not know: BGN, ISK.",)
    assert not ExchangeRate.objects.filter(quote__in=["BGN", "ISK"]).exists()


def test_importing_the_same_file_twice_adds_nothing(in_alpha):
    ecb_import(DAILY)
    again = ecb_import(DAILY)
    assert (again.added, again.already_stored) == (0, 6)
    assert ExchangeRate.objects.count() == 6


def test_the_history_file_brings_every_day_and_skips_an_unreadable_rate(in_alpha):
    result = ecb_import(HISTORY)
    assert (result.added, result.days) == (8, 3)
    assert result.notes == ("Skipped JPY on 2024-05-08: 'n/a' is not a usable rate.",)
    may_9 = datetime(2024, 5, 9, 18, tzinfo=UTC)
    assert rate_mid("EUR", "USD", at=may_9) == (D("1.0765"), "ecb")
    # A daily file of a day already imported through the history adds only what is new.
    assert ecb_import(DAILY).added == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<gesmes:Envelope", "not valid XML"),
        (b"not xml at all", "not valid XML"),
        (b"<html><body>Moved</body></html>", "not an ECB euro reference rates file"),
        (b"<Envelope><Cube><Cube currency='USD' rate='1.1'/></Cube></Envelope>", "No rates found"),
        (
            b"<Envelope><Cube><Cube time='2024-05-10'><Cube currency='XYZ' rate='1'/></Cube></Cube></Envelope>",
            "No usable rates",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
            b"<Envelope>&lol2;</Envelope>",
            "refused for safety",
        ),
    ],
)
def test_a_malformed_file_is_a_clear_error_and_stores_nothing(in_alpha, content, message):
    with pytest.raises(ApplicationError, match=message):
        ecb_import(content)
    assert not ExchangeRate.objects.exists()


def test_a_day_with_an_unreadable_date_is_skipped_with_a_note():
    parsed = ecb_parse(
        b"<Envelope><Cube><Cube time='10/05/2024'><Cube currency='USD' rate='1.07'/></Cube>"
        b"<Cube time='2024-05-10'><Cube currency='USD' rate='1.0773'/></Cube></Cube></Envelope>"
    )
    assert [r.rate for r in parsed.rates] == [D("1.0773")]
    assert parsed.notes == ["Skipped a day with an unreadable date '10/05/2024'."]


def test_the_command_imports_a_file_into_one_tenant_and_not_the_other(alpha, beta, capsys):
    call_command("import_ecb_rates", str(FIXTURES / "ecb_daily.xml"), "--tenant", "alpha")
    out = capsys.readouterr().out
    assert "alpha: 6 new rates from 1 day." in out
    assert "BGN, ISK" in out
    with tenant_context(alpha):
        assert ExchangeRate.objects.count() == 6
    with tenant_context(beta):
        assert ExchangeRate.objects.count() == 0


def test_the_command_imports_into_every_active_tenant_and_reports_errors(alpha, beta, tmp_path, capsys):
    call_command("import_ecb_rates", str(FIXTURES / "ecb_hist_3days.xml"))
    with tenant_context(beta):
        assert ExchangeRate.objects.count() == 8
    bad = tmp_path / "bad.xml"
    bad.write_text("<nope")
    with pytest.raises(CommandError, match="not valid XML"):
        call_command("import_ecb_rates", str(bad))
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_ecb_rates", str(tmp_path / "missing.xml"))
    with pytest.raises(CommandError, match="No tenant"):
        call_command("import_ecb_rates", str(bad), "--tenant", "nobody")
