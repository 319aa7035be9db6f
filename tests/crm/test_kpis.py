"""Sales KPIs on a handmade month: exact counts, amounts per currency, conversion, reach and links."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from brokerage.errors import ApplicationError
from crm.kpis import period_from, sales_kpis
from crm.models import Client
from tests.crm.support_sales import new_client, sales_floor

pytestmark = pytest.mark.django_db

NOVEMBER = period_from("custom", "2026-11-01", "2026-11-30")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def client_made(created: str, **fields) -> Client:
    ftd = fields.pop("ftd", None)
    if ftd:
        fields.update(first_deposit_at=at(ftd[0]), first_deposit_amount=Decimal(ftd[1]), first_deposit_currency=ftd[2])
    client = new_client(**fields)
    Client.objects.filter(pk=client.pk).update(created_at=at(created))
    return client


@pytest.fixture
def month(in_alpha):
    floor = sales_floor()
    ann, ben = floor.ann, floor.ben
    lead, funded = Client.Status.LEAD, Client.Status.FUNDED
    bf = {"source": "campaign", "source_detail": "Black Friday"}
    client_made("2026-11-03 10:00", sales_agent=ann, status=lead, lead_stage="new", **bf)
    client_made("2026-11-05 10:00", sales_agent=ann, status=lead, lead_stage="contacted", **bf)
    client_made(
        "2026-11-10 10:00",
        sales_agent=ann,
        status=funded,
        lead_stage="converted",
        ftd=("2026-11-12 09:00", "500", "USD"),
        **bf,
    )
    client_made(
        "2026-10-20 10:00", sales_agent=ann, status=funded, source="ib", ftd=("2026-11-02 09:00", "1000", "EUR")
    )
    client_made("2026-11-15 10:00", sales_agent=ben, status=lead, lead_stage="lost", source="organic")
    client_made(
        "2026-11-16 10:00",
        sales_agent=ben,
        status="active",
        lead_stage="converted",
        source="organic",
        ftd=("2026-11-20 09:00", "250.5", "USD"),
    )
    client_made("2026-09-01 10:00", sales_agent=ben, status=lead, lead_stage="qualified", source="import")
    client_made("2026-11-20 10:00", status="registered", source="organic")
    client_made("2026-11-30 23:59", sales_agent=ben, status="registered", source="organic")
    client_made(
        "2026-12-01 00:00", sales_agent=ben, status=funded, source="organic", ftd=("2026-12-02 09:00", "99", "USD")
    )
    client_made(
        "2026-10-01 10:00", sales_agent=ann, status=funded, source="organic", ftd=("2026-10-31 23:59", "77", "GBP")
    )
    return floor


def figures(row) -> dict:
    keys = ["open", "open_new", "open_contacted", "open_qualified", "open_lost", "created", "converted", "lost", "ftds"]
    return {key: row.counts[key] for key in keys}


def test_totals_for_the_month(month):
    kpis = sales_kpis(month.olga, NOVEMBER)

    assert figures(kpis.total) == {
        "open": 3,
        "open_new": 1,
        "open_contacted": 1,
        "open_qualified": 1,
        "open_lost": 1,
        "created": 7,
        "converted": 2,
        "lost": 1,
        "ftds": 3,
    }
    assert kpis.total.amounts == [("EUR", Decimal("1000.00")), ("USD", Decimal("750.50"))]
    assert kpis.total.conversion == Decimal("42.9")  # 3 FTDs / 7 created
    assert [(stage, count) for stage, _, count, _ in kpis.pipeline] == [
        ("new", 1),
        ("contacted", 1),
        ("qualified", 1),
        ("negotiation", 0),
        ("lost", 1),
    ]  # no "converted": a converted lead is a client, its status is no longer lead


def test_per_agent_rows(month):
    kpis = sales_kpis(month.alice, NOVEMBER)

    rows = {row.label: row for row in kpis.by_agent}
    assert list(rows) == ["Ann Smith", "Ben Jones", "Unassigned"]
    assert figures(rows["Ann Smith"]) == {
        "open": 2, "open_new": 1, "open_contacted": 1, "open_qualified": 0, "open_lost": 0,
        "created": 3, "converted": 1, "lost": 0, "ftds": 2,
    }  # fmt: skip
    assert rows["Ann Smith"].amounts == [("EUR", Decimal("1000.00")), ("USD", Decimal("500.00"))]
    assert rows["Ann Smith"].conversion == Decimal("66.7")
    assert figures(rows["Ben Jones"]) == {
        "open": 1, "open_new": 0, "open_contacted": 0, "open_qualified": 1, "open_lost": 1,
        "created": 3, "converted": 1, "lost": 1, "ftds": 1,
    }  # fmt: skip
    assert rows["Ben Jones"].amounts == [("USD", Decimal("250.50"))]
    assert rows["Ben Jones"].conversion == Decimal("33.3")
    assert (rows["Unassigned"].counts["created"], rows["Unassigned"].counts["ftds"]) == (1, 0)
    assert rows["Unassigned"].conversion == Decimal("0.0")


def test_per_source_and_campaign_rows(month):
    kpis = sales_kpis(month.olga, NOVEMBER)

    sources = {row.label: (row.counts["created"], row.counts["ftds"], row.conversion) for row in kpis.by_source}
    assert sources == {
        "Campaign": (3, 1, Decimal("33.3")),
        "IB link": (0, 1, None),
        "Organic sign-up": (4, 1, Decimal("25.0")),
        "Lead import": (0, 0, None),
    }
    campaign = next(row for row in kpis.by_campaign if row.label == "Campaign · Black Friday")
    assert (campaign.counts["created"], campaign.counts["ftds"], campaign.amounts) == (
        3,
        1,
        [("USD", Decimal("500.00"))],
    )


def test_every_number_links_to_the_same_clients_in_the_list(month):
    kpis = sales_kpis(month.olga, NOVEMBER)
    ann = next(row for row in kpis.by_agent if row.label == "Ann Smith")
    a = month.ann.pk

    assert ann.links["ftds"] == f"/ops/crm/clients/?agent={a}&ftd_from=2026-11-01&ftd_to=2026-11-30"
    assert ann.links["created"] == f"/ops/crm/clients/?agent={a}&created_from=2026-11-01&created_to=2026-11-30"
    assert ann.links["converted"].endswith("created_to=2026-11-30&lead_stage=converted")
    assert ann.links["open_new"] == f"/ops/crm/clients/?agent={a}&status=lead&lead_stage=new"
    unassigned = next(row for row in kpis.by_agent if row.label == "Unassigned")
    assert unassigned.links["created"].startswith("/ops/crm/clients/?agent=none&")
    campaign = next(row for row in kpis.by_campaign if row.label == "Campaign · Black Friday")
    assert campaign.links["ftds"] == (
        "/ops/crm/clients/?source=campaign&source_detail=Black+Friday&ftd_from=2026-11-01&ftd_to=2026-11-30"
    )


def test_a_sales_agent_counts_only_their_own_clients(month):
    kpis = sales_kpis(month.ann, NOVEMBER)

    assert [row.label for row in kpis.by_agent] == ["Ann Smith"]
    assert (kpis.total.counts["created"], kpis.total.counts["ftds"], kpis.total.counts["open"]) == (3, 2, 2)
    assert {row.label for row in kpis.by_source} == {"Campaign", "IB link"}  # her October FTD is out


def test_a_desk_manager_counts_the_desk(month):
    kpis = sales_kpis(month.mia, NOVEMBER)  # Mia manages Ben and Cat

    assert [row.label for row in kpis.by_agent] == ["Ben Jones"]
    assert (kpis.total.counts["created"], kpis.total.counts["ftds"]) == (3, 1)


def test_staff_without_client_access_count_nothing(month):
    from tests import factories

    nobody = factories.staff_user("pat@alpha.test", roles=["client"], mfa=False)
    kpis = sales_kpis(nobody, NOVEMBER)

    assert kpis.by_agent == [] and kpis.total.counts["created"] == 0 and kpis.total.amounts == []


def test_kpis_take_a_fixed_number_of_queries(month, django_assert_num_queries):
    # Two permission reads, two GROUP BY queries, the agents' names; django-tenants sets the search path before each.
    with django_assert_num_queries(10):
        sales_kpis(month.olga, NOVEMBER)


@pytest.mark.parametrize(
    ("preset", "first", "last"),
    [
        ("today", date(2026, 11, 24), date(2026, 11, 24)),
        ("7d", date(2026, 11, 18), date(2026, 11, 24)),
        ("30d", date(2026, 10, 26), date(2026, 11, 24)),
        ("month", date(2026, 11, 1), date(2026, 11, 30)),
        ("", date(2026, 11, 1), date(2026, 11, 30)),
    ],
)
def test_period_presets(preset, first, last):
    period = period_from(preset, today=date(2026, 11, 24))
    assert (period.first_day, period.last_day) == (first, last)


def test_custom_periods_are_checked():
    assert period_from("custom", "2026-02-01", "2026-02-10").label == "01 Feb 2026 – 10 Feb 2026"
    with pytest.raises(ApplicationError):
        period_from("custom", "2026-02-10", "2026-02-01")
    with pytest.raises(ApplicationError):
        period_from("custom", "10/02/2026", "")
    with pytest.raises(ApplicationError):
        period_from("forever")


# The page ------------------------------------------------------------------------------------------


def test_kpi_page_shows_the_figures_with_their_links(month, alpha):
    from tests.tenants.web import tenant_web_client

    response = tenant_web_client(alpha, month.olga).get(
        "/ops/crm/sales/kpis/", {"period": "custom", "date_from": "2026-11-01", "date_to": "2026-11-30"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "01 Nov 2026 – 30 Nov 2026" in page
    assert '<div class="value" id="kpi-conversion">42.9 %</div>' in page
    assert f'href="/ops/crm/clients/?agent={month.ann.pk}&amp;ftd_from=2026-11-01&amp;ftd_to=2026-11-30">2</a>' in page
    assert "1,000.00 EUR" in page and "750.50 USD" in page
    assert "FTDs in the period ÷ clients created in the period" in page


def test_kpi_amounts_are_written_with_thousands_separators_and_wrap_in_their_card(in_alpha, alpha):
    from tests.tenants.web import tenant_web_client

    floor = sales_floor()
    client_made("2026-11-03 10:00", sales_agent=floor.ann, status="funded", ftd=("2026-11-04 09:00", "15500", "USD"))
    client_made("2026-11-03 11:00", sales_agent=floor.ann, status="funded", ftd=("2026-11-04 10:00", "1234567", "JPY"))

    kpis = sales_kpis(floor.olga, NOVEMBER)
    assert kpis.total.amount_texts == ["1,234,567 JPY", "15,500.00 USD"]
    page = tenant_web_client(alpha, floor.olga).get(
        "/ops/crm/sales/kpis/", {"period": "custom", "date_from": "2026-11-01", "date_to": "2026-11-30"}
    )
    totals = page.content.decode().split('id="kpi-totals"')[1].split("<h2>")[0]
    assert ">15,500.00 USD</a>" in totals and ">1,234,567 JPY</a>" in totals
    assert "nowrap" not in totals  # a long amount may wrap inside its card instead of being cut off


def test_a_lead_converted_on_the_pipeline_counts_as_converted_and_is_no_longer_an_open_lead(in_alpha):
    from crm.leads import lead_stage_set

    floor = sales_floor()
    lead = new_client(sales_agent=floor.ann, status=Client.Status.LEAD, lead_stage="contacted")

    lead_stage_set(actor=floor.olga, client=lead, stage="converted")

    kpis = sales_kpis(floor.olga, period_from("today"))
    assert kpis.total.counts["converted"] == 1
    assert kpis.total.counts["open"] == 0
    assert all(count == 0 for _, _, count, _ in kpis.pipeline)


def test_kpi_page_for_a_sales_agent_shows_only_their_row(month, alpha):
    from tests.tenants.web import tenant_web_client

    response = tenant_web_client(alpha, month.ann).get(
        "/ops/crm/sales/kpis/", {"period": "custom", "date_from": "2026-11-01", "date_to": "2026-11-30"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Ann Smith" in page and "Ben Jones" not in page and "Unassigned" not in page
    assert "Reassign clients" not in page and "Assignment rules" not in page


def test_kpi_page_refuses_a_bad_period_and_people_without_client_access(month, alpha):
    from tests import factories
    from tests.tenants.web import tenant_web_client

    response = tenant_web_client(alpha, month.olga).get(
        "/ops/crm/sales/kpis/", {"period": "custom", "date_from": "2026-11-30", "date_to": "2026-11-01"}
    )
    assert response.status_code == 200
    assert "Pick a date after the start." in response.content.decode()

    carl = factories.client_user("carl@alpha.test")
    assert tenant_web_client(alpha, carl).get("/ops/crm/sales/kpis/").status_code == 403
    assert tenant_web_client(alpha).get("/ops/crm/sales/kpis/").status_code == 302
