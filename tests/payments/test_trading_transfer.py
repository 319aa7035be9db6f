"""Transfers between a wallet and trading accounts, against a fake platform: success, refusal, crash recovery."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord, OutboxEvent
from payments import ledger
from payments.defaults import payment_defaults_ensure
from payments.models import Hold, LedgerTransaction, TradingTransfer
from payments.trading_gateway import (
    GatewayNotConfigured,
    InvalidLogin,
    NotEnoughMargin,
    PlatformUnavailable,
    TradingGatewayError,
    gateway_for,
    gateway_register,
    gateway_unregister,
)
from payments.wallets.tasks import trading_transfers_recover_task
from payments.wallets.trading import (
    trading_transfer_recover,
    trading_transfer_send,
    trading_transfers_recover,
    transfer_from_trading,
    transfer_to_trading,
)
from tests.payments.wallets_support import FakeGateway, balance, client_of, fund, new_client

pytestmark = pytest.mark.django_db
Status = TradingTransfer.Status


@pytest.fixture
def platform():
    gateway = FakeGateway()
    gateway_register("fake", gateway)
    yield gateway
    gateway_unregister("fake")


@pytest.fixture
def client(in_alpha, carl, platform):
    payment_defaults_ensure()
    client = client_of(carl)
    platform.open("5001", client, "USD")
    fund(client, D("500.00"), "USD")
    return client


def trading_balance(client, currency="USD"):
    return ledger.trading_funds_for(client, currency).balance


def to_trading(client, amount, login="5001", currency="USD"):
    return transfer_to_trading(client=client, currency=currency, login=login, amount=D(amount), actor=client.user)


def from_trading(client, amount, login="5001", currency="USD"):
    return transfer_from_trading(client=client, currency=currency, login=login, amount=D(amount), actor=client.user)


def test_money_goes_to_the_trading_account_and_the_ledger_follows(client, platform, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        transfer = to_trading(client, "200.00")
    transfer.refresh_from_db()
    assert transfer.status == Status.COMPLETED
    assert transfer.platform_reference == "deal-1"
    assert platform.balances["5001"] == D("200.00")
    assert balance(client, "USD") == D("300.00")
    assert trading_balance(client) == D("200.00")
    txn = transfer.transaction
    assert txn.reference == f"trading_transfer:{transfer.public_id}"
    assert txn.kind == LedgerTransaction.Kind.TRADING_TRANSFER
    assert platform.operations == {transfer.operation_id: ("5001", D("200.00"))}
    assert len(transfer.operation_id) <= 32
    assert OutboxEvent.objects.filter(topic="payments.trading_transfer.completed").count() == 1
    assert ledger.ledger_problems() == []


def test_the_ledger_moves_first_then_the_platform_is_called_once(client, platform):
    transfer = to_trading(client, "100.00")  # inside the test's transaction: the send waits for commit
    assert transfer.status == Status.PENDING and transfer.sent_at is None
    assert balance(client, "USD") == D("400.00") and platform.calls == []
    trading_transfer_send(transfer.pk)
    trading_transfer_send(transfer.pk)  # a redelivered task
    assert [c.split()[0] for c in platform.calls] == ["balance_operation"]
    assert TradingTransfer.objects.get(pk=transfer.pk).status == Status.COMPLETED


def test_money_comes_back_held_until_the_platform_has_paid_it_out(client, platform):
    trading_transfer_send(to_trading(client, "200.00").pk)
    transfer = from_trading(client, "50.00")
    wallet = ledger.wallet_for(client, "USD")
    assert (wallet.balance, wallet.held) == (D("350.00"), D("50.00"))
    trading_transfer_send(transfer.pk)
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held) == (D("350.00"), D("0"))
    assert platform.balances["5001"] == D("150.00")
    assert Hold.objects.get(pk=transfer.hold_id).status == Hold.Status.RELEASED
    assert trading_balance(client) == D("150.00")


def test_a_platform_refusal_reverses_the_ledger_side_with_the_reason(client, platform):
    trading_transfer_send(to_trading(client, "100.00").pk)
    transfer = from_trading(client, "80.00")
    platform.balances["5001"] = D("20.00")  # the client lost money trading: not enough free margin
    trading_transfer_send(transfer.pk)
    transfer.refresh_from_db()
    assert transfer.status == Status.REVERSED
    assert "No money" in transfer.failure_reason
    wallet = ledger.wallet_for(client, "USD")
    assert (wallet.balance, wallet.held) == (D("400.00"), D("0"))
    assert trading_balance(client) == D("100.00")
    assert LedgerTransaction.objects.filter(reverses=transfer.transaction).exists()
    assert OutboxEvent.objects.filter(topic="payments.trading_transfer.reversed").count() == 1
    assert ledger.ledger_problems() == []


@pytest.mark.parametrize(
    ("direction", "refusal", "description"),
    [
        (
            "from",
            NotEnoughMargin("10019 No money: 5001 has -1794.86 USD free margin, 931.88 USD asked"),
            "Transfer from trading account 5001 not made: not enough free margin",
        ),
        ("to", InvalidLogin("13 Not found: 5001"), "Transfer to trading account 5001 not made: the trading platform does not know the account"),
        ("to", TradingGatewayError("Group is read-only"), "Transfer to trading account 5001 not made: refused by the trading platform"),
    ],
)  # fmt: skip
def test_a_refusal_reads_plainly_on_the_clients_statement_and_fully_for_staff(
    alpha, carl, client, platform, direction, refusal, description
):
    from tests.tenants.web import tenant_web_client

    trading_transfer_send(to_trading(client, "100.00").pk)
    transfer = from_trading(client, "80.00") if direction == "from" else to_trading(client, "80.00")
    platform.fail_with = refusal
    trading_transfer_send(transfer.pk)
    transfer.refresh_from_db()
    reversal = LedgerTransaction.objects.get(reverses=transfer.transaction)
    assert reversal.description == description
    assert reversal.metadata["reason"] == transfer.failure_reason == f"The platform refused: {refusal.message}"
    record = AuditRecord.objects.get(action="payments.trading_transfer.reversed")
    assert refusal.message in record.after["reason"]
    html = tenant_web_client(alpha, carl).get("/portal/funds/").content.decode()
    assert description in html
    assert refusal.message not in html and "Reversal of" not in html and "trading_transfer:" not in html
    # The line it undid says so, next to the completed transfer it would otherwise look like.
    assert html.count(">Reversed</span>") == 1


def test_other_reversals_keep_their_description(client):
    fund(client, D("10.00"), "USD")
    txn = LedgerTransaction.objects.filter(kind="deposit", client=client).latest("pk")
    reversal = ledger.transaction_reverse(txn, reason="Posted twice")
    assert reversal.description == f"Reversal of {txn.reference}: Posted twice"


def test_an_unknown_login_on_the_platform_reverses_the_transfer(client, platform):
    transfer = to_trading(client, "100.00")
    platform.accounts.pop("5001")  # closed on the platform meanwhile
    trading_transfer_send(transfer.pk)
    transfer.refresh_from_db()
    assert transfer.status == Status.REVERSED
    assert "Not found" in transfer.failure_reason
    assert balance(client, "USD") == D("500.00")


def test_a_lost_answer_leaves_it_pending_and_recovery_completes_it_from_the_deal_history(client, platform):
    platform.book_then_fail = True  # the platform booked it, then the connection dropped
    transfer = to_trading(client, "100.00")
    trading_transfer_send(transfer.pk)
    transfer.refresh_from_db()
    assert transfer.status == Status.PENDING and transfer.sent_at is not None
    platform.book_then_fail = False
    assert trading_transfers_recover() == 0  # too young: it may still be on its way
    TradingTransfer.objects.filter(pk=transfer.pk).update(created_at=timezone.now() - timedelta(minutes=3))
    assert trading_transfers_recover_task() == 1
    transfer.refresh_from_db()
    assert transfer.status == Status.COMPLETED
    assert platform.balances["5001"] == D("100.00")  # booked once, not twice
    assert [c.split()[0] for c in platform.calls] == ["balance_operation", "find_operation"]
    assert trading_balance(client) == D("100.00")


def test_a_call_that_never_arrived_is_reversed_by_recovery(client, platform):
    platform.fail_with = PlatformUnavailable("connection refused")
    transfer = to_trading(client, "100.00")
    trading_transfer_send(transfer.pk)
    assert TradingTransfer.objects.get(pk=transfer.pk).status == Status.PENDING
    assert balance(client, "USD") == D("400.00")
    trading_transfers_recover(older_than=timedelta(0))
    transfer.refresh_from_db()
    assert transfer.status == Status.REVERSED
    assert "no record" in transfer.failure_reason
    assert balance(client, "USD") == D("500.00")
    assert platform.balances["5001"] == 0
    assert ledger.ledger_problems() == []


def test_a_crash_between_the_ledger_and_the_call_is_sent_by_recovery(client, platform):
    transfer = to_trading(client, "100.00")  # committed, then the process died: never sent
    trading_transfers_recover(older_than=timedelta(0))
    transfer.refresh_from_db()
    assert transfer.status == Status.COMPLETED
    assert platform.balances["5001"] == D("100.00")


def test_a_crash_during_the_call_is_settled_by_looking_not_by_sending_again(client, platform):
    transfer = to_trading(client, "100.00")
    # The worker claimed it and died inside the platform call, after the platform booked it.
    TradingTransfer.objects.filter(pk=transfer.pk).update(sent_at=timezone.now())
    platform.operations[transfer.operation_id] = ("5001", D("100.00"))
    platform.balances["5001"] = D("100.00")
    trading_transfer_send(transfer.pk)  # the redelivered task does not send again
    assert platform.calls == []
    trading_transfer_recover(transfer.pk)
    transfer.refresh_from_db()
    assert transfer.status == Status.COMPLETED
    assert platform.balances["5001"] == D("100.00")


def test_recovery_waits_while_the_platform_cannot_tell(client, platform):
    platform.fail_with = PlatformUnavailable("down")
    transfer = to_trading(client, "100.00")
    trading_transfer_send(transfer.pk)
    platform.lookup_fails = True
    trading_transfers_recover(older_than=timedelta(0))
    assert TradingTransfer.objects.get(pk=transfer.pk).status == Status.PENDING
    platform.lookup_fails = False
    trading_transfers_recover(older_than=timedelta(0))
    assert TradingTransfer.objects.get(pk=transfer.pk).status == Status.REVERSED


def test_not_enough_funds_in_the_wallet_is_refused_before_anything_is_written(client, platform):
    with pytest.raises(ApplicationError) as error:
        to_trading(client, "600.00")
    assert error.value.code == "insufficient_funds"
    assert not TradingTransfer.objects.exists()
    assert platform.calls == []


def test_another_clients_login_or_currency_is_refused(client, platform):
    other = new_client("olga@example.test")
    platform.open("7007", other, "USD")
    platform.open("5002", client, "EUR")
    with pytest.raises(ApplicationError, match="not one of this client's accounts"):
        to_trading(client, "10.00", login="7007")
    with pytest.raises(ApplicationError, match="is in EUR"):
        to_trading(client, "10.00", login="5002")
    with pytest.raises(ApplicationError, match="not one of this client's accounts"):
        to_trading(client, "10.00", login="9999")
    assert not TradingTransfer.objects.exists()


def test_without_a_platform_transfers_are_unavailable(client, platform):
    gateway_unregister("fake")
    with pytest.raises(GatewayNotConfigured) as error:
        to_trading(client, "10.00")
    assert error.value.http_status == 503
    assert not TradingTransfer.objects.exists()


def test_the_registry_routes_logins_to_their_platform():
    mt5, sim = FakeGateway(), FakeGateway()
    gateway_register("mt5", mt5, handles=lambda login: login.startswith("5"))
    gateway_register("sim", sim, handles=lambda login: login.startswith("9"))
    try:
        assert gateway_for("5001") is mt5
        assert gateway_for("9001") is sim
        with pytest.raises(GatewayNotConfigured):
            gateway_for("1001")
        with pytest.raises(TypeError):
            gateway_register("broken", object())
    finally:
        gateway_unregister("mt5")
        gateway_unregister("sim")


@pytest.mark.django_db(transaction=True)
def test_the_ledger_side_is_committed_before_the_platform_is_called(alpha, carl):
    """Seen from another connection while the platform call runs: the posting and the claim are committed."""
    import threading

    from django.db import connections
    from django_tenants.utils import tenant_context

    seen = {}

    class WatchingGateway(FakeGateway):
        def balance_operation(self, **kwargs):
            def look():
                with tenant_context(alpha):
                    row = TradingTransfer.objects.get()
                    seen["status"], seen["sent"] = row.status, row.sent_at is not None
                    seen["wallet"] = ledger.wallet_for(row.client, "USD").balance
                connections.close_all()

            thread = threading.Thread(target=look)
            thread.start()
            thread.join()
            return super().balance_operation(**kwargs)

    gateway = WatchingGateway()
    gateway_register("watching", gateway)
    try:
        with tenant_context(alpha):
            payment_defaults_ensure()
            client = client_of(carl)
            gateway.open("5001", client, "USD")
            fund(client, D("500.00"), "USD")
            transfer = to_trading(client, "200.00")  # not in a transaction: sent right after the commit
            assert transfer.status == Status.COMPLETED
    finally:
        gateway_unregister("watching")
    assert seen == {"status": Status.PENDING, "sent": True, "wallet": D("300.00")}
