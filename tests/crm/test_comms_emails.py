"""Emails to clients: the placeholder language, templates per language, sending and its failure."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from crm import comms, emails
from crm.models import Email, EmailTemplate, Notification, TimelineEvent
from tests import factories
from tests.crm.support_comms import People, make_people

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alpha) -> People:
    return make_people(alpha)


def _template(actor, *, name="Welcome", language="en", subject="Welcome, {{ first_name }}", body=None):
    body = body or "Dear {{ full_name }},\nyour account at {{ broker_name }} is ready: {{ portal_url }}\n({{ email }})"
    return comms.email_template_save(actor=actor, name=name, language=language, subject=subject, body=body)


# --- The placeholder language ----------------------------------------------------------------------


def test_placeholders_are_filled_from_the_client_and_the_tenant(in_alpha, people):
    _template(people.alice)
    used, subject, body = comms.email_compose(client=people.pedro, template="Welcome")

    assert used.language == "en"
    assert subject == "Welcome, Pedro"
    assert (
        body == "Dear Pedro Gil,\nyour account at Alpha is ready: https://alpha.localhost/portal/\n(pedro@example.com)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Your balance: {{ balance }}", "Unknown placeholder {{ balance }}"),
        ("{{ client.user.password }}", "Unknown placeholder {{ client.user.password }}"),
        ("{{ first_name|upper }}", "Unknown placeholder {{ first_name|upper }}"),
        ("{% load static %}Hi", "Only {{ placeholder }} is allowed"),
        ("Hi {{ first_name", "Only {{ placeholder }} is allowed"),
        ("{# hidden #}Hi", "Only {{ placeholder }} is allowed"),
    ],
)
def test_a_template_with_anything_but_known_placeholders_is_refused_when_saved(in_alpha, people, text, message):
    with pytest.raises(ApplicationError) as refused:
        _template(people.alice, body=text)
    assert refused.value.fields["body"][0].startswith(message)
    assert not EmailTemplate.objects.exists()


def test_the_template_engine_never_sees_staff_text():
    # What Django's engine would do with it: read attributes, run tags. Ours leaves it alone or refuses it.
    assert emails.template_errors("{{ first_name }} {{ last_name }}") == []
    assert emails.render("{{first_name}}-{{  last_name }}", {"first_name": "A", "last_name": "B"}) == "A-B"
    assert emails.template_errors("{{ settings.SECRET_KEY }}")


def test_values_are_put_in_plain_text_as_they_are_not_html_escaped(in_alpha, people):
    people.carla.first_name = "<b>Tom & Jerry's</b>"
    people.carla.save()
    _template(people.alice, subject="Hi {{ first_name }}", body="Hello {{ first_name }}")
    _, subject, body = comms.email_compose(client=people.carla, template="Welcome")
    assert subject == "Hi <b>Tom & Jerry's</b>"
    assert body == "Hello <b>Tom & Jerry's</b>"


def test_a_value_cannot_break_the_subject_line(in_alpha, people):
    people.carla.first_name = "Carla\r\nBcc: everyone@example.com"
    people.carla.save()
    _, subject, _ = comms.email_compose(client=people.carla, subject="Hi {{ first_name }}", body="x")
    assert subject == "Hi Carla Bcc: everyone@example.com"


def test_the_clients_language_is_picked_with_english_as_the_fallback(in_alpha, people):
    english = _template(people.alice)
    _template(people.alice, language="es", subject="Bienvenida, {{ first_name }}", body="Hola {{ first_name }}")

    spanish_used, spanish_subject, _ = comms.email_compose(client=people.carla, template=english)  # Carla speaks es
    portuguese_used, portuguese_subject, _ = comms.email_compose(client=people.pedro, template="Welcome")  # no pt
    assert (spanish_used.language, spanish_subject) == ("es", "Bienvenida, Carla")
    assert (portuguese_used.language, portuguese_subject) == ("en", "Welcome, Pedro")

    EmailTemplate.objects.filter(language="es").update(is_active=False)
    assert comms.email_compose(client=people.carla, template="Welcome")[0].language == "en"


def test_template_names_are_unique_per_language(in_alpha, people):
    _template(people.alice)
    with pytest.raises(ApplicationError) as clash:
        _template(people.alice, name="welcome")
    assert clash.value.fields == {"name": ["Pick another name or language."]}


def test_only_crm_managers_write_templates(in_alpha, people):
    with pytest.raises(PermissionDenied):
        _template(people.sam)
    template = _template(people.ann)  # back office
    comms.email_template_save(
        actor=people.ann, template=template, name="Welcome", language="en", subject="Hi", body="Hello", is_active=False
    )
    record = AuditRecord.objects.get(action="crm.email_template.changed")
    assert (record.before["subject"], record.after["subject"], record.after["is_active"]) == (
        "Welcome, {{ first_name }}",
        "Hi",
        False,
    )


# --- Sending ---------------------------------------------------------------------------------------


def test_an_email_is_queued_then_sent_after_commit_from_the_tenants_sender(
    in_alpha, people, django_capture_on_commit_callbacks
):
    _template(people.alice)
    with django_capture_on_commit_callbacks(execute=True):
        email = comms.email_send(actor=people.sam, client=people.carla, template="Welcome")
        assert Email.objects.get(pk=email.pk).status == "queued"
        assert mail.outbox == []  # nothing leaves before the commit

    email.refresh_from_db()
    assert (email.status, email.error, email.to_address) == ("sent", "", "carla@example.com")
    assert email.sent_at is not None and email.sent_by == people.sam
    [sent] = mail.outbox
    assert sent.to == ["carla@example.com"]
    assert sent.from_email == "Alpha <no-reply@brokerage.localhost>"
    assert sent.reply_to == ["help@alpha.test"]
    assert sent.subject == "Welcome, Carla"
    line = TimelineEvent.objects.get(source=f"email:{email.pk}")
    assert (line.kind, line.title, line.client_id) == ("email", "Email: Welcome, Carla", people.carla.pk)
    assert AuditRecord.objects.filter(action="crm.email.queued", actor_email="sam@alpha.test").count() == 1

    assert comms.email_deliver_now(email.pk) == "sent"  # a redelivered task sends nothing more
    assert len(mail.outbox) == 1


def test_a_failed_send_is_marked_failed_with_the_error_and_the_sender_is_told(
    in_alpha, people, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.crm.support_comms.RefusingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        email = comms.email_send(
            actor=people.sam, client=people.carla, subject="Your call", body="Thanks {{ first_name }}"
        )

    email.refresh_from_db()
    assert email.status == "failed"
    assert email.error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert email.body == "Thanks Carla"
    [told] = Notification.objects.filter(user=people.sam)
    assert told.message == "Email to Carla Diaz failed: SMTPServerDisconnected: Connection unexpectedly closed"


def test_a_client_without_an_email_address_is_refused_clearly(in_alpha, people):
    people.carla.email = ""
    people.carla.save()
    with pytest.raises(ApplicationError, match="Carla Diaz has no email address"):
        comms.email_send(actor=people.sam, client=people.carla, subject="Hi", body="Hello")
    assert not Email.objects.exists() and not TimelineEvent.objects.exists()


def test_bulk_send_skips_clients_without_email_and_clients_the_sender_cannot_see(
    in_alpha, people, django_capture_on_commit_callbacks
):
    _template(people.alice)
    no_address = factories.ClientFactory(email="", sales_agent=people.sam)
    with django_capture_on_commit_callbacks(execute=True):
        queued = comms.email_send_bulk(
            actor=people.sam, client_ids=[people.carla.pk, people.pedro.pk, no_address.pk], template="Welcome"
        )
    assert queued == 1
    assert [m.to for m in mail.outbox] == [["carla@example.com"]]
    with pytest.raises(ApplicationError):
        comms.email_send_bulk(actor=people.alice, client_ids=[people.carla.pk], template="No such template")


def test_an_email_the_broker_could_not_take_is_sent_by_the_sweep(in_alpha, people, django_capture_on_commit_callbacks):
    from datetime import timedelta
    from unittest import mock

    from django.utils import timezone
    from kombu.exceptions import OperationalError

    from crm import tasks

    with (
        mock.patch.object(tasks.email_deliver, "delay", side_effect=OperationalError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        email = comms.email_send(actor=people.sam, client=people.carla, subject="Hi", body="Hello")
    assert Email.objects.get(pk=email.pk).status == "queued" and mail.outbox == []

    assert tasks.emails_queued_sweep.delay().get() == 0  # too fresh: its own task may still be on the way
    Email.objects.filter(pk=email.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert tasks.emails_queued_sweep.delay().get() == 1
    assert Email.objects.get(pk=email.pk).status == "sent"
    assert [m.to for m in mail.outbox] == [["carla@example.com"]]


def test_bulk_send_of_a_template_without_english_skips_the_clients_it_has_no_language_for(
    in_alpha, people, django_capture_on_commit_callbacks
):
    _template(people.alice, name="Promo", language="es", subject="Oferta", body="Hola {{ first_name }}")
    with django_capture_on_commit_callbacks(execute=True):
        queued = comms.email_send_bulk(
            actor=people.alice, client_ids=[people.carla.pk, people.pedro.pk], template="Promo"
        )
    assert queued == 1
    assert [(m.to, m.body) for m in mail.outbox] == [(["carla@example.com"], "Hola Carla")]
