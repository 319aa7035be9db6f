"""Events of payments, trading and crm on the client timeline (one line each, redelivery or not), and the
activity columns and statuses they move: FTD once, funded -> active, dormancy and waking up."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.events import event_deliver, event_publish
from brokerage.models import OutboxEvent
from crm.activity import DORMANT_AFTER, client_deposit_record, clients_dormant_sweep
from crm.activity_tasks import clients_dormancy_sweep
from crm.comms import note_add
from crm.models import Client, TimelineEvent
from payments import crm_hooks as payment_hooks
from payments.deposits import services as deposits
from tests import factories
from tests.concurrency import race
from tests.crm.support_client360 import outbox_event
from tests.payments.deposit_helpers import methods, start
from tests.trading.conftest import memory_platform  # noqa: F401 - fixture
from tests.trading.support import deal
from trading import crm_hooks as trading_hooks
from trading import services as trading
from trading.sync.ingest import deals_ingest


def lines(client: Client, topic: str = "") -> list[TimelineEvent]:
    events = TimelineEvent.objects.filter(client=client)
    if topic:
        events = events.filter(topic=topic)
    return list(events.order_by("occurred_at", "id"))


def the_event(topic: str) -> OutboxEvent:
    return OutboxEvent.objects.filter(topic=topic).latest("id")


@pytest.fixture
def carl(in_alpha):
    methods()
    return factories.kyc_approved(factories.client_user("carl@alpha.test").client)


# Payments --------------------------------------------------------------------------------------------


def test_a_completed_deposit_is_one_line_sets_the_ftd_and_funds_the_client(carl, django_capture_on_commit_callbacks):
    deposit = start(carl, amount=D("250.00"))
    with django_capture_on_commit_callbacks(execute=True):
        deposits.deposit_confirm(deposit, amount=D("250.00"), actor_label="psp:sandbox_card")

    [line] = lines(carl, "payments.deposit.completed")
    assert line.kind == "payments"
    assert line.title == f"Deposit of 250.00 USD by {deposit.method.name} completed"
    assert line.url == f"/ops/payments/deposits/{deposit.public_id}/"
    [ftd] = lines(carl, "crm.client.first_deposit")
    assert ftd.title == "First deposit: 250.00 USD"
    carl.refresh_from_db()
    deposit.refresh_from_db()
    assert (carl.first_deposit_amount, carl.first_deposit_currency) == (D("250.00"), "USD")
    assert carl.first_deposit_at == deposit.completed_at == carl.last_deposit_at
    assert carl.status == Client.Status.FUNDED

    # Redelivered (the relay sent it twice, a worker retried): nothing new.
    event = the_event("payments.deposit.completed")
    payment_hooks.deposit_completed(event)
    event_deliver(event.pk)
    assert len(lines(carl, "payments.deposit.completed")) == 1
    assert len(lines(carl, "crm.client.first_deposit")) == 1


def test_a_second_deposit_moves_the_last_deposit_but_not_the_ftd(carl, django_capture_on_commit_callbacks):
    for amount in (D("100.00"), D("40.00")):
        with django_capture_on_commit_callbacks(execute=True):
            deposits.deposit_confirm(start(carl, amount=amount), amount=amount, actor_label="psp:sandbox_card")
    carl.refresh_from_db()
    assert carl.first_deposit_amount == D("100.00")
    assert carl.last_deposit_at > carl.first_deposit_at
    assert [line.title.split(" by ")[0] for line in lines(carl, "payments.deposit.completed")] == [
        "Deposit of 100.00 USD",
        "Deposit of 40.00 USD",
    ]


def test_a_failed_deposit_is_on_the_timeline_with_its_reason(carl, django_capture_on_commit_callbacks):
    deposit = start(carl, amount=D("75.00"))
    with django_capture_on_commit_callbacks(execute=True):
        deposits.deposit_fail(deposit, reason="Card declined", actor_label="psp:sandbox_card")
    [line] = lines(carl, "payments.deposit.failed")
    assert line.title == f"Deposit of 75.00 USD by {deposit.method.name} failed"
    assert line.detail == "Card declined"
    carl.refresh_from_db()
    assert carl.first_deposit_at is None


@pytest.mark.parametrize(
    ("topic", "word"),
    [
        ("payments.withdrawal.requested", "requested"),
        ("payments.withdrawal.approved", "approved"),
        ("payments.withdrawal.rejected", "rejected"),
        ("payments.withdrawal.cancelled", "cancelled"),
        ("payments.withdrawal.paid", "paid out"),
        ("payments.withdrawal.failed", "failed"),
    ],
)
def test_withdrawal_events_are_one_line_each(carl, topic, word):
    payload = {
        "withdrawal": "7b0c3f0e-5d7c-4a43-9a43-2f0c1c0e9e11",
        "client_id": carl.pk,
        "method": "bank-wire",
        "currency": "EUR",
        "amount": "1250.5",
        "status": "x",
    }
    event = outbox_event(topic, payload)
    event_deliver(event.pk)
    payment_hooks.withdrawal_event(event)  # redelivered
    [line] = lines(carl)
    assert line.title == f"Withdrawal of 1,250.50 EUR by Bank wire {word}"
    assert line.url == "/ops/payments/withdrawals/7b0c3f0e-5d7c-4a43-9a43-2f0c1c0e9e11/"


def test_an_event_of_a_client_that_is_gone_is_ignored(carl):
    event = outbox_event(
        "payments.wallet.adjusted", {"client_id": 999999, "transaction_id": 1, "currency": "USD", "amount": "5"}
    )
    event_deliver(event.pk)
    assert not TimelineEvent.objects.exists()


# Trading ---------------------------------------------------------------------------------------------


def test_opening_an_account_and_changing_its_leverage_are_on_the_timeline(
    carl,
    memory_platform,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        account = trading.account_open(client=carl, is_demo=False, leverage=100, currency="USD", actor=carl.user)
    with django_capture_on_commit_callbacks(execute=True):
        trading.account_leverage_change(account, leverage=50, actor=carl.user)
    titles = [line.title for line in lines(carl)]
    assert titles == [
        f"Opened live trading account {account.login} (USD, 1:100)",
        f"Leverage of {account.login} set to 1:50",
    ]
    assert lines(carl)[0].url == f"/ops/trading/accounts/{account.login}/"
    trading_hooks.account_opened(the_event("trading.account_opened"))  # redelivered
    assert len(lines(carl)) == 2


def test_deals_are_one_line_per_account_and_day_and_make_a_funded_client_active(
    carl,
    memory_platform,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    account = trading.account_open(client=carl, is_demo=False, leverage=100, currency="USD", actor=carl.user)
    Client.objects.filter(pk=carl.pk).update(status=Client.Status.FUNDED)
    TimelineEvent.objects.all().delete()
    # Yesterday 10:00 UTC: every deal of the test falls on one UTC day whenever it runs.
    when = (timezone.now() - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    day = when.date().isoformat()
    batch = [
        deal(ticket=1, login=account.login, entry="in", profit=D("0"), time=when),
        deal(ticket=2, login=account.login, entry="out", time=when + timedelta(minutes=1)),
        deal(
            ticket=3,
            login=account.login,
            entry="out",
            profit=D("-10"),
            commission=D("0"),
            time=when + timedelta(minutes=2),
        ),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        deals_ingest(account.platform, batch)

    [line] = lines(carl, "trading.deals_ingested")
    # Closed: (50 - 3.50) + (-10) = 36.50
    assert line.title == f"3 deals on {account.login}, {day} UTC (2 closed, P/L +36.50 USD)"
    assert line.source == f"deals:{account.pk}:{day}"
    assert line.url == f"/ops/trading/deals/?login={account.login}"
    carl.refresh_from_db()
    assert carl.last_trade_at == when + timedelta(minutes=2)
    assert carl.status == Client.Status.ACTIVE
    assert [x.title for x in lines(carl, "crm.client.status_changed")] == ["Status is now Active: started trading"]

    # The same deals again (the pull's overlap) insert nothing and publish nothing; a redelivery adds nothing.
    with django_capture_on_commit_callbacks(execute=True):
        deals_ingest(account.platform, batch)
    event_deliver(the_event("trading.deals_ingested").pk)
    [line] = lines(carl, "trading.deals_ingested")
    assert line.title == f"3 deals on {account.login}, {day} UTC (2 closed, P/L +36.50 USD)"

    # The next batch of the same day is added to the same line, which moves up to its deal.
    later = when + timedelta(minutes=3)
    with django_capture_on_commit_callbacks(execute=True):
        deals_ingest(account.platform, [deal(ticket=4, login=account.login, entry="in", profit=D("0"), time=later)])
    [line] = lines(carl, "trading.deals_ingested")
    assert line.title == f"4 deals on {account.login}, {day} UTC (2 closed, P/L +36.50 USD)"
    assert line.occurred_at == later


def test_demo_deals_stay_off_the_timeline(carl, memory_platform, django_capture_on_commit_callbacks):  # noqa: F811
    demo = trading.account_open(client=carl, is_demo=True, leverage=100, currency="USD", actor=carl.user)
    with django_capture_on_commit_callbacks(execute=True):
        deals_ingest(demo.platform, [deal(ticket=9, login=demo.login)])
    assert lines(carl, "trading.deals_ingested") == []
    carl.refresh_from_db()
    assert carl.last_trade_at is None


# CRM -------------------------------------------------------------------------------------------------


def test_a_sign_up_is_on_the_timeline_once(carl, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event_publish("crm.client.registered", {"client_id": carl.pk, "email": carl.email})
    event_deliver(the_event("crm.client.registered").pk)
    [line] = lines(carl, "crm.client.registered")
    assert line.title == "Signed up on the client portal as carl@alpha.test"


# Statuses --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Client.Status.LEAD, Client.Status.FUNDED),
        (Client.Status.REGISTERED, Client.Status.FUNDED),
        (Client.Status.VERIFIED, Client.Status.FUNDED),
        (Client.Status.ACTIVE, Client.Status.ACTIVE),
        (Client.Status.DORMANT, Client.Status.ACTIVE),
        (Client.Status.CLOSED, Client.Status.CLOSED),
    ],
)
def test_a_deposit_moves_the_status(in_alpha, before, after):
    client = factories.ClientFactory(status=before)
    client_deposit_record(client_id=client.pk, at=timezone.now(), amount=D("10"), currency="USD", source="t:1")
    client.refresh_from_db()
    assert client.status == after


def test_quiet_clients_become_dormant_and_wake_up_with_new_activity(in_alpha):
    now = timezone.now()
    quiet = factories.ClientFactory(status=Client.Status.ACTIVE)
    funded_quiet = factories.ClientFactory(status=Client.Status.FUNDED)
    recent = factories.ClientFactory(status=Client.Status.ACTIVE)
    lead = factories.ClientFactory(status=Client.Status.LEAD)
    long_ago = now - DORMANT_AFTER - timedelta(days=1)
    Client.objects.filter(pk__in=[quiet.pk, funded_quiet.pk, lead.pk]).update(last_activity_at=long_ago)
    Client.objects.filter(pk=recent.pk).update(last_activity_at=now - timedelta(days=10))

    assert clients_dormancy_sweep.delay().get() == 2
    statuses = dict(Client.objects.values_list("pk", "status"))
    assert statuses[quiet.pk] == statuses[funded_quiet.pk] == Client.Status.DORMANT
    assert (statuses[recent.pk], statuses[lead.pk]) == (Client.Status.ACTIVE, Client.Status.LEAD)
    [line] = lines(quiet)
    assert line.title == f"Status is now Dormant: no activity since {long_ago:%Y-%m-%d}"
    quiet.refresh_from_db()
    assert quiet.last_activity_at == long_ago  # going quiet is not activity
    assert clients_dormant_sweep() == 0  # nothing twice

    event = outbox_event(
        "payments.conversion.executed",
        {
            "conversion": "4c1a8a8e-0000-4000-8000-000000000001",
            "client_id": quiet.pk,
            "from_currency": "USD",
            "from_amount": "100",
            "to_currency": "EUR",
            "to_amount": "92.1",
            "revenue": "0.5",
        },
    )
    event_deliver(event.pk)
    quiet.refresh_from_db()
    assert quiet.status == Client.Status.ACTIVE
    assert [x.title for x in lines(quiet)][-2:] == [
        "Converted 100.00 USD to 92.10 EUR",
        "Status is now Active: active again",
    ]


def deposit_event(client: Client, *, amount: str, at) -> OutboxEvent:
    return outbox_event(
        "payments.deposit.completed",
        {
            "deposit_id": str(uuid.uuid4()),
            "client_id": client.pk,
            "amount": amount,
            "currency": "USD",
            "method": "sandbox_card",
        },
        at=at,
    )


def test_an_agents_note_does_not_keep_a_client_active_but_a_deposit_does(in_alpha):
    agent = factories.staff_user("agent@alpha.test", roles=["sales"])
    idle_since = timezone.now() - timedelta(days=200)
    noted = factories.ClientFactory(status=Client.Status.ACTIVE, sales_agent=agent)
    deposited = factories.ClientFactory(status=Client.Status.ACTIVE, sales_agent=agent)
    Client.objects.filter(pk__in=[noted.pk, deposited.pk]).update(last_activity_at=idle_since)

    note_add(actor=agent, client=noted, body="Called, no answer; will try next week.")
    payment_hooks.deposit_completed(deposit_event(deposited, amount="50", at=timezone.now()))

    noted.refresh_from_db()
    deposited.refresh_from_db()
    assert [line.topic for line in lines(noted)] == ["crm.note.added"]
    assert noted.last_activity_at == idle_since  # the agent's line is not the client's activity
    assert deposited.last_activity_at > timezone.now() - timedelta(minutes=5)

    assert clients_dormant_sweep() == 1
    noted.refresh_from_db()
    deposited.refresh_from_db()
    assert noted.status == Client.Status.DORMANT
    assert deposited.status == Client.Status.ACTIVE


def test_the_earliest_deposit_is_the_ftd_when_its_event_is_handled_last(in_alpha):
    client = factories.ClientFactory(status=Client.Status.REGISTERED)
    first_at = timezone.now() - timedelta(hours=2)
    second_at = first_at + timedelta(hours=1)
    first = deposit_event(client, amount="100", at=first_at)
    second = deposit_event(client, amount="500", at=second_at)

    payment_hooks.deposit_completed(second)
    payment_hooks.deposit_completed(first)

    client.refresh_from_db()
    assert (client.first_deposit_at, client.first_deposit_amount) == (first_at, D("100"))
    assert client.first_deposit_currency == "USD"
    assert client.last_deposit_at == second_at
    assert client.status == Client.Status.FUNDED


# Concurrency -----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_ftd_is_set_once_when_deposits_race(alpha):
    with tenant_context(alpha):
        client = factories.ClientFactory(status=Client.Status.REGISTERED)
    start_at = timezone.now()

    def deposit(index: int) -> bool:
        return client_deposit_record(
            client_id=client.pk,
            at=start_at + timedelta(seconds=index),
            amount=D(100 + index),
            currency="USD",
            source=f"race:{index}",
        )

    results = race(alpha, deposit, count=8)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results.count(True) == 1
    with tenant_context(alpha):
        client.refresh_from_db()
        # Whichever worker won the "first", the FTD ends up the earliest deposit's.
        assert client.first_deposit_amount == D(100)
        assert client.first_deposit_at == start_at
        assert client.last_deposit_at == start_at + timedelta(seconds=7)
        assert client.status == Client.Status.FUNDED
        assert TimelineEvent.objects.filter(client=client, topic="crm.client.status_changed").count() == 1
