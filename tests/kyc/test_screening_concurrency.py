"""Two screenings of the same client at the same moment (a profile change and a list update, say), on
real threads with their own connections: the hit exists once and neither screening fails."""

from __future__ import annotations

from datetime import date

import pytest
from django_tenants.utils import tenant_context

from crm.models import Notification
from kyc.models import ScreeningHit, ScreeningRun
from kyc.screening import screen_client
from tests.concurrency import race
from tests.kyc.screening_support import Listed, compliance_officer, person, watchlist_load

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_screenings_of_the_same_client_at_once_make_one_hit(alpha):
    with tenant_context(alpha):
        watchlist_load(Listed("OFAC-1", "KARIMOV, Rustam", dates_of_birth=("1966-03-03",), nationalities=("UZ",)))
        cora = compliance_officer()
        rustam = person("Rustam", "Karimov", date_of_birth=date(1966, 3, 3), nationality="UZ", country="CY")

    results = race(alpha, lambda index: screen_client(rustam, trigger="manual"), count=4)

    assert all(isinstance(result, ScreeningRun) for result in results), results
    with tenant_context(alpha):
        assert ScreeningHit.objects.filter(client=rustam).count() == 1
        assert sorted(run.new_hits for run in ScreeningRun.objects.all()) == [0, 0, 0, 1]
        assert Notification.objects.filter(user=cora).count() == 1
