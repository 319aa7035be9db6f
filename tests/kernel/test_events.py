from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from brokerage import events
from brokerage.models import OutboxEvent, ProcessedEvent
from brokerage.tasks import outbox_deliver
from crm.models import Client

handled: list[int] = []


@events.subscribe("tests.client_welcomed")
def create_welcome_client(event):
    """A handler with a side effect in the database, so double handling would show."""
    handled.append(event.pk)
    Client.objects.create(first_name="Welcome", last_name=str(event.pk), email=f"welcome{event.pk}@example.test")


@events.subscribe("tests.flaky")
def fail_once(event):
    handled.append(event.pk)
    if handled.count(event.pk) == 1:
        raise RuntimeError("downstream hiccup")


@pytest.fixture(autouse=True)
def _fresh_log():
    handled.clear()


@pytest.mark.django_db(transaction=True)
def test_publishing_outside_a_transaction_is_refused(in_alpha):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        events.event_publish("tests.client_welcomed", {})


def test_an_event_of_a_rolled_back_change_is_never_sent(in_alpha, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValueError, match="abort"), transaction.atomic():
            events.event_publish("tests.client_welcomed", {"n": 1})
            raise ValueError("abort")
    assert callbacks == []
    assert not OutboxEvent.objects.exists()
    assert handled == []


def test_a_committed_event_is_dispatched_and_handled_once(in_alpha, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = events.event_publish("tests.client_welcomed", {"n": 1})
    event.refresh_from_db()
    assert event.dispatched_at is not None and event.delivered_at is not None
    assert handled == [event.pk]
    assert Client.objects.filter(email=f"welcome{event.pk}@example.test").count() == 1

    # A redelivery (broker retry, relay after a worker crash) changes nothing.
    outbox_deliver.delay(event.pk)
    assert handled == [event.pk]
    assert Client.objects.filter(email=f"welcome{event.pk}@example.test").count() == 1


def test_a_broker_outage_leaves_the_event_for_the_relay(in_alpha, django_capture_on_commit_callbacks):
    with mock.patch.object(outbox_deliver, "delay", side_effect=OperationalError("connection refused")):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            event = events.event_publish("tests.client_welcomed", {"n": 2})
        event.refresh_from_db()
        assert event.dispatched_at is None and event.dispatch_attempts == 1
        # Still down when the relay runs: nothing is lost, nothing is marked sent.
        OutboxEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(minutes=1))
        assert events.outbox_relay_once() == 0
    assert handled == []

    # The broker is back: the relay's next round delivers it.
    assert events.outbox_relay_once() == 1
    event.refresh_from_db()
    assert event.delivered_at is not None and event.dispatch_attempts == 3
    assert handled == [event.pk]


def test_the_relay_skips_delivered_events_and_resends_stuck_ones(in_alpha):
    old = timezone.now() - timedelta(minutes=10)
    delivered = OutboxEvent.objects.create(topic="tests.client_welcomed", dispatched_at=old, delivered_at=old)
    stuck = OutboxEvent.objects.create(topic="tests.client_welcomed", dispatched_at=old)
    fresh = OutboxEvent.objects.create(topic="tests.client_welcomed", dispatched_at=timezone.now())
    assert list(events.events_pending_dispatch()) == [stuck]
    assert events.outbox_relay_once() == 1
    assert handled == [stuck.pk]
    assert delivered.pk not in handled and fresh.pk not in handled


def test_a_failing_handler_runs_again_on_redelivery_and_then_only_once(in_alpha):
    event = OutboxEvent.objects.create(topic="tests.flaky")
    with pytest.raises(RuntimeError, match="hiccup"):
        events.event_deliver(event.pk)
    assert not ProcessedEvent.objects.filter(event=event).exists()
    event.refresh_from_db()
    assert event.delivered_at is None

    events.event_deliver(event.pk)
    events.event_deliver(event.pk)
    assert handled == [event.pk, event.pk]
    assert ProcessedEvent.objects.filter(event=event).count() == 1


def test_the_relay_gives_up_on_an_event_after_too_many_attempts(in_alpha):
    old = timezone.now() - timedelta(minutes=10)
    hopeless = OutboxEvent.objects.create(
        topic="tests.client_welcomed", dispatched_at=old, dispatch_attempts=events.MAX_DISPATCH_ATTEMPTS
    )
    assert hopeless not in events.events_pending_dispatch()
