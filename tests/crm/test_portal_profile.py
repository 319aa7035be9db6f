"""/portal/profile/: a client edits their own contact details; new phones and emails are verified first.

Personas in alpha: Carl and Dina are clients; Sam is a sales agent (staff, no portal).
"""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from crm import portal_profile, sms
from crm.models import Client, TimelineEvent
from tests import factories
from tests.tenants.web import fresh_email, tenant_web_client

pytestmark = pytest.mark.django_db

CARLS_PHONE = "+447911123456"
NEW_PHONE = "+447400123456"


def forget_phone_change(client: Client) -> None:
    """Pending state is in the shared Redis; ids restart in transactional tests, so start clean."""
    cache.delete_many([portal_profile._key(client, part) for part in ("state", "attempts", "cooldown", "sends")])


@pytest.fixture(autouse=True)
def _sms_in_memory(settings):
    settings.BROKERAGE_SMS_BACKEND = "crm.sms.LocmemBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def carl_client(alpha, carl):
    with tenant_context(alpha):
        client = Client.objects.get(user=carl)
        client.phone, client.country, client.timezone = CARLS_PHONE, "GB", "Europe/London"
        client.save()
        forget_phone_change(client)
        return client


@pytest.fixture
def dina(alpha):
    with tenant_context(alpha):
        user = factories.client_user(fresh_email("dina"))
        client = Client.objects.get(user=user)
        client.phone = "+447400654321"
        client.save()
        forget_phone_change(client)
        return user


def texted_code() -> str:
    return re.search(r"\b(\d{6})\b", sms.outbox[-1].body).group(1)


def reload(alpha, client: Client) -> Client:
    with tenant_context(alpha):
        return Client.objects.get(pk=client.pk)


# The page -----------------------------------------------------------------------------------------


