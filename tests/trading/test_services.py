"""Opening and changing trading accounts: the platform first, then our record, audited."""

from decimal import Decimal

import pytest

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from payments.models import TradingTransfer
from payments.wallets.trading import transfer_from_trading, transfer_to_trading
from tests.trading.support import wallet_fund
from trading import services
from trading.models import Platform, TradingAccount, TradingPolicy


@pytest.fixture
def client_row(carl, in_alpha):
    return carl.client


def test_a_live_account_is_opened_on_the_live_platform_in_its_login_range(memory_platform, client_row, carl):
    first = services.account_open(client=client_row, is_demo=False, leverage=100, currency="USD", actor=carl)
    second = services.account_open(client=client_row, is_demo=False, leverage=30, currency="EUR", actor=carl)
    assert first.platform.code == "sim-live"
    assert (first.login, second.login) == ("500000", "500001")
    assert memory_platform.accounts["500000"]["leverage"] == 100
    assert first.state_at is not None and first.balance == 0
    assert AuditRecord.objects.filter(action="trading.account_open", object_id=str(first.pk)).exists()


def test_a_demo_account_gets_the_tenants_play_money(memory_platform, client_row, carl):
    account = services.account_open(client=client_row, is_demo=True, leverage=100, currency="USD", actor=carl)
    assert account.platform.environment == Platform.Environment.DEMO
    assert account.login == "900000"
    assert account.balance == TradingPolicy.current().demo_balance


def test_leverage_and_currency_outside_the_policy_are_refused(memory_platform, client_row, carl):
    with pytest.raises(ApplicationError, match="1:400 is not offered"):
        services.account_open(client=client_row, is_demo=False, leverage=400, currency="USD", actor=carl)
    with pytest.raises(ApplicationError, match="JPY are not offered"):
        services.account_open(client=client_row, is_demo=False, leverage=100, currency="JPY", actor=carl)
    assert not TradingAccount.objects.exists()
    assert memory_platform.accounts == {}


def test_a_platform_that_is_down_leaves_no_account_and_marks_its_health(memory_platform, client_row, carl):
    memory_platform.down = True
    with pytest.raises(Exception, match="Connection refused"):
        services.account_open(client=client_row, is_demo=False, leverage=100, currency="USD", actor=carl)
    assert not TradingAccount.objects.exists()
    platform = Platform.objects.get(code="sim-live")
    assert platform.health == Platform.Health.ERROR and "Connection refused" in platform.health_message


def test_leverage_change_and_disable_reach_the_platform(memory_platform, client_row, carl, alice):
    account = services.account_open(client=client_row, is_demo=False, leverage=100, currency="USD", actor=carl)
    services.account_leverage_change(account, leverage=50, actor=alice)
    services.account_status_set(account, enabled=False, actor=alice)
    account.refresh_from_db()
    assert (account.leverage, account.status) == (50, TradingAccount.Status.DISABLED)
    assert memory_platform.accounts[account.login]["leverage"] == 50
    assert memory_platform.accounts[account.login]["enabled"] is False
    change = AuditRecord.objects.get(action="trading.leverage_changed")
    assert (change.before["leverage"], change.after["leverage"]) == (100, 50)


def test_wallet_to_account_and_back_through_the_platform_gateway(
    memory_platform, client_row, carl, django_capture_on_commit_callbacks
):
    account = services.account_open(client=client_row, is_demo=False, leverage=100, currency="USD", actor=carl)
    wallet = wallet_fund(client_row, "500")
    with django_capture_on_commit_callbacks(execute=True):
        transfer = transfer_to_trading(
            client=client_row, currency="USD", login=account.login, amount=Decimal("200"), actor=carl
        )
    transfer.refresh_from_db()
    assert transfer.status == TradingTransfer.Status.COMPLETED
    assert memory_platform.accounts[account.login]["balance"] == Decimal("200")
    booked = memory_platform.deal_list[-1]
    assert booked.comment.startswith(transfer.operation_id) and len(booked.comment) <= 32
    account.refresh_from_db()
    assert account.balance == Decimal("200")  # refreshed right after the operation

    with django_capture_on_commit_callbacks(execute=True):
        back = transfer_from_trading(
            client=client_row, currency="USD", login=account.login, amount=Decimal("50"), actor=carl
        )
    back.refresh_from_db()
    assert back.status == TradingTransfer.Status.COMPLETED
    assert memory_platform.accounts[account.login]["balance"] == Decimal("150")
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("350")


