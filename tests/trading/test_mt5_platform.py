"""An MT5 server as the tenant's live platform: accounts, health, and wallet transfers that survive
lost answers without booking twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from brokerage.errors import ApplicationError
from payments.models import TradingTransfer
from payments.wallets.trading import (
    trading_transfer_recover,
    trading_transfers_recover,
    transfer_from_trading,
    transfer_to_trading,
)
from tests.trading.fake_mt5 import FakeMt5
from tests.trading.support import wallet_fund
from trading import services
from trading.connectors import mt5
from trading.connectors.base import PlatformUnavailable
from trading.defaults import trading_defaults_ensure
from trading.models import Platform, TradingAccount
from trading.platforms import platform_call, platform_check

PASSWORD = "Manager-Pass1"
Status = TradingTransfer.Status


@pytest.fixture
def fake():
    server = FakeMt5(manager_password=PASSWORD, server_utc_offset=2 * 3600)
    yield server
    server.close()
    mt5.sessions_clear()


@pytest.fixture
def mt5_live(fake, in_alpha):
    """Alpha's live accounts open on the MT5 server; the simulator's live platform is retired."""
    trading_defaults_ensure()
    Platform.objects.filter(code="sim-live").update(is_active=False)
    return Platform.objects.create(
        code="mt5-live",
        name="MT5 live",
        kind=Platform.Kind.MT5,
        environment=Platform.Environment.LIVE,
        server=fake.url,
        manager_login="1000",
        manager_password=PASSWORD,
        default_group="real\\standard",
        login_range_start=700000,
    )


@pytest.fixture
def account(mt5_live, carl) -> TradingAccount:
    return services.account_open(client=carl.client, is_demo=False, leverage=100, currency="USD", actor=carl)


def balance_deals(fake: FakeMt5, login: str) -> list[dict]:
    return [row for row in fake.deal_rows if row["Login"] == login and row["Action"] == 2]


def test_a_live_account_opens_on_the_mt5_server(fake, account, mt5_live):
    assert (account.platform, account.login) == (mt5_live, "700000")
    assert fake.users["700000"]["Leverage"] == 100
    assert account.state_at is not None
    mt5_live.refresh_from_db()
    assert mt5_live.health == Platform.Health.OK


def test_the_manager_password_is_stored_encrypted(mt5_live):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT manager_password FROM trading_platform WHERE id = %s", [mt5_live.pk])
        stored = cursor.fetchone()[0]
    assert PASSWORD not in stored


def test_a_platform_that_is_down_is_marked_in_error_and_recovers(fake, mt5_live):
    fake.down = True
    with pytest.raises(PlatformUnavailable):
        platform_call(mt5_live, lambda connector: connector.ping())
    mt5_live.refresh_from_db()
    assert mt5_live.health == Platform.Health.ERROR and "HTTP 503" in mt5_live.health_message

    fake.down = False
    assert platform_check(mt5_live) is True
    mt5_live.refresh_from_db()
    assert mt5_live.health == Platform.Health.OK


def test_a_lying_server_fails_the_connection_test(fake, mt5_live):
    fake.impostor = True
    assert platform_check(mt5_live) is False
    mt5_live.refresh_from_db()
    assert mt5_live.health == Platform.Health.ERROR and "could not prove" in mt5_live.health_message


def test_deals_without_logins_cover_the_platforms_accounts_only(fake, account, mt5_live):
    fake.deal_add(account.login, profit="5")
    fake.user_add("799999")
    fake.deal_add("799999", profit="7")  # on the server, but not one of ours on this platform
    now = datetime.now(UTC)
    deals = platform_call(
        mt5_live, lambda connector: connector.deals(now - timedelta(hours=1), now + timedelta(hours=1))
    )
    assert [deal.login for deal in deals] == [account.login]


def test_wallet_to_mt5_and_back(fake, account, carl, django_capture_on_commit_callbacks):
    wallet = wallet_fund(carl.client, "500")
    with django_capture_on_commit_callbacks(execute=True):
        transfer = transfer_to_trading(
            client=carl.client, currency="USD", login=account.login, amount=Decimal("200"), actor=carl
        )
    transfer.refresh_from_db()
    assert transfer.status == Status.COMPLETED
    [booked] = balance_deals(fake, account.login)
    assert transfer.platform_reference == str(booked["Deal"])
    assert booked["Comment"].startswith(transfer.operation_id) and len(booked["Comment"]) <= 32
    account.refresh_from_db()
    assert account.balance == Decimal("200")

    with django_capture_on_commit_callbacks(execute=True):
        back = transfer_from_trading(
            client=carl.client, currency="USD", login=account.login, amount=Decimal("50"), actor=carl
        )
    back.refresh_from_db()
    assert back.status == Status.COMPLETED
    assert fake.users[account.login]["Balance"] == Decimal("150")
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("350")


def test_a_lost_answer_leaves_the_transfer_pending_and_recovery_completes_it_once(
    fake, account, carl, django_capture_on_commit_callbacks
):
    wallet = wallet_fund(carl.client, "500")
    fake.balance_fault = "drop_answer"
    with django_capture_on_commit_callbacks(execute=True):
        transfer = transfer_to_trading(
            client=carl.client, currency="USD", login=account.login, amount=Decimal("200"), actor=carl
        )
    transfer.refresh_from_db()
    assert transfer.status == Status.PENDING and transfer.sent_at is not None
    assert fake.users[account.login]["Balance"] == Decimal("200")  # the server booked it

    assert trading_transfers_recover(older_than=timedelta(0)) == 1
    transfer.refresh_from_db()
    [booked] = balance_deals(fake, account.login)
    assert transfer.status == Status.COMPLETED and transfer.platform_reference == str(booked["Deal"])
    assert trading_transfers_recover(older_than=timedelta(0)) == 0
    assert len(balance_deals(fake, account.login)) == 1 and fake.users[account.login]["Balance"] == Decimal("200")
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("300")


def test_an_operation_that_never_reached_the_server_is_reversed_and_refunded(
    fake, account, carl, django_capture_on_commit_callbacks
):
    wallet = wallet_fund(carl.client, "500")
    fake.balance_fault = "drop_request"
    with django_capture_on_commit_callbacks(execute=True):
        transfer = transfer_to_trading(
            client=carl.client, currency="USD", login=account.login, amount=Decimal("200"), actor=carl
        )
    transfer.refresh_from_db()
    assert transfer.status == Status.PENDING
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("300")

    trading_transfer_recover(transfer.pk)
    transfer.refresh_from_db()
    assert transfer.status == Status.REVERSED and "no record" in transfer.failure_reason
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("500")
    assert balance_deals(fake, account.login) == [] and fake.users[account.login]["Balance"] == 0


def test_while_the_server_is_down_recovery_waits_and_decides_once_it_is_back(
    fake, account, carl, django_capture_on_commit_callbacks
):
    wallet_fund(carl.client, "500")
    fake.down = True
    with django_capture_on_commit_callbacks(execute=True):
        transfer = transfer_to_trading(
            client=carl.client, currency="USD", login=account.login, amount=Decimal("80"), actor=carl
        )
    trading_transfers_recover(older_than=timedelta(0))
    transfer.refresh_from_db()
    assert transfer.status == Status.PENDING  # cannot tell yet: nothing decided
    account.platform.refresh_from_db()
    assert account.platform.health == Platform.Health.ERROR

    fake.down = False
    trading_transfers_recover(older_than=timedelta(0))
    transfer.refresh_from_db()
    assert transfer.status == Status.REVERSED  # the 503 came before anything was booked
    assert balance_deals(fake, account.login) == []


def test_taking_out_more_than_the_free_margin_is_refused_and_reversed(
    fake, account, carl, django_capture_on_commit_callbacks
):
    wallet = wallet_fund(carl.client, "100")
    with django_capture_on_commit_callbacks(execute=True):
        transfer_to_trading(client=carl.client, currency="USD", login=account.login, amount=Decimal("100"), actor=carl)
    fake.users[account.login]["Margin"] = Decimal("95")
    with django_capture_on_commit_callbacks(execute=True):
        back = transfer_from_trading(
            client=carl.client, currency="USD", login=account.login, amount=Decimal("10"), actor=carl
        )
    back.refresh_from_db()
    assert back.status == Status.REVERSED and "10019 No money" in back.failure_reason
    assert fake.users[account.login]["Balance"] == Decimal("100")
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("0")


def test_leverage_change_and_disable_reach_the_mt5_server(fake, account, alice):
    services.account_leverage_change(account, leverage=30, actor=alice)
    services.account_status_set(account, enabled=False, actor=alice)
    user = fake.users[account.login]
    assert user["Leverage"] == 30 and not user["Rights"] & mt5.RIGHT_ENABLED


def test_a_transfer_whose_answer_was_lost_across_a_clock_change_is_completed_not_reversed(
    fake, account, carl, django_capture_on_commit_callbacks
):
    wallet = wallet_fund(carl.client, "500")
    fake.clock_shift(3600)  # summer time starts at the broker: UTC+2 -> UTC+3, our session stays open
    fake.balance_fault = "drop_answer"
    with django_capture_on_commit_callbacks(execute=True):
        transfer = transfer_to_trading(
            client=carl.client, currency="USD", login=account.login, amount=Decimal("200"), actor=carl
        )
    transfer.refresh_from_db()
    assert transfer.status == Status.PENDING
    assert fake.users[account.login]["Balance"] == Decimal("200")  # booked, stamped in the new server time

    assert trading_transfers_recover(older_than=timedelta(0)) == 1
    transfer.refresh_from_db()
    [booked] = balance_deals(fake, account.login)
    assert transfer.status == Status.COMPLETED and transfer.platform_reference == str(booked["Deal"])
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("300")  # not refunded: the money is on the server once


def test_recovery_finds_an_operation_booked_weeks_ago(fake, account):
    from trading.gateway import OPERATION_LOOKBACK, PlatformGateway

    assert timedelta(days=30) <= OPERATION_LOOKBACK
    # The platform was down for almost three weeks; the lost answer is only settled now.
    row = fake.deal_add(
        account.login, action=2, entry=0, symbol="", lots="0", price="0", profit="75",
        comment="bo-0a1b2c3d4e5f6a7b transfer", when=datetime.now(UTC) - timedelta(days=20),
    )  # fmt: skip
    found = PlatformGateway().find_operation(login=account.login, operation_id="bo-0a1b2c3d4e5f6a7b")
    assert found == str(row["Deal"])
    assert PlatformGateway().find_operation(login=account.login, operation_id="bo-ffffffffffffffff") is None


def test_a_login_mt5_already_has_is_skipped(fake, mt5_live, carl):
    fake.user_add("700000")  # opened by another manager, unknown to us
    account = services.account_open(client=carl.client, is_demo=False, leverage=100, currency="USD", actor=carl)
    assert account.login == "700001" and fake.users["700001"]["Name"] == str(carl.client)
    assert fake.users["700000"]["Name"] == "Client 700000"  # the other one is left alone


def test_an_open_whose_answer_was_lost_does_not_jam_later_opens(fake, mt5_live, carl):
    fake.user_add_fault = "drop_answer"
    with pytest.raises(PlatformUnavailable):
        services.account_open(client=carl.client, is_demo=False, leverage=100, currency="USD", actor=carl)
    assert not TradingAccount.objects.exists() and "700000" in fake.users  # MT5 has it, we do not

    first = services.account_open(client=carl.client, is_demo=False, leverage=100, currency="USD", actor=carl)
    second = services.account_open(client=carl.client, is_demo=False, leverage=100, currency="USD", actor=carl)
    assert (first.login, second.login) == ("700001", "700002")


def test_when_every_login_tried_is_taken_the_open_fails_clearly_and_leaves_nothing(fake, mt5_live, carl):
    for login in range(700000, 700000 + services.LOGIN_ATTEMPTS):
        fake.user_add(str(login))
    with pytest.raises(ApplicationError, match=r"700000.*7000\d\d.*already taken") as refused:
        services.account_open(client=carl.client, is_demo=False, leverage=100, currency="USD", actor=carl)
    assert refused.value.code == "trading_logins_taken"
    assert not TradingAccount.objects.exists()
    assert fake.paths().count("/api/user/add") == services.LOGIN_ATTEMPTS


def _texts_in_database() -> list[str]:
    """Every text and JSON value of every table in every schema (tenants and public)."""
    from django.db import connection

    found: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT table_schema, table_name, column_name FROM information_schema.columns
            WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
              AND data_type IN ('text', 'character varying', 'jsonb', 'json')
              AND table_name IN (SELECT table_name FROM information_schema.tables
                                 WHERE table_type = 'BASE TABLE' AND table_schema = columns.table_schema)
            """
        )
        for schema, table, column in cursor.fetchall():
            cursor.execute(f'SELECT "{column}"::text FROM "{schema}"."{table}" WHERE "{column}" IS NOT NULL')  # noqa: S608 - names from the catalogue
            found.extend(row[0] for row in cursor.fetchall())
    return found


def test_the_traders_mt5_password_is_handed_back_once_and_kept_nowhere(fake, mt5_live, carl, caplog):
    from brokerage.models import AuditRecord

    caplog.set_level("DEBUG")
    account = services.account_open(client=carl.client, is_demo=False, leverage=100, currency="USD", actor=carl)
    password = account.initial_password
    assert len(password) >= 12 and password == fake.users[account.login]["MainPassword"]
    assert AuditRecord.objects.filter(action="trading.account_open").exists()
    assert not [text for text in _texts_in_database() if password in text]
    assert password not in caplog.text
    assert not hasattr(TradingAccount.objects.get(pk=account.pk), "initial_password")
    other = services.account_open(client=carl.client, is_demo=False, leverage=100, currency="USD", actor=carl)
    assert other.initial_password != password
