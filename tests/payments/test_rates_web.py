"""The rates page in /ops/payments/rates/: latest rate per pair, ECB upload, manual rate, permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from payments.models import ExchangeRate
from tests.payments.wallets_support import FIXTURES, people_make, rate, user_of
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alpha, beta):
    return people_make(alpha, beta)


def web(alpha, people, who):
    return tenant_web_client(alpha, user_of(people, who) if who else None)


def ecb_file(name="ecb_daily.xml", content=None):
    return SimpleUploadedFile(name, content or (FIXTURES / name).read_bytes(), content_type="text/xml")


def test_the_page_shows_the_latest_rate_of_each_pair_with_source_age_and_staleness(alpha, people):
    with tenant_context(alpha):
        rate("EUR", "USD", "1.07", source="demo", age=timedelta(minutes=30))
        rate("EUR", "USD", "1.0850", source="demo", age=timedelta(minutes=20))
        rate("USD", "JPY", "151.25", source="manual", age=timedelta(minutes=5))
    page = web(alpha, people, "bea").get("/ops/payments/rates/").content.decode()
    assert "1.085<" in page and "1.07<" not in page
    assert "151.25" in page
    assert page.count("badge warn") == 1  # the demo rate is 20 minutes old: stale
    assert "20\xa0minutes" in page
    assert "Import ECB reference rates" not in page  # back office may look only


def test_finance_uploads_the_ecb_file_and_sees_what_was_skipped(alpha, people):
    fiona = web(alpha, people, "fiona")
    response = fiona.post("/ops/payments/rates/import/", {"file": ecb_file()}, follow=True)
    page = response.content.decode()
    assert "ECB rates imported: 6 new rates from 1 day." in page
    assert "Skipped currencies this product does not know: BGN, ISK." in page
    again = fiona.post("/ops/payments/rates/import/", {"file": ecb_file()}, follow=True).content.decode()
    assert "0 new rates from 1 day, 6 already stored." in again
    with tenant_context(alpha):
        assert ExchangeRate.objects.count() == 6
        assert AuditRecord.objects.filter(action="payments.rates.imported").count() == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"file": "broken"}, "not valid XML"),
        ({}, "Upload a file or choose what to fetch"),
        ({"file": "daily", "fetch": "daily"}, "Upload a file or choose what to fetch"),
    ],
)
def test_a_bad_upload_is_explained_and_nothing_is_stored(alpha, people, data, message):
    form = {}
    if data.get("file") == "broken":
        form["file"] = ecb_file("broken.xml", b"<gesmes:Envelope><Cube>")
    elif data.get("file") == "daily":
        form["file"] = ecb_file()
    if "fetch" in data:
        form["fetch"] = data["fetch"]
    response = web(alpha, people, "fiona").post("/ops/payments/rates/import/", form)
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_context(alpha):
        assert not ExchangeRate.objects.exists()


def test_finance_enters_a_manual_rate(alpha, people):
    fiona = web(alpha, people, "fiona")
    response = fiona.post("/ops/payments/rates/set/", {"base": "GBP", "quote": "USD", "rate": "1.2712"}, follow=True)
    assert "GBP/USD set to 1.2712." in response.content.decode()
    bad = fiona.post("/ops/payments/rates/set/", {"base": "GBP", "quote": "GBP", "rate": "1"})
    assert bad.status_code == 400 and "Must differ from the base currency." in bad.content.decode()


@pytest.mark.parametrize(("who", "expected"), [(None, 302), ("carl", 403), ("sam", 403), ("bea", 403)])
def test_importing_and_setting_rates_need_payments_manage(alpha, people, who, expected):
    browser = web(alpha, people, who)
    assert browser.post("/ops/payments/rates/import/", {"file": ecb_file()}).status_code == expected
    assert (
        browser.post("/ops/payments/rates/set/", {"base": "GBP", "quote": "USD", "rate": "1.2"}).status_code == expected
    )
    with tenant_context(alpha):
        assert not ExchangeRate.objects.exists()


def test_rates_of_alpha_are_not_seen_in_beta(alpha, beta, people):
    with tenant_context(alpha):
        rate("EUR", "USD", "1.0850")
    page = tenant_web_client(beta, people["bob"]).get("/ops/payments/rates/").content.decode()
    assert "No rates yet" in page