def test_taking_more_than_the_free_margin_is_refused_and_reversed(
    memory_platform, client_row, carl, django_capture_on_commit_callbacks
):
    account = services.account_open(client=client_row, is_demo=False, leverage=100, currency="USD", actor=carl)
    wallet_fund(client_row, "100")
    with django_capture_on_commit_callbacks(execute=True):
        transfer_to_trading(client=client_row, currency="USD", login=account.login, amount=Decimal("100"), actor=carl)
    memory_platform.accounts[account.login]["margin"] = Decimal("95")  # open positions use most of it
    with django_capture_on_commit_callbacks(execute=True):
        transfer = transfer_from_trading(
            client=client_row, currency="USD", login=account.login, amount=Decimal("10"), actor=carl
        )
    transfer.refresh_from_db()
    assert transfer.status == TradingTransfer.Status.REVERSED
    assert "No money" in transfer.failure_reason


def test_demo_and_unknown_accounts_are_not_offered_to_payments(memory_platform, client_row, carl):
    demo = services.account_open(client=client_row, is_demo=True, leverage=100, currency="USD", actor=carl)
    with pytest.raises(ApplicationError):
        transfer_to_trading(client=client_row, currency="USD", login=demo.login, amount=Decimal("1"), actor=carl)


def test_a_simulator_account_has_no_password_to_hand_over(memory_platform, client_row, carl):
    account = services.account_open(client=client_row, is_demo=True, leverage=100, currency="USD", actor=carl)
    assert account.initial_password == ""


def test_the_account_limit_is_checked_under_the_lock_and_refuses_before_the_platform(
    memory_platform, client_row, carl, monkeypatch
):
    policy = TradingPolicy.current()
    policy.max_accounts_per_client = 2
    policy.save()
    services.account_open(client=client_row, is_demo=False, leverage=100, currency="USD", actor=carl)
    counted_under_lock = []
    real_limit_check = services._account_limit_check

    def spy(policy, client):
        from django.db import connection

        with connection.cursor() as cursor:  # is this transaction holding the client's open lock?
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
            )
            counted_under_lock.append(cursor.fetchone()[0] > 0)
        return real_limit_check(policy, client)

    monkeypatch.setattr(services, "_account_limit_check", spy)
    services.account_open(client=client_row, is_demo=True, leverage=100, currency="USD", actor=carl)
    memory_platform.calls.clear()
    with pytest.raises(ApplicationError, match="at most 2 trading accounts"):
        services.account_open(client=client_row, is_demo=False, leverage=100, currency="USD", actor=carl)
    assert counted_under_lock == [True, True]
    assert "account_open" not in memory_platform.calls
    assert client_row.trading_accounts.count() == 2


def test_a_full_login_range_is_a_clear_error_not_a_login_of_another_range(memory_platform, client_row, carl):
    platform = Platform.objects.get(code="sim-live")
    TradingAccount.objects.create(
        login=str(platform.login_range_end), platform=platform, group="g", leverage=100, currency="USD"
    )
    with pytest.raises(ApplicationError, match="every login from 500000 to 599999 is used"):
        services.account_open(client=client_row, is_demo=False, leverage=100, currency="USD", actor=carl)


def test_taking_out_more_than_is_on_its_way_speaks_of_the_trading_accounts_not_the_wallet(
    memory_platform, client_row, carl, django_capture_on_commit_callbacks
):
    account = services.account_open(client=client_row, is_demo=False, leverage=100, currency="USD", actor=carl)
    wallet_fund(client_row, "100")
    with django_capture_on_commit_callbacks(execute=True):
        transfer_to_trading(client=client_row, currency="USD", login=account.login, amount=Decimal("100"), actor=carl)
    # The first transfer out is still on its way (its platform call runs after the commit).
    transfer_from_trading(client=client_row, currency="USD", login=account.login, amount=Decimal("60"), actor=carl)
    with pytest.raises(ApplicationError) as refused:
        transfer_from_trading(client=client_row, currency="USD", login=account.login, amount=Decimal("60"), actor=carl)
    assert "Only 40.00 USD can be moved out of your trading accounts" in refused.value.message
    assert "wallet" not in refused.value.message.split(":")[0]
    assert TradingTransfer.objects.filter(direction="to_wallet").count() == 1
