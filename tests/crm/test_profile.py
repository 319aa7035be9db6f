"""crm.profile.client_update and the edit page: what is accepted, what is refused, what is on record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from crm.models import Client, TimelineEvent
from crm.profile import client_update, tags_clean
from tests import factories
from tests.crm.support_client360 import crm_people
from tests.tenants.web import tenant_web_client


@pytest.fixture
def people(in_alpha):
    return crm_people()


def test_changes_are_cleaned_audited_and_on_the_timeline(people):
    ada = people.ada
    client_update(
        actor=people.sam,
        client=ada,
        changes={
            "phone": "07911 123457",
            "city": "  London ",
            "tags": "VIP, High  Roller,vip, ",
            "last_name": "Lovelace",
        },
    )
    ada.refresh_from_db()
    assert ada.phone == "+447911123457"  # national number read in the client's country (GB)
    assert ada.city == "London"
    assert ada.tags == ["vip", "high roller"]
    record = AuditRecord.objects.get(action="crm.client.updated")
    assert record.actor_email == "sam@alpha.test"
    assert record.before == {"phone": "+447911123456", "city": "", "tags": ["vip"]}
    assert record.after == {"phone": "+447911123457", "city": "London", "tags": ["vip", "high roller"]}
    line = TimelineEvent.objects.get(client=ada)
    assert line.kind == "profile"
    assert line.title == "Profile changed: city, phone, tags"
    assert "Phone: +44 7911 123456 → +44 7911 123457" in line.detail
    assert line.actor_label == "sam@alpha.test"


def test_nothing_changed_writes_nothing(people):
    client_update(
        actor=people.sam, client=people.ada, changes={"first_name": "Ada", "email": "ada@example.test", "tags": "VIP"}
    )
    assert not AuditRecord.objects.filter(action="crm.client.updated").exists()
    assert not TimelineEvent.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"first_name": "  "}, "first_name"),
        ({"kind": "company", "company_name": ""}, "company_name"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "ZOE@EXAMPLE.TEST"}, "email"),  # Zoe's, whatever the case
        ({"phone": "12"}, "phone"),
        ({"phone": "+44 20 7946 09"}, "phone"),
        ({"country": "XX"}, "country"),
        ({"nationality": "United Kingdom"}, "nationality"),
        ({"date_of_birth": (timezone.localdate() + timedelta(days=1)).isoformat()}, "date_of_birth"),
        ({"date_of_birth": (timezone.localdate() - timedelta(days=17 * 365)).isoformat()}, "date_of_birth"),
        ({"date_of_birth": "31/12/1990"}, "date_of_birth"),
        ({"language": "xx"}, "language"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"tags": ["x" * 41]}, "tags"),
        ({"source": "billboard"}, "source"),
        ({"status": "active"}, "status"),
        ({"status": "closed"}, "status_reason"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_written(people, changes, field):
    before = Client.objects.values().get(pk=people.ada.pk)
    with pytest.raises(ApplicationError) as caught:
        client_update(actor=people.sam, client=people.ada, changes=changes)
    assert field in caught.value.fields
    assert Client.objects.values().get(pk=people.ada.pk) == before
    assert not AuditRecord.objects.filter(action="crm.client.updated").exists()
    assert not TimelineEvent.objects.exists()


def test_an_under_age_date_of_birth_says_how_old_a_client_must_be(people):
    seventeen = timezone.localdate() - timedelta(days=17 * 365)
    with pytest.raises(ApplicationError) as caught:
        client_update(actor=people.sam, client=people.ada, changes={"date_of_birth": seventeen.isoformat()})
    assert caught.value.fields["date_of_birth"] == ["You must be at least 18 to open an account."]


def test_fields_outside_the_profile_are_refused(people):
    for field in ("sales_agent", "kyc_status", "first_deposit_at", "lead_stage"):
        with pytest.raises(ApplicationError, match="cannot be changed"):
            client_update(actor=people.bea, client=people.ada, changes={field: None})


def test_a_company_needs_its_name_not_a_persons(people):
    client_update(
        actor=people.bea,
        client=people.neil,
        changes={"kind": "company", "company_name": "Nobody Ltd", "first_name": "", "last_name": ""},
    )
    people.neil.refresh_from_db()
    assert (people.neil.kind, str(people.neil)) == ("company", "Nobody Ltd")


def test_an_adult_birth_date_and_a_new_country_reads_the_phone_there(people):
    eighteen = timezone.localdate().replace(year=timezone.localdate().year - 18) - timedelta(days=1)
    client_update(
        actor=people.bea,
        client=people.zoe,
        changes={
            "date_of_birth": eighteen.isoformat(),
            "country": "fr",
            "phone": "06 12 34 56 78",
            "timezone": "Europe/Paris",
        },
    )
    people.zoe.refresh_from_db()
    assert people.zoe.date_of_birth == eighteen
    assert (people.zoe.country, people.zoe.phone, people.zoe.timezone) == ("FR", "+33612345678", "Europe/Paris")


def test_a_new_phone_is_not_verified(people):
    Client.objects.filter(pk=people.ada.pk).update(phone_verified_at=timezone.now())
    people.ada.refresh_from_db()
    client_update(actor=people.sam, client=people.ada, changes={"phone": "+44 7911 123458"})
    people.ada.refresh_from_db()
    assert people.ada.phone_verified_at is None


def test_the_email_of_a_client_who_signs_in_is_changed_in_the_portal(people):
    carl = factories.client_user("carl@alpha.test")
    with pytest.raises(ApplicationError) as caught:
        client_update(actor=people.bea, client=carl.client, changes={"email": "carl.new@alpha.test"})
    assert "email" in caught.value.fields


def test_staff_close_an_account_with_a_reason(people):
    client_update(actor=people.bea, client=people.neil, changes={"status": "closed", "status_reason": "Client asked"})
    people.neil.refresh_from_db()
    assert people.neil.status == "closed"
    record = AuditRecord.objects.get(action="crm.client.updated")
    assert record.after == {"status": "closed", "status_reason": "Client asked"}
    line = TimelineEvent.objects.get(client=people.neil)
    assert line.title == "Account closed"
    assert "Reason for closing: Client asked" in line.detail


def test_a_client_cannot_close_their_own_account_through_this_service(people):
    carl = factories.client_user("carl@alpha.test")
    with pytest.raises(ApplicationError):
        client_update(actor=carl, client=carl.client, changes={"status": "closed", "status_reason": "bye"})
    carl.client.refresh_from_db()
    assert carl.client.status != "closed"


def test_tags_clean():
    assert tags_clean("  Gold ,gold, Asia  Desk,,") == ["gold", "asia desk"]
    assert tags_clean(["A", "a", " b "]) == ["a", "b"]


# The edit page ----------------------------------------------------------------------------------


def form_data(client: Client, **overrides) -> dict:
    data = {
        "kind": client.kind,
        "first_name": client.first_name,
        "last_name": client.last_name,
        "native_name": client.native_name,
        "company_name": client.company_name,
        "date_of_birth": client.date_of_birth.isoformat() if client.date_of_birth else "",
        "nationality": client.nationality,
        "country": client.country,
        "address_line1": client.address_line1,
        "address_line2": client.address_line2,
        "city": client.city,
        "postal_code": client.postal_code,
        "phone": client.phone,
        "email": client.email,
        "language": client.language,
        "timezone": client.timezone,
        "source": client.source,
        "source_detail": client.source_detail,
        "tags": ", ".join(client.tags),
        "status_reason": "",
    }
    return {**data, **overrides}


def test_the_edit_page_saves_a_new_phone(alpha, people):
    http = tenant_web_client(alpha, people.sam)
    url = f"/ops/crm/clients/{people.ada.pk}/edit/"
    assert http.get(url).status_code == 200
    response = http.post(url, form_data(people.ada, phone="+44 7911 123459"))
    assert response.status_code == 302
    assert response["Location"] == f"/ops/crm/clients/{people.ada.pk}/"
    with tenant_context(alpha):
        assert Client.objects.get(pk=people.ada.pk).phone == "+447911123459"


def test_the_edit_page_shows_what_to_fix(alpha, people):
    http = tenant_web_client(alpha, people.sam)
    response = http.post(
        f"/ops/crm/clients/{people.ada.pk}/edit/", form_data(people.ada, phone="12", email="zoe@example.test")
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Not a phone number" in body or "Not a valid phone number" in body
    assert "Another client has this address." in body
    with tenant_context(alpha):
        assert Client.objects.get(pk=people.ada.pk).phone == "+447911123456"


def test_the_edit_page_of_another_agents_client_is_not_found(alpha, people):
    http = tenant_web_client(alpha, people.sam)
    url = f"/ops/crm/clients/{people.zoe.pk}/edit/"
    assert http.get(url).status_code == 404
    assert http.post(url, form_data(people.zoe, city="Berlin")).status_code == 404
    with tenant_context(alpha):
        assert Client.objects.get(pk=people.zoe.pk).city == ""


def test_staff_who_only_view_cannot_edit(alpha, people):
    with tenant_context(alpha):
        fiona = factories.staff_user("fiona@alpha.test", roles=["finance"])
    assert tenant_web_client(alpha, fiona).get(f"/ops/crm/clients/{people.ada.pk}/edit/").status_code == 403
