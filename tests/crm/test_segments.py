"""Saved segments: the service, visibility of members, and the /ops/crm/segments/ pages with CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from crm import segments
from crm.models import Client, Segment
from tests import factories
from tests.crm.support_segments import book_make, client_make, money_make
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db

DEPOSITED_NEVER_TRADED = [{"key": "deposited_within", "params": {"days": "7"}}, {"key": "never_traded"}]
VIP = [{"key": "tag_has", "params": {"tag": "vip"}}]
CREATED_LAST_YEAR = [{"key": "created_within", "params": {"days": 365}}]


@pytest.fixture
def book(in_alpha):
    return book_make()


def names(clients) -> set[str]:
    return {client.first_name.lower() for client in clients}


# The service --------------------------------------------------------------------------------------


def test_saving_a_segment_cleans_its_criteria_and_audits(book):
    segment = segments.segment_save(
        actor=book.alice, name="  New  money ", description="Call them", criteria=DEPOSITED_NEVER_TRADED
    )
    assert (segment.name, segment.created_by) == ("New money", book.alice)
    assert segment.criteria == [
        {"key": "deposited_within", "params": {"days": 7}},
        {"key": "never_traded", "params": {}},
    ]
    record = AuditRecord.objects.get(action="crm.segment.created")
    assert (record.actor_email, record.after["name"]) == ("alice@alpha.test", "New money")

    segments.segment_save(actor=book.alice, segment=segment, name="New money", criteria=VIP)
    record = AuditRecord.objects.get(action="crm.segment.updated")
    assert record.before["criteria"][0]["key"] == "deposited_within"
    assert record.after["criteria"] == [{"key": "tag_has", "params": {"tag": "vip"}}]


def test_a_second_segment_with_the_same_name_is_refused(book):
    segments.segment_save(actor=book.alice, name="VIPs", criteria=VIP)
    with pytest.raises(ApplicationError) as caught:
        segments.segment_save(actor=book.sam, name="vips", criteria=VIP)
    assert caught.value.fields == {"name": ["Choose another name."]}
    assert Segment.objects.count() == 1


def test_invalid_criteria_save_nothing(book):
    with pytest.raises(ApplicationError, match="Days: must be at least 1"):
        segments.segment_save(actor=book.alice, name="Bad", criteria=[{"key": "dormant_for", "params": {"days": 0}}])
    assert not Segment.objects.exists()
    assert not AuditRecord.objects.filter(action__startswith="crm.segment").exists()


def test_members_are_always_limited_to_what_the_viewer_may_see(book):
    segment = segments.segment_save(actor=book.alice, name="Last year", criteria=CREATED_LAST_YEAR)
    assert names(segments.segment_clients(segment, book.alice)) == {"ann", "ben", "dee", "eve"}
    assert names(segments.segment_clients(segment, book.bea)) == {"ann", "ben", "dee", "eve"}
    assert names(segments.segment_clients(segment, book.sam)) == {"ann", "eve"}
    assert names(segments.segment_clients(segment, book.sue)) == set()
    count, first = segments.segment_preview(CREATED_LAST_YEAR, book.sam)
    assert (count, [c.first_name for c in first]) == (2, ["Eve", "Ann"])


def test_preview_counts_beyond_the_first_ten(book):
    for number in range(12):
        client_make(f"extra{number}", created_days=1, tags=["vip"])
    count, first = segments.segment_preview(VIP, book.alice)
    assert (count, len(first)) == (14, 10)


def test_a_segment_whose_criterion_went_away_has_no_members_and_says_why(book):
    segment = Segment.objects.create(name="Old", criteria=[{"key": "retired_criterion"}], created_by=book.alice)
    assert list(segments.segment_clients(segment, book.alice)) == []
    assert "unknown criterion 'retired_criterion'" in segments.segment_problem(segment)


def test_the_example_segments_are_valid_and_made_once(book):
    money_make(book)
    created = segments.segment_examples_ensure(actor=book.alice)
    assert [s.name for s in created] == [e["name"] for e in segments.EXAMPLES]
    assert segments.segment_examples_ensure(actor=book.alice) == []
    by_name = {s.name: s for s in Segment.objects.all()}
    assert names(segments.segment_clients(by_name["Deposited in the last 7 days and never traded"], book.alice)) == {
        "ann"
    }
    assert names(segments.segment_clients(by_name["Balance above 1,000 USD"], book.alice)) == {"ann", "cid"}
    assert names(segments.segment_clients(by_name["Dormant for 60 days"], book.alice)) == {"cid", "eve"}


# Pages --------------------------------------------------------------------------------------------


@pytest.fixture
def web(alpha, book):
    def as_(user):
        return tenant_web_client(alpha, user)

    return as_


def test_list_shows_segments_and_counts_what_the_viewer_sees(book, web):
    segment = segments.segment_save(actor=book.alice, name="Last year", criteria=CREATED_LAST_YEAR)
    page = web(book.sam).get(reverse("ops:crm_segments"))
    assert page.status_code == 200
    assert "Last year" in page.text and "Created in the last 365 days" in page.text
    assert reverse("ops:crm_segment_count", args=[segment.pk]) in page.text
    assert web(book.sam).get(reverse("ops:crm_segment_count", args=[segment.pk])).text == "2"
    assert web(book.alice).get(reverse("ops:crm_segment_count", args=[segment.pk])).text == "4"


def test_detail_shows_only_visible_members(book, web):
    segment = segments.segment_save(actor=book.alice, name="Last year", criteria=CREATED_LAST_YEAR)
    page = web(book.sam).get(reverse("ops:crm_segment_detail", args=[segment.pk]))
    assert page.status_code == 200
    assert "ann@clients.test" in page.text and "eve@clients.test" in page.text
    assert "ben@clients.test" not in page.text and "dee@clients.test" not in page.text
    assert f"?segment={segment.pk}" in page.text


def test_building_a_segment_adds_rows_then_saves(book, web):
    browser = web(book.sam)
    url = reverse("ops:crm_segment_create")
    assert browser.get(url).status_code == 200
    page = browser.post(url, {"name": "Fresh", "op": "add", "add": "deposited_within"})
    assert page.status_code == 200 and 'name="c-0-key" value="deposited_within"' in page.text
    # Fired after the swap, so the preview re-counts with the new row (before it, it counted the old rows).
    assert page["HX-Trigger-After-Settle"] == "criteria-changed" and "HX-Trigger" not in page
    page = browser.post(
        url, {"name": "Fresh", "c-0-key": "deposited_within", "c-0-days": "7", "op": "add", "add": "never_traded"}
    )
    assert 'name="c-1-key" value="never_traded"' in page.text
    page = browser.post(
        url, {"name": "Fresh", "c-0-key": "deposited_within", "c-0-days": "7", "c-1-key": "never_traded"}
    )
    segment = Segment.objects.get(name="Fresh")
    assert page.status_code == 302 and page["Location"] == reverse("ops:crm_segment_detail", args=[segment.pk])
    assert segment.criteria == [
        {"key": "deposited_within", "params": {"days": 7}},
        {"key": "never_traded", "params": {}},
    ]
    # Removing a row re-draws the builder without it.
    page = browser.post(url, {"name": "x", "c-0-key": "tag_has", "c-3-key": "never_traded", "op": "remove-0"})
    assert 'name="c-0-key"' not in page.text and 'name="c-3-key" value="never_traded"' in page.text


def test_adding_or_removing_a_parameterless_criterion_asks_for_a_fresh_preview_and_saves_what_it_showed(book, web):
    browser = web(book.alice)
    url = reverse("ops:crm_segment_create")
    added = browser.post(url, {"name": "Quiet", "op": "add", "add": "never_traded"})
    assert added["HX-Trigger-After-Settle"] == "criteria-changed"
    assert 'name="c-0-key" value="never_traded"' in added.text
    removed = browser.post(url, {"name": "Quiet", "c-0-key": "never_traded", "op": "remove-0"})
    assert removed["HX-Trigger-After-Settle"] == "criteria-changed"

    rows = {"name": "Quiet", "c-0-key": "never_traded"}
    preview = browser.post(reverse("ops:crm_segment_preview"), rows)
    shown = int(preview.text.split('id="preview-count">')[1].split("<")[0])
    assert shown == 3  # Ann, Ben and Eve never traded
    saved = browser.post(url, rows)
    assert saved.status_code == 302
    segment = Segment.objects.get(name="Quiet")
    assert segments.segment_clients(segment, book.alice).count() == shown


def test_invalid_parameters_are_shown_next_to_the_row(book, web):
    page = web(book.alice).post(
        reverse("ops:crm_segment_create"),
        {"name": "Bad", "c-0-key": "never_traded", "c-1-key": "volume_above", "c-1-lots": "lots", "c-1-days": "30"},
    )
    assert page.status_code == 200
    assert "Criterion 2 (Volume above X lots in the last N days): Lots: enter a number like 1000" in page.text
    assert 'class="criterion-row has-error" id="criterion-1"' in page.text
    assert not Segment.objects.exists()


def test_preview_answers_with_the_visible_count_and_first_clients(book, web):
    url = reverse("ops:crm_segment_preview")
    data = {"c-0-key": "created_within", "c-0-days": "365"}
    page = web(book.sam).post(url, data)
    assert '<span class="value" id="preview-count">2</span>' in page.text
    assert "Ann Test" in page.text and "Ben Test" not in page.text
    assert '<span class="value" id="preview-count">4</span>' in web(book.alice).post(url, data).text
    bad = web(book.alice).post(url, {"c-0-key": "created_within", "c-0-days": "-3"})
    assert "Days: must be at least 1." in bad.text
    assert "Add a criterion" in web(book.alice).post(url, {}).text


def test_editing_another_persons_segment_needs_crm_manage(book, web):
    segment = segments.segment_save(actor=book.alice, name="Alice's", criteria=VIP)
    edit = reverse("ops:crm_segment_edit", args=[segment.pk])
    delete = reverse("ops:crm_segment_delete", args=[segment.pk])
    assert web(book.sam).get(edit).status_code == 403
    assert web(book.sam).post(delete).status_code == 403
    assert Segment.objects.filter(pk=segment.pk).exists()
    assert web(book.bea).get(edit).status_code == 200
    assert web(book.bea).post(delete).status_code == 302
    assert not Segment.objects.filter(pk=segment.pk).exists()
    assert AuditRecord.objects.get(action="crm.segment.deleted").before["name"] == "Alice's"


@pytest.mark.parametrize(
    ("who", "list_status", "create_status"),
    [("anonymous", 302, 302), ("client", 403, 403), ("dealing", 200, 403), ("support", 200, 200)],
)
def test_who_may_see_and_build_segments(book, web, who, list_status, create_status):
    user = {
        "anonymous": None,
        "client": factories.client_user("carla@alpha.test") if who == "client" else None,
        "dealing": factories.staff_user("dan@alpha.test", roles=["dealing"]) if who == "dealing" else None,
        "support": factories.staff_user("suzy@alpha.test", roles=["support"]) if who == "support" else None,
    }[who]
    assert web(user).get(reverse("ops:crm_segments")).status_code == list_status
    assert web(user).get(reverse("ops:crm_segment_create")).status_code == create_status


# CSV export ---------------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_export_streams_visible_members_formula_safe_and_audited(book, web):
    Client.objects.filter(pk=book.ann.pk).update(first_name="=HYPERLINK(1)", phone="+4915112345678")
    segment = segments.segment_save(actor=book.alice, name="Last year", criteria=CREATED_LAST_YEAR)
    response = web(book.sam).get(reverse("ops:crm_segment_export", args=[segment.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="segment-last-year-' in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == ["id", "name", "email", "phone", "country", "status", "agent", "FTD date", "last activity"]
    by_email = {row[2]: row for row in rows[1:]}
    assert set(by_email) == {"ann@clients.test", "eve@clients.test"}
    ann = by_email["ann@clients.test"]
    assert ann[1] == "'=HYPERLINK(1) Test"
    assert ann[3:7] == ["'+4915112345678", "DE", "Funded", "sam@alpha.test"]
    assert ann[7] == book.ann.first_deposit_at.strftime("%Y-%m-%d %H:%M")
    assert by_email["eve@clients.test"][7:] == ["", ""]
    record = AuditRecord.objects.get(action="crm.segment.exported")
    assert (record.actor_email, record.after["rows"]) == ("sam@alpha.test", 2)

    everyone = read_csv(web(book.alice).get(reverse("ops:crm_segment_export", args=[segment.pk])))
    assert len(everyone) == 5


# Criteria over money and trading ------------------------------------------------------------------

BALANCE = [{"key": "balance_above", "params": {"amount": "1000", "currency": "USD"}}]


def test_the_builder_offers_money_and_trading_criteria_only_to_who_may_see_them(book, web):
    agents = web(book.sam).get(reverse("ops:crm_segment_create")).text
    owners = web(book.alice).get(reverse("ops:crm_segment_create")).text
    for key in ("balance_above", "deposited_more_than", "volume_above", "has_live_account", "has_open_positions"):
        assert f'value="{key}"' in owners
        assert f'value="{key}"' not in agents
    assert 'value="deposited_within"' in agents


def test_a_sales_agent_cannot_save_or_preview_a_money_criterion(book, web):
    with pytest.raises(ApplicationError, match="uses criteria you may not use"):
        segments.segment_save(actor=book.sam, name="Rich", criteria=BALANCE)
    page = web(book.sam).post(reverse("ops:crm_segment_preview"), {"c-0-key": "balance_above", "c-0-amount": "1",
                                                                   "c-0-currency": "USD"})  # fmt: skip
    assert "uses criteria you may not use" in page.text and "ann@clients.test" not in page.text


def test_a_segment_over_money_shows_no_members_to_an_agent_and_says_why(book, web):
    money_make(book)
    segment = segments.segment_save(actor=book.alice, name="Rich", criteria=BALANCE)
    assert names(segments.segment_clients(segment, book.alice)) == {"ann", "cid"}
    assert list(segments.segment_clients(segment, book.sam)) == []
    assert "uses criteria you may not use" in segments.segment_problem(segment, book.sam)
    assert segments.segment_problem(segment, book.alice) == ""
    detail = web(book.sam).get(reverse("ops:crm_segment_detail", args=[segment.pk])).text
    assert "uses criteria you may not use" in detail and "ann@clients.test" not in detail
    assert web(book.sam).get(reverse("ops:crm_segment_count", args=[segment.pk])).text == "0"
    export = web(book.sam).get(reverse("ops:crm_segment_export", args=[segment.pk]))
    assert b"ann@clients.test" not in b"".join(export.streaming_content)
