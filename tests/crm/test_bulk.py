"""Bulk actions: set-based tagging (idempotent, visible clients only), and the /ops/crm/bulk/ endpoint
dispatching tag, assign and email over ticked clients or a whole segment, with a confirmation step."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from crm import bulk, segments
from crm.models import Client, Email, EmailTemplate, TimelineEvent
from tests import factories
from tests.crm.support_segments import book_make, client_make
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db

URL = "/ops/crm/bulk/"


@pytest.fixture
def book(in_alpha):
    return book_make()


def tags() -> dict[str, list[str]]:
    return {c.first_name.lower(): c.tags for c in Client.objects.all()}


def test_the_url_is_the_contract():
    assert reverse("ops:crm_bulk_action") == URL


# clients_tag --------------------------------------------------------------------------------------


def test_adding_a_tag_is_idempotent_and_leaves_one_line_per_changed_client(book):
    ids = [book.ann.pk, book.ben.pk, book.cid.pk]
    assert bulk.clients_tag(actor=book.alice, client_ids=ids, add=[" VIP "]) == 1  # only Ben lacked it
    assert bulk.clients_tag(actor=book.alice, client_ids=ids, add=["vip"]) == 0
    assert tags() == {"ann": ["vip"], "ben": ["vip"], "cid": ["high roller", "vip"], "dee": [], "eve": []}
    lines = TimelineEvent.objects.filter(topic="crm.client.tagged")
    assert [(line.client_id, line.title, line.actor_label) for line in lines] == [
        (book.ben.pk, "Tags changed: +vip", "alice@alpha.test")
    ]
    record = AuditRecord.objects.get(action="crm.clients.tagged")
    assert record.after == {
        "add": ["vip"], "remove": [], "count": 1, "client_ids": [book.ben.pk], "client_ids_truncated": False,
    }  # fmt: skip


def test_tags_keep_their_order_and_remove_and_add_at_once(book):
    assert bulk.clients_tag(actor=book.alice, client_ids=[book.cid.pk], add=["whale", "vip"]) == 1
    assert tags()["cid"] == ["high roller", "vip", "whale"]
    assert bulk.clients_tag(actor=book.alice, client_ids=[book.cid.pk], add=["new"], remove=["high roller"]) == 1
    assert tags()["cid"] == ["vip", "whale", "new"]
    assert bulk.clients_tag(actor=book.alice, client_ids=[book.cid.pk, book.ann.pk], remove=["vip", "zzz"]) == 2
    assert bulk.clients_tag(actor=book.alice, client_ids=[book.cid.pk, book.ann.pk], remove=["vip"]) == 0
    assert (tags()["cid"], tags()["ann"]) == (["whale", "new"], [])


def test_tagging_does_not_count_as_client_activity(book):
    before = Client.objects.get(pk=book.cid.pk).last_activity_at
    bulk.clients_tag(actor=book.alice, client_ids=[book.cid.pk], add=["called"])
    assert Client.objects.get(pk=book.cid.pk).last_activity_at == before


def test_a_sales_agent_tags_only_their_own_clients(book):
    assert bulk.clients_tag(actor=book.sam, client_ids=[book.ann.pk, book.cid.pk, book.ben.pk], add=["q3"]) == 1
    assert tags()["ann"] == ["vip", "q3"] and tags()["cid"] == ["high roller", "vip"] and tags()["ben"] == []


def test_tagging_needs_the_change_right_and_a_sane_tag(book):
    dan = factories.staff_user("dan@alpha.test", roles=["dealing"])
    with pytest.raises(PermissionDenied):
        bulk.clients_tag(actor=dan, client_ids=[book.ann.pk], add=["x"])
    with pytest.raises(ApplicationError, match="Enter a tag"):
        bulk.clients_tag(actor=book.alice, client_ids=[book.ann.pk], add=["  "])
    with pytest.raises(ApplicationError, match="added and removed at once"):
        bulk.clients_tag(actor=book.alice, client_ids=[book.ann.pk], add=["x"], remove=["X"])
    with pytest.raises(ApplicationError, match="too long"):
        bulk.clients_tag(actor=book.alice, client_ids=[book.ann.pk], add=["x" * 41])
    assert tags()["ann"] == ["vip"] and not TimelineEvent.objects.exists()


# The endpoint -------------------------------------------------------------------------------------


@pytest.fixture
def web(alpha, book):
    return lambda user: tenant_web_client(alpha, user)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_ticked_clients_are_tagged_and_the_page_says_how_many(book, web):
    response = web(book.sam).post(
        URL,
        {
            "client": [book.ann.pk, book.eve.pk, book.cid.pk],
            "action": "tag_add",
            "tag": "vip",
            "next": "/ops/crm/clients/?q=a",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/ops/crm/clients/?q=a"
    assert messages_of(response) == ["Add tag: 1 of 2 clients tagged; 1 already as asked or skipped."]
    assert tags()["eve"] == ["vip"] and tags()["cid"] == ["high roller", "vip"]


def test_a_whole_segment_is_tagged_and_next_must_be_local(book, web):
    segment = segments.segment_save(
        actor=book.alice, name="Year", criteria=[{"key": "created_within", "params": {"days": 365}}]
    )
    response = web(book.alice).post(
        URL, {"segment": segment.pk, "action": "tag_add", "tag": "yearly", "next": "https://evil.test/"}
    )
    assert response["Location"] == reverse("ops:crm_segment_detail", args=[segment.pk])
    assert {name for name, t in tags().items() if "yearly" in t} == {"ann", "ben", "dee", "eve"}


def test_over_fifty_clients_ask_for_a_confirmation_first(book, web):
    for number in range(51):
        client_make(f"many{number}", created_days=1)
    segment = segments.segment_save(
        actor=book.alice, name="New", criteria=[{"key": "created_within", "params": {"days": 2}}]
    )
    data = {"segment": segment.pk, "action": "tag_add", "tag": "wave1", "next": "/ops/crm/segments/"}
    page = web(book.alice).post(URL, data)
    assert page.status_code == 200
    assert '<span class="value" id="bulk-count">51</span>' in page.text
    assert 'name="confirmed" value="51"' in page.text and 'name="tag" value="wave1"' in page.text
    assert not Client.objects.filter(tags__contains=["wave1"]).exists()
    # A confirmation for another number (the segment changed meanwhile) asks again.
    assert web(book.alice).post(URL, {**data, "confirmed": "50"}).status_code == 200
    done = web(book.alice).post(URL, {**data, "confirmed": "51"})
    assert done.status_code == 302
    assert Client.objects.filter(tags__contains=["wave1"]).count() == 51


def test_assign_goes_through_reassignment_with_its_permissions(book, web):
    response = web(book.alice).post(
        URL, {"client": [book.ben.pk, book.dee.pk], "action": "assign_sales", "agent": book.sue.pk, "next": "/ops/"}
    )
    assert messages_of(response) == ["Assign sales agent: 2 of 2 clients reassigned."]
    assert set(Client.objects.filter(sales_agent=book.sue).values_list("first_name", flat=True)) == {
        "Ben",
        "Cid",
        "Dee",
    }
    response = web(book.alice).post(
        URL, {"client": [book.ann.pk], "action": "assign_retention", "agent": book.sam.pk, "next": "/ops/"}
    )
    assert Client.objects.get(pk=book.ann.pk).retention_agent == book.sam
    # A sales agent managing no desk may not reassign: 403 and nothing moves.
    denied = web(book.sam).post(URL, {"client": [book.ann.pk], "action": "assign_sales", "agent": book.sue.pk})
    assert denied.status_code == 403
    assert Client.objects.get(pk=book.ann.pk).sales_agent == book.sam


def test_an_unknown_agent_or_action_is_a_message_not_a_crash(book, web):
    response = web(book.alice).post(URL, {"client": [book.ben.pk], "action": "assign_sales", "agent": "999999"})
    assert messages_of(response) == ["You may not assign clients to that person."]
    response = web(book.alice).post(URL, {"client": [book.ben.pk], "action": "explode"})
    assert messages_of(response) == ["Choose an action."]
    response = web(book.alice).post(URL, {"client": [], "action": "tag_add", "tag": "x"})
    assert messages_of(response) == ["Select at least one client."]


def test_email_is_queued_per_visible_client_with_an_address(book, web):
    EmailTemplate.objects.create(name="Welcome", language="en", subject="Hi {{ first_name }}", body="Hello")
    Client.objects.filter(pk=book.eve.pk).update(email="")
    response = web(book.sam).post(
        URL, {"client": [book.ann.pk, book.eve.pk, book.cid.pk], "action": "email", "template": "Welcome"}
    )
    assert messages_of(response) == ["Send templated email: 1 of 2 clients emailed; 1 already as asked or skipped."]
    assert list(Email.objects.values_list("client__first_name", flat=True)) == ["Ann"]
    response = web(book.sam).post(URL, {"client": [book.ann.pk], "action": "email", "template": "Nope"})
    assert messages_of(response) == ["Choose an email template."]


def test_the_bulk_form_offers_only_what_the_viewer_may_do(book, web):
    segment = segments.segment_save(
        actor=book.alice, name="VIP", criteria=[{"key": "tag_has", "params": {"tag": "vip"}}]
    )
    detail = reverse("ops:crm_segment_detail", args=[segment.pk])
    owner_page = web(book.alice).get(detail).text
    assert 'value="assign_sales"' in owner_page and 'value="tag_add"' in owner_page
    agent_page = web(book.sam).get(detail).text
    assert 'value="tag_add"' in agent_page and 'value="assign_sales"' not in agent_page
    assert f'name="segment" value="{segment.pk}"' in agent_page


def test_the_client_list_offers_every_member_of_its_segment(book, web):
    segment = segments.segment_save(
        actor=book.alice, name="VIP", criteria=[{"key": "tag_has", "params": {"tag": "vip"}}]
    )
    page = web(book.alice).get(reverse("ops:crm_client_list"), {"segment": segment.pk})
    assert page.status_code == 200
    assert f'<input type="checkbox" name="segment" value="{segment.pk}">' in page.text
    assert 'name="action"' in page.text
    # Ticking "every member" sends the segment along with the ticked ids: the whole segment is tagged.
    web(book.alice).post(URL, {"client": [book.ann.pk], "segment": segment.pk, "action": "tag_add", "tag": "gold"})
    assert {name for name, t in tags().items() if "gold" in t} == {"ann", "cid"}


# Large bulk actions --------------------------------------------------------------------------------


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 2 stand in for chunks of 500: five clients are "a lot"."""
    monkeypatch.setattr(bulk, "CHUNK", 2)


