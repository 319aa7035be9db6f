"""Duplicate detection: the lookup used everywhere, and sign-ups of someone already on file."""

from __future__ import annotations

import pytest

from crm.duplicates import client_duplicates
from crm.models import Client, TimelineEvent
from crm.services import POSSIBLE_DUPLICATE_TAG, client_register
from tests import factories
from tests.tenants.web import fresh_email, web_client

pytestmark = pytest.mark.django_db


def titles(client) -> list[str]:
    return list(TimelineEvent.objects.filter(client=client).order_by("id").values_list("title", flat=True))


def test_duplicates_match_email_in_any_case_and_the_same_phone(in_alpha):
    ana = factories.ClientFactory(email="Ana.Lopez@Example.test", phone="+34612345678")
    ben = factories.ClientFactory(email="ben@example.test", phone="+4915123456789")
    factories.ClientFactory(email="other@example.test", phone="")

    assert list(client_duplicates(email="ana.lopez@example.TEST")) == [ana]
    assert list(client_duplicates(phone="+4915123456789")) == [ben]
    assert list(client_duplicates(email="ana.lopez@example.test", phone="+4915123456789")) == [ana, ben]
    assert list(client_duplicates(email="ana.lopez@example.test", exclude_id=ana.pk)) == []
    assert list(client_duplicates()) == []
    assert list(client_duplicates(email="nobody@example.test", phone="+447700900123")) == []


def test_signing_up_with_a_leads_email_adopts_the_lead_and_marks_it_converted(in_alpha):
    lead = factories.ClientFactory(
        email="dora@example.test", status=Client.Status.LEAD, lead_stage=Client.LeadStage.QUALIFIED, tags=["vip"]
    )
    TimelineEvent.objects.create(
        client=lead, occurred_at=lead.created_at, kind="note", topic="crm.note", title="Called, keen on gold"
    )
    user = factories.UserFactory(email="Dora@Example.test")

    client = client_register(user=user, first_name="Dora", last_name="Explorer", country="de")

    assert client.pk == lead.pk
    client.refresh_from_db()
    assert (client.user, client.status, client.lead_stage, client.country, client.email) == (
        user,
        Client.Status.REGISTERED,
        Client.LeadStage.CONVERTED,
        "DE",
        "Dora@Example.test",
    )
    assert client.tags == ["vip"]
    assert titles(client) == ["Called, keen on gold", "Signed up on the portal: lead converted"]
    assert Client.objects.count() == 1


def test_the_same_name_in_the_same_country_signing_up_again_is_flagged_on_both_records(in_alpha):
    first = client_register(
        user=factories.UserFactory(email="dora@example.test"), first_name="Dora", last_name="Explorer", country="DE"
    )

    second = client_register(
        user=factories.UserFactory(email="dora.work@example.test"),
        first_name="dora ",
        last_name="EXPLORER",
        country="de",
    )

    assert second.pk != first.pk
    assert second.status == Client.Status.REGISTERED  # registered all the same
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.tags == [POSSIBLE_DUPLICATE_TAG]
    assert first.tags == []
    assert f"Possible duplicate of client #{first.pk} (same name and country)" in titles(second)
    assert f"Possible duplicate signed up: client #{second.pk} (same name and country)" in titles(first)


def test_a_lead_with_the_phone_of_a_registered_client_is_flagged_when_it_signs_up(in_alpha):
    existing = factories.ClientFactory(
        first_name="Max", last_name="Muster", email="max@example.test", phone="+4915123456789", country="DE"
    )
    existing.user = factories.UserFactory(email="max@example.test")
    existing.save()
    factories.ClientFactory(email="maxi@example.test", phone="+4915123456789", status=Client.Status.LEAD, country="AT")

    client = client_register(
        user=factories.UserFactory(email="maxi@example.test"), first_name="Maximilian", last_name="M", country="AT"
    )

    client.refresh_from_db()
    assert client.tags == [POSSIBLE_DUPLICATE_TAG]
    assert titles(client)[-1] == f"Possible duplicate of client #{existing.pk} (same phone)"
    assert titles(existing) == [f"Possible duplicate signed up: client #{client.pk} (same phone)"]


def test_the_duplicate_lines_link_to_the_other_record_and_give_neither_name_nor_contact(in_alpha):
    existing = factories.ClientFactory(
        first_name="Max", last_name="Muster", email="max@example.test", phone="+4915123456789", country="DE"
    )
    existing.user = factories.UserFactory(email="max@example.test")
    existing.save()
    factories.ClientFactory(email="maxi@example.test", phone="+4915123456789", status=Client.Status.LEAD, country="AT")

    client = client_register(
        user=factories.UserFactory(email="maxi@example.test"), first_name="Maximilian", last_name="M", country="AT"
    )

    lines = TimelineEvent.objects.filter(topic="crm.client.possible_duplicate")
    by_client = {line.client_id: line for line in lines}
    assert by_client[client.pk].url == f"/ops/crm/clients/{existing.pk}/"
    assert by_client[existing.pk].url == f"/ops/crm/clients/{client.pk}/"
    for line in lines:
        said = f"{line.title} {line.detail}"
        for secret in ("Max", "Muster", "max@example.test", "maxi@example.test", "+4915123456789"):
            assert secret not in said


def test_other_countries_leads_and_other_names_are_not_flagged(in_alpha):
    factories.ClientFactory(first_name="Dora", last_name="Explorer", country="FR", user=factories.UserFactory())
    factories.ClientFactory(first_name="Dora", last_name="Explorer", country="DE", status=Client.Status.LEAD)
    factories.ClientFactory(first_name="Dora", last_name="Explorers", country="DE", user=factories.UserFactory())

    client = client_register(
        user=factories.UserFactory(email="dora@example.test"), first_name="Dora", last_name="Explorer", country="DE"
    )

    client.refresh_from_db()
    assert client.tags == []
    assert not TimelineEvent.objects.filter(topic="crm.client.possible_duplicate").exists()


def test_signing_up_twice_through_the_portal_never_blocks_the_second_sign_up(alpha):
    from django_tenants.utils import tenant_context

    emails = [fresh_email("dora"), fresh_email("dora")]
    for email in emails:
        response = web_client("alpha.localhost").post(
            "/accounts/signup/",
            {
                "first_name": "Dora",
                "last_name": "Explorer",
                "country": "DE",
                "email": email,
                "password1": "Sunny-Meadow-42",
                "password2": "Sunny-Meadow-42",
            },
        )
        assert response.status_code == 302

    with tenant_context(alpha):
        first, second = (Client.objects.get(email=email) for email in emails)
        assert (first.status, second.status) == (Client.Status.REGISTERED, Client.Status.REGISTERED)
        assert (first.tags, second.tags) == ([], [POSSIBLE_DUPLICATE_TAG])
