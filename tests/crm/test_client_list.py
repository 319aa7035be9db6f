"""/ops/crm/clients/: filters, sorting, paging without COUNT, and who sees which clients."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm import selectors
from crm.models import Client
from tests import factories
from tests.crm.support_client360 import crm_people
from tests.tenants.web import tenant_web_client

URL = "/ops/crm/clients/"


@pytest.fixture
def people(alpha):
    with tenant_context(alpha):
        return crm_people()


def rows(response) -> list[str]:
    """Ids of the client rows in a list response."""
    import re

    return re.findall(r'<tr id="client-(\d+)"', response.content.decode())


def listed(alpha, user, **params) -> list[int]:
    response = tenant_web_client(alpha, user).get(URL, params)
    assert response.status_code == 200
    return [int(pk) for pk in rows(response)]


def test_sales_agent_sees_only_their_own_clients(alpha, people):
    assert listed(alpha, people.sam) == [people.ada.pk]


def test_sales_agent_cannot_find_another_agents_client_by_search(alpha, people):
    assert listed(alpha, people.sam, q="zoe") == []
    assert listed(alpha, people.sam, q="ada") == [people.ada.pk]


def test_desk_manager_sees_the_clients_of_their_desk(alpha, people):
    assert listed(alpha, people.dan) == [people.ada.pk]
    with tenant_context(alpha):
        own = factories.ClientFactory(first_name="Dora", sales_agent=people.dan)
    assert sorted(listed(alpha, people.dan)) == sorted([people.ada.pk, own.pk])


def test_back_office_sees_every_client_newest_first(alpha, people):
    assert listed(alpha, people.bea) == [people.neil.pk, people.zoe.pk, people.ada.pk]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "LOVELACE"}, ["ada"]),
        ({"q": "zoe@example"}, ["zoe"]),
        ({"q": "07911 123456"}, ["ada"]),  # national form of +44 7911 123456
        ({"q": "+44 7911 123456"}, ["ada"]),
        ({"q": "ada lovelace"}, ["ada"]),
        ({"q": "ada zimmer"}, []),
        ({"status": "lead"}, ["zoe"]),
        ({"country": "FR"}, ["neil"]),
        ({"source": "campaign"}, ["zoe"]),
        ({"tag": "VIP"}, ["ada"]),
        ({"agent": "none"}, ["neil"]),
        ({"lead_stage": "contacted"}, ["zoe"]),
        ({"kyc_status": "approved"}, ["ada"]),
        ({"sort": "name"}, ["ada", "neil", "zoe"]),
    ],
)
def test_filters_narrow_the_list(alpha, people, params, expected):
    names = {people.ada.pk: "ada", people.zoe.pk: "zoe", people.neil.pk: "neil"}
    assert [names[pk] for pk in listed(alpha, people.bea, **params)] == expected


def test_filter_by_agent_and_creation_dates(alpha, people):
    with tenant_context(alpha):
        Client.objects.filter(pk=people.zoe.pk).update(created_at=timezone.now() - timedelta(days=10))
    today = timezone.localdate()
    assert listed(alpha, people.bea, agent=people.sue.pk) == [people.zoe.pk]
    older = (today - timedelta(days=10)).isoformat()
    assert listed(alpha, people.bea, created_from=older, created_to=older) == [people.zoe.pk]
    assert sorted(listed(alpha, people.bea, created_from=today.isoformat())) == sorted([people.ada.pk, people.neil.pk])


def test_sort_by_last_activity_shows_the_active_most_recent_first(alpha, people):
    with tenant_context(alpha):
        Client.objects.filter(pk=people.zoe.pk).update(last_activity_at=timezone.now() - timedelta(days=1))
        Client.objects.filter(pk=people.neil.pk).update(last_activity_at=timezone.now())
    assert listed(alpha, people.bea, sort="activity") == [people.neil.pk, people.zoe.pk]


def test_pages_of_25_without_counting(alpha, people, django_assert_max_num_queries):
    with tenant_context(alpha):
        factories.ClientFactory.create_batch(30, sales_agent=people.sam)
    http = tenant_web_client(alpha, people.sam)
    first = http.get(URL)
    assert len(rows(first)) == 25
    assert "Clients 1–25" in first.content.decode()
    assert "page=2" in first.content.decode()
    second = http.get(URL, {"page": 2})
    assert len(rows(second)) == 6  # 30 + Ada
    assert "page=3" not in second.content.decode()
    with tenant_context(alpha):
        list(selectors.client_list(user=people.bea)[:26])  # loads Bea's permissions once
        with django_assert_max_num_queries(2):  # search_path + the page of clients with their agents
            list(selectors.client_list(user=people.bea)[:26])
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            list(selectors.client_list(user=people.sam, search="ada")[:26])
        assert not any("COUNT(" in query["sql"].upper() for query in queries.captured_queries)


def test_htmx_request_gets_only_the_rows(alpha, people):
    response = tenant_web_client(alpha, people.bea).get(
        URL, {"q": "ada"}, headers={"HX-Request": "true", "HX-Target": "client-rows"}
    )
    body = response.content.decode()
    assert "<html" not in body
    assert rows(response) == [str(people.ada.pk)]


def test_the_list_shows_phone_agent_and_ftd(alpha, people):
    with tenant_context(alpha):
        Client.objects.filter(pk=people.ada.pk).update(
            first_deposit_at=timezone.now().replace(year=2025, month=3, day=4)
        )
    body = tenant_web_client(alpha, people.bea).get(URL, {"q": "ada"}).content.decode()
    assert "+44 7911 123456" in body
    assert "sam@alpha.test" in body or people.sam.get_full_name() in body
    assert "2025-03-04" in body


def test_staff_without_crm_access_is_refused(alpha, people):
    with tenant_context(alpha):
        nobody = factories.staff_user("carla@alpha.test", roles=[])
    assert tenant_web_client(alpha, nobody).get(URL).status_code == 403


def test_clients_of_another_tenant_never_show(alpha, beta, people):
    with tenant_context(beta):
        factories.ClientFactory(first_name="Beatrice", email="ada.beta@example.test")
    assert listed(alpha, people.bea, q="beatrice") == []


def test_a_segment_lists_its_members_the_viewer_may_see(alpha, people):
    from crm.models import Segment

    with tenant_context(alpha):
        factories.ClientFactory(first_name="Greta", country="DE", sales_agent=people.sam)
        germans = Segment.objects.create(
            name="Germans", criteria=[{"key": "country_in", "params": {"countries": ["DE"]}}], created_by=people.bea
        )
        greta = Client.objects.get(first_name="Greta")
    assert sorted(listed(alpha, people.bea, segment=germans.pk)) == sorted([people.zoe.pk, greta.pk])
    assert listed(alpha, people.sam, segment=germans.pk) == [greta.pk]
    assert listed(alpha, people.bea, segment=germans.pk, status="lead") == [people.zoe.pk]
    body = tenant_web_client(alpha, people.bea).get(URL, {"segment": germans.pk}).content.decode()
    assert "in segment “Germans”" in body
    assert tenant_web_client(alpha, people.bea).get(URL, {"segment": 999999}).status_code == 404


def test_a_filter_that_does_not_parse_is_left_out_and_the_others_apply(alpha, people):
    assert listed(alpha, people.bea, status="lead", created_from="31/12/2020") == [people.zoe.pk]
    # Sam cannot widen his view by naming another agent: the choice is not offered, visibility holds anyway.
    assert listed(alpha, people.sam, agent=people.sue.pk) == [people.ada.pk]


def test_the_filter_bar_keeps_the_chosen_values_and_its_labels(alpha, people):
    """The filter widgets are written in Python (the country options built once per process): each page
    still marks what was chosen, escapes what was typed, and labels every control."""
    import re

    web = tenant_web_client(alpha, people.bea)
    page = web.get(URL, {"country": "DE", "status": "funded", "q": '<b>"x', "created_from": "2024-01-02"})
    html = page.content.decode()
    assert '<option value="DE" selected>Germany</option>' in html
    assert '<option value="funded" selected>' in html
    assert '<option value="GB">United Kingdom</option>' in html
    assert 'value="&lt;b&gt;&quot;x"' in html and '<b>"x' not in html
    assert re.search(r'<input type="date" name="created_from" value="2024-01-02"[^>]* id="f-created_from"', html)
    for name in ("q", "status", "country", "source", "tag", "agent", "lead_stage", "kyc_status", "sort"):
        assert f'<label for="f-{name}">' in html and f'id="f-{name}"' in html
    # The next page, without a country, shows "Any" chosen: the cached options were not changed.
    html = web.get(URL).content.decode()
    assert "selected>Germany" not in html
    assert re.search(r'<select name="country" id="f-country"><option value="" selected>Any</option>', html)


def test_a_lead_stage_lists_leads_only_not_clients_who_keep_the_default_stage(alpha, people):
    with tenant_context(alpha):
        lead = factories.ClientFactory(status=Client.Status.LEAD, lead_stage=Client.LeadStage.NEW)
        signed_up = factories.ClientFactory(status=Client.Status.REGISTERED, lead_stage=Client.LeadStage.NEW)
        converted = factories.ClientFactory(status=Client.Status.REGISTERED, lead_stage=Client.LeadStage.CONVERTED)
    new = listed(alpha, people.bea, lead_stage="new")
    assert lead.pk in new and signed_up.pk not in new
    assert converted.pk in listed(alpha, people.bea, lead_stage="converted")