def _year_segment(book):
    return segments.segment_save(
        actor=book.alice, name="Year", criteria=[{"key": "created_within", "params": {"days": 365}}]
    )


def test_a_large_bulk_email_is_queued_and_sent_in_committed_chunks(book, web, small_chunks):
    EmailTemplate.objects.create(name="Welcome", language="en", subject="Hi {{ first_name }}", body="Hello")
    segment = _year_segment(book)  # Ann, Ben, Dee, Eve
    response = web(book.alice).post(URL, {"segment": segment.pk, "action": "email", "template": "Welcome"})
    assert messages_of(response) == ["Queued: 4 clients; you will get a notification when it is done."]
    assert sorted(Email.objects.values_list("client__first_name", flat=True)) == ["Ann", "Ben", "Dee", "Eve"]
    chunks = AuditRecord.objects.filter(action="crm.clients.bulk_email_chunk").order_by("pk")
    assert [(r.after["count"], r.after["changed"], len(r.after["client_ids_sample"])) for r in chunks] == [
        (2, 2, 2),
        (2, 2, 2),
    ]
    from crm.models import Notification

    [note] = Notification.objects.filter(user=book.alice)
    assert note.message == "Send templated email: done, 4 of 4 clients changed."


def test_a_large_bulk_reassign_runs_in_chunks_and_notifies(book, web, small_chunks):
    for number in range(3):
        client_make(f"many{number}", created_days=1)
    response = web(book.alice).post(
        URL,
        {"client": list(Client.objects.values_list("pk", flat=True)), "action": "assign_sales", "agent": book.sue.pk,
         "confirmed": "8"},
    )  # fmt: skip
    assert messages_of(response) == ["Queued: 8 clients; you will get a notification when it is done."]
    assert Client.objects.filter(sales_agent=book.sue).count() == 8
    chunks = AuditRecord.objects.filter(action="crm.clients.bulk_reassign_chunk")
    assert sorted(r.after["count"] for r in chunks) == [2, 2, 2, 2]
    from crm.models import Notification

    assert Notification.objects.filter(user=book.alice, message__startswith="Assign sales agent: done").count() == 1


def test_a_bad_parameter_of_a_large_action_is_told_at_once(book, web, small_chunks):
    segment = _year_segment(book)
    response = web(book.alice).post(URL, {"segment": segment.pk, "action": "email", "template": "Nope"})
    assert messages_of(response) == ["Choose an email template."]
    assert not AuditRecord.objects.filter(action__startswith="crm.clients.bulk_").exists()


def test_a_segment_is_tagged_through_its_queryset_not_a_list_of_ids(book, web, monkeypatch):
    from django.db.models import QuerySet

    seen = []
    real = bulk.clients_tag
    monkeypatch.setattr(bulk, "clients_tag", lambda **kw: seen.append(kw["client_ids"]) or real(**kw))
    segment = _year_segment(book)
    web(book.sam).post(URL, {"segment": segment.pk, "action": "tag_add", "tag": "yearly"})
    assert len(seen) == 1 and isinstance(seen[0], QuerySet)
    assert {name for name, t in tags().items() if "yearly" in t} == {"ann", "eve"}  # Sam's only