def test_the_profile_shows_the_clients_own_details_and_what_they_cannot_change(alpha, carl, carl_client, dina):
    with tenant_context(alpha):
        Client.objects.filter(pk=carl_client.pk).update(nationality="DE", date_of_birth="1990-04-01")
    page = tenant_web_client(alpha, carl).get("/portal/profile/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "carl@alpha.test" in html
    assert "+44 7911 123456" in html
    assert "1 April 1990" in html and "Germany" in html
    assert "Contact support to change these" in html
    assert "The portal itself is in English for now" in html
    with tenant_context(alpha):
        assert Client.objects.get(user=dina).email not in html


def test_staff_without_the_portal_and_strangers_cannot_open_it(alpha):
    with tenant_context(alpha):
        sam = factories.staff_user("sam@alpha.test", roles=["sales"], mfa=True)
    assert tenant_web_client(alpha, sam).get("/portal/profile/").status_code == 403
    assert tenant_web_client(alpha).get("/portal/profile/").status_code == 302


def test_a_portal_user_without_a_client_record_gets_not_found(alpha):
    with tenant_context(alpha):
        user = factories.UserFactory(email=fresh_email("nobody"), roles=["client"])
    assert tenant_web_client(alpha, user).get("/portal/profile/").status_code == 404


# Address, language, time zone -------------------------------------------------------------------------


def test_address_and_language_changes_are_saved_audited_and_on_the_timeline(alpha, carl, carl_client):
    response = tenant_web_client(alpha, carl).post(
        "/portal/profile/contact/",
        {
            "address_line1": "1 New Street",
            "address_line2": "",
            "city": "Leeds",
            "postal_code": "LS1 1AA",
            "language": "de",
            "timezone": "Europe/Berlin",
        },
    )
    assert response.status_code == 302
    client = reload(alpha, carl_client)
    assert (client.address_line1, client.city, client.postal_code, client.language, client.timezone) == (
        "1 New Street",
        "Leeds",
        "LS1 1AA",
        "de",
        "Europe/Berlin",
    )
    with tenant_context(alpha):
        record = AuditRecord.objects.get(action="crm.client.contact_updated")
        assert record.actor_id == carl.pk and record.object_id == str(client.pk)
        assert record.before == {
            "address_line1": "",
            "city": "",
            "postal_code": "",
            "language": "en",
            "timezone": "Europe/London",
        }
        assert record.after["language"] == "de" and record.after["city"] == "Leeds"
        line = TimelineEvent.objects.get(client=client, topic="crm.client.contact_updated")
        assert line.kind == "profile" and line.actor_label == "carl@alpha.test"
        # The labels of a staff edit, never the raw field names.
        assert line.title == (
            "Profile changed by the client on the portal: address line1, city, postal code, language, timezone"
        )
        assert line.detail.splitlines() == [
            "Address line1: — → 1 New Street",
            "City: — → Leeds",
            "Postal code: — → LS1 1AA",
            "Language: English → German",
            "Timezone: Europe/London → Europe/Berlin",
        ]
        assert "address_line1" not in line.detail and "_" not in line.title


def test_saving_unchanged_details_records_nothing(alpha, carl, carl_client):
    tenant_web_client(alpha, carl).post(
        "/portal/profile/contact/",
        {"address_line1": "", "city": "", "postal_code": "", "language": "en", "timezone": "Europe/London"},
    )
    with tenant_context(alpha):
        assert not AuditRecord.objects.filter(action="crm.client.contact_updated").exists()
        assert not TimelineEvent.objects.filter(client=carl_client).exists()


def test_an_unknown_language_or_time_zone_is_refused(alpha, carl, carl_client):
    response = tenant_web_client(alpha, carl).post(
        "/portal/profile/contact/", {"language": "xx", "timezone": "Mars/Olympus", "city": "Leeds"}
    )
    assert response.status_code == 400
    assert set(response.context["contact_form"].errors) == {"language", "timezone"}
    assert reload(alpha, carl_client).city == ""


def test_the_time_zone_list_offers_canonical_zones_grouped_by_region(alpha, carl, carl_client):
    choices = portal_profile.timezone_choices()
    assert choices[0] == "UTC"
    assert {"Europe/London", "Asia/Nicosia", "America/Argentina/Buenos_Aires", "Pacific/Auckland"} <= set(choices)
    # Backward-compatibility links and bare legacy names are not offered.
    for alias in ("Africa/Asmera", "America/Atka", "Europe/Kiev", "US/Eastern", "GMT", "Etc/GMT+5", "Europe/Nicosia"):
        assert alias not in choices, alias
    assert 350 < len(choices) < 450
    html = tenant_web_client(alpha, carl).get("/portal/profile/").content.decode()
    assert '<optgroup label="Europe">' in html and '<optgroup label="Asia">' in html
    assert '<option value="Asia/Nicosia">Nicosia</option>' in html
    assert '<option value="Europe/London" selected>London</option>' in html
    assert "Africa/Asmera" not in html


def test_a_client_keeps_an_older_time_zone_name_until_they_pick_another(alpha, carl, carl_client):
    with tenant_context(alpha):
        Client.objects.filter(pk=carl_client.pk).update(timezone="US/Eastern")
    web = tenant_web_client(alpha, carl)
    assert '<option value="US/Eastern" selected>US/Eastern</option>' in web.get("/portal/profile/").content.decode()
    saved = web.post("/portal/profile/contact/", {"city": "Leeds", "language": "en", "timezone": "US/Eastern"})
    assert saved.status_code == 302
    assert (reload(alpha, carl_client).city, reload(alpha, carl_client).timezone) == ("Leeds", "US/Eastern")
    refused = web.post("/portal/profile/contact/", {"city": "Leeds", "language": "en", "timezone": "America/Atka"})
    assert refused.status_code == 400 and "timezone" in refused.context["contact_form"].errors


def test_names_and_date_of_birth_cannot_be_changed_through_the_service(alpha, carl, carl_client):
    from brokerage.errors import ApplicationError

    with tenant_context(alpha), pytest.raises(ApplicationError) as refused:
        portal_profile.client_contact_update(actor=carl, client=carl_client, changes={"first_name": "Karl"})
    assert refused.value.fields == {"first_name": ["Contact support to change this."]}
    # Extra POST fields are ignored by the page's form.
    tenant_web_client(alpha, carl).post(
        "/portal/profile/contact/", {"first_name": "Karl", "language": "en", "timezone": "UTC"}
    )
    assert reload(alpha, carl_client).first_name == carl_client.first_name


# Phone -----------------------------------------------------------------------------------------------


def test_a_new_phone_replaces_the_old_one_only_with_the_texted_code(alpha, carl, carl_client):
    web = tenant_web_client(alpha, carl)
    assert web.post("/portal/profile/phone/", {"phone": "07400 123456"}).status_code == 302
    assert [message.to for message in sms.outbox] == [NEW_PHONE]
    assert reload(alpha, carl_client).phone == CARLS_PHONE  # not yet
    page = web.get("/portal/profile/").content.decode()
    assert "Changing to <strong>+44 7400 123456</strong>" in page
    assert "Sandbox SMS" not in page  # not the sandbox backend, not a demo
    # While the code is on its way the new-number form waits behind a link.
    assert 'id="phone-new"' not in page and "Use another number" in page
    assert 'form="phone-confirm">Confirm new number</button>' in page
    another = web.get("/portal/profile/", {"phone": "another"}).content.decode()
    assert 'id="phone-new"' in another and "Changing to <strong>+44 7400 123456</strong>" in another

    wrong = "000000" if texted_code() != "000000" else "111111"
    response = web.post("/portal/profile/phone/confirm/", {"code": wrong})
    assert response.status_code == 400
    assert "That code is not right. 4 tries left." in response.content.decode()
    assert reload(alpha, carl_client).phone == CARLS_PHONE

    assert web.post("/portal/profile/phone/confirm/", {"code": texted_code()}).status_code == 302
    used_again = web.post("/portal/profile/phone/confirm/", {"code": texted_code()})
    assert used_again.status_code == 400 and "There is no phone change waiting" in used_again.content.decode()
    client = reload(alpha, carl_client)
    assert client.phone == NEW_PHONE and client.phone_verified_at is not None
    with tenant_context(alpha):
        record = AuditRecord.objects.get(action="crm.client.phone_changed")
        assert (record.before, record.after, record.actor_id) == ({"phone": CARLS_PHONE}, {"phone": NEW_PHONE}, carl.pk)
        assert TimelineEvent.objects.filter(client=client, topic="crm.client.phone_changed").exists()
        assert portal_profile.phone_change_pending(client) is None


def test_the_code_is_stored_only_as_a_hash(alpha, carl, carl_client):
    with tenant_context(alpha):
        portal_profile.phone_change_start(client=carl_client, phone=NEW_PHONE)
        state = cache.get(portal_profile._key(carl_client, "state"))
    assert texted_code() not in repr(state)


def test_five_wrong_codes_lock_the_change_even_for_the_right_code(alpha, carl, carl_client):
    web = tenant_web_client(alpha, carl)
    web.post("/portal/profile/phone/", {"phone": NEW_PHONE})
    right = texted_code()
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        assert web.post("/portal/profile/phone/confirm/", {"code": wrong}).status_code == 400
    response = web.post("/portal/profile/phone/confirm/", {"code": right})
    assert response.status_code == 400
    assert "Too many wrong codes" in response.content.decode()
    assert reload(alpha, carl_client).phone == CARLS_PHONE
    with tenant_context(alpha):
        assert not AuditRecord.objects.filter(action="crm.client.phone_changed").exists()


def test_an_expired_code_is_refused(alpha, carl, carl_client):
    web = tenant_web_client(alpha, carl)
    web.post("/portal/profile/phone/", {"phone": NEW_PHONE})
    later = timezone.now() + timedelta(minutes=10, seconds=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        response = web.post("/portal/profile/phone/confirm/", {"code": texted_code()})
    assert response.status_code == 400
    assert "This code has expired" in response.content.decode()
    assert reload(alpha, carl_client).phone == CARLS_PHONE


def test_a_new_code_waits_60_seconds_and_replaces_the_old_one(alpha, carl, carl_client):
    web = tenant_web_client(alpha, carl)
    web.post("/portal/profile/phone/", {"phone": NEW_PHONE})
    first = texted_code()
    response = web.post("/portal/profile/phone/resend/", follow=True)
    assert "You can ask for another in" in response.content.decode()
    assert len(sms.outbox) == 1
    # A minute later the cooldown key has expired in Redis; forget it instead of sleeping.
    cache.delete(portal_profile._key(carl_client, "cooldown"))
    web.post("/portal/profile/phone/resend/")
    assert len(sms.outbox) == 2 and sms.outbox[1].to == NEW_PHONE
    second = texted_code()
    if first != second:
        assert web.post("/portal/profile/phone/confirm/", {"code": first}).status_code == 400
    assert web.post("/portal/profile/phone/confirm/", {"code": second}).status_code == 302
    assert reload(alpha, carl_client).phone == NEW_PHONE


def test_at_most_five_codes_an_hour(alpha, carl, carl_client):
    with tenant_context(alpha):
        for _ in range(5):
            cache.delete(portal_profile._key(carl_client, "cooldown"))
            portal_profile.phone_change_start(client=carl_client, phone=NEW_PHONE)
        cache.delete(portal_profile._key(carl_client, "cooldown"))
        from brokerage.errors import ApplicationError

        with pytest.raises(ApplicationError, match="several codes in the last hour"):
            portal_profile.phone_change_start(client=carl_client, phone=NEW_PHONE)
    assert len(sms.outbox) == 5


def test_a_bad_or_unchanged_number_sends_nothing(alpha, carl, carl_client):
    web = tenant_web_client(alpha, carl)
    response = web.post("/portal/profile/phone/", {"phone": "12"})
    assert response.status_code == 400
    assert "phone" in response.context["phone_form"].errors
    response = web.post("/portal/profile/phone/", {"phone": "+44 7911 123456"})
    assert response.status_code == 400
    assert "This is your current number." in response.content.decode()
    assert sms.outbox == []


def test_the_sandbox_shows_the_code_on_the_page_only_in_a_demo(alpha, carl, carl_client, settings):
    settings.BROKERAGE_SMS_BACKEND = "crm.sms.SandboxBackend"
    web = tenant_web_client(alpha, carl)
    web.post("/portal/profile/phone/", {"phone": NEW_PHONE})
    settings.BROKERAGE_DEMO, settings.DEBUG = False, False
    assert "Sandbox SMS" not in web.get("/portal/profile/").content.decode()
    settings.BROKERAGE_DEMO = True
    page = web.get("/portal/profile/").content.decode()
    code = re.search(r"Sandbox SMS \(demo only\)</strong>: Your verification code is (\d{6})", page).group(1)
    assert web.post("/portal/profile/phone/confirm/", {"code": code}).status_code == 302
    assert reload(alpha, carl_client).phone == NEW_PHONE


def test_one_clients_pending_phone_change_is_not_anothers(alpha, carl, carl_client, dina):
    tenant_web_client(alpha, carl).post("/portal/profile/phone/", {"phone": NEW_PHONE})
    code = texted_code()
    dinas_web = tenant_web_client(alpha, dina)
    assert "+44 7400 123456" not in dinas_web.get("/portal/profile/").content.decode()
    assert dinas_web.post("/portal/profile/phone/confirm/", {"code": code}).status_code == 400
    with tenant_context(alpha):
        assert Client.objects.get(user=dina).phone == "+447400654321"
    assert reload(alpha, carl_client).phone == CARLS_PHONE


# Email --------------------------------------------------------------------------------------------------


def confirmation_path() -> str:
    return re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^/\s]+/)", mail.outbox[-1].body).group(1)


def test_a_new_email_becomes_the_clients_only_after_the_link_is_followed(alpha, carl, carl_client, settings):
    settings.ACCOUNT_CHANGE_EMAIL = True
    new = fresh_email("carl")
    web = tenant_web_client(alpha, carl)
    assert web.post("/portal/profile/email/", {"email": new}).status_code == 302
    assert mail.outbox[-1].to == [new]
    assert reload(alpha, carl_client).email == "carl@alpha.test"
    page = web.get("/portal/profile/").content.decode()
    assert f"Waiting for confirmation of <strong>{new}</strong>" in page

    assert web.post(confirmation_path()).status_code == 302
    assert reload(alpha, carl_client).email == new
    with tenant_context(alpha):
        record = AuditRecord.objects.get(action="crm.client.email_changed")
        assert record.after == {"email": new}
        assert list(EmailAddress.objects.filter(user=carl).values_list("email", flat=True)) == [new]


def test_without_change_email_mode_a_confirmed_address_is_used_on_request(alpha, carl, carl_client, settings):
    settings.ACCOUNT_CHANGE_EMAIL = False
    new = fresh_email("carl")
    web = tenant_web_client(alpha, carl)
    web.post("/portal/profile/email/", {"email": new})
    web.post(confirmation_path())
    assert reload(alpha, carl_client).email == "carl@alpha.test"
    page = web.get("/portal/profile/").content.decode()
    assert f"<strong>{new}</strong> is confirmed" in page
    with tenant_context(alpha):
        address = EmailAddress.objects.get(user=carl, email=new)
    assert web.post("/portal/profile/email/use/", {"address": address.pk}).status_code == 302
    assert reload(alpha, carl_client).email == new


def test_an_unconfirmed_address_cannot_be_used(alpha, carl, carl_client):
    new = fresh_email("carl")
    web = tenant_web_client(alpha, carl)
    web.post("/portal/profile/email/", {"email": new})
    with tenant_context(alpha):
        address = EmailAddress.objects.get(user=carl, email=new)
    response = web.post("/portal/profile/email/use/", {"address": address.pk}, follow=True)
    assert "Follow the link we emailed to that address first." in response.content.decode()
    assert reload(alpha, carl_client).email == "carl@alpha.test"
    with tenant_context(alpha):
        assert EmailAddress.objects.get(user=carl, primary=True).email == "carl@alpha.test"


def test_an_address_held_by_another_client_record_is_refused(alpha, carl, carl_client):
    with tenant_context(alpha):
        lead = factories.ClientFactory(email=fresh_email("lead"), status="lead")
    response = tenant_web_client(alpha, carl).post("/portal/profile/email/", {"email": lead.email})
    assert response.status_code == 400
    assert "This address cannot be used." in response.content.decode()
    with tenant_context(alpha):
        assert not EmailAddress.objects.filter(user=carl, email=lead.email).exists()


def test_another_persons_pending_address_cannot_be_touched(alpha, carl, carl_client, dina):
    new = fresh_email("dina")
    tenant_web_client(alpha, dina).post("/portal/profile/email/", {"email": new})
    with tenant_context(alpha):
        address = EmailAddress.objects.get(user=dina, email=new)
    carls_web = tenant_web_client(alpha, carl)
    assert new not in carls_web.get("/portal/profile/").content.decode()
    assert carls_web.post("/portal/profile/email/cancel/", {"address": address.pk}).status_code == 404
    assert carls_web.post("/portal/profile/email/use/", {"address": address.pk}).status_code == 404
    with tenant_context(alpha):
        assert EmailAddress.objects.filter(pk=address.pk).exists()


def test_outside_demo_debug_and_tests_the_sandbox_keeps_no_code(settings):
    settings.TESTING, settings.DEBUG, settings.BROKERAGE_DEMO = False, False, False
    cache.delete(sms._sandbox_key("+447400123456"))
    sms.SandboxBackend().send(sms.SmsMessage(to="+447400123456", body="Your verification code is 123456."))
    assert cache.get(sms._sandbox_key("+447400123456")) is None
    settings.BROKERAGE_SMS_BACKEND = "crm.sms.SandboxBackend"
    assert sms.sandbox_last_message("+447400123456") is None
