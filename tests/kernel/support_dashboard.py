"""A handmade data set for the dashboard and search tests (call inside a tenant's schema).

Past-dated money rows are written as the ledger would date them: a LedgerTransaction whose
`posted_at` is the day (the ledger refuses to change a posted row, so they are made that way).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.cache.backends.dummy import DummyCache
from django.utils import timezone

from crm.models import Client
from payments import ledger
from payments.defaults import payment_defaults_ensure
from payments.models import Deposit, Hold, LedgerTransaction, PaymentMethod, Withdrawal
from tests.factories import ClientFactory
from trading.defaults import trading_defaults_ensure
from trading.models import Deal, Platform, TradingAccount


@pytest.fixture
def no_dashboard_cache(monkeypatch):
    """Figures read now: nothing kept from an earlier test (the test cache outlives tests)."""
    from brokerage import dashboard

    monkeypatch.setattr(dashboard, "cache", DummyCache("dashboard-tests", {}))


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def _posting(client: Client, kind: str, at) -> LedgerTransaction:
    return LedgerTransaction.objects.create(
        reference=f"test-{kind}:{uuid.uuid4().hex[:12]}", kind=kind, client=client, posted_at=at
    )


def deposit(client: Client, amount: str, currency: str = "USD", *, at=None, status=Deposit.Status.COMPLETED, **fields):
    """A deposit; completed ones carry their ledger posting dated `at` (now by default)."""
    payment_defaults_ensure()
    at = at or timezone.now()
    completed = status == Deposit.Status.COMPLETED
    made = Deposit.objects.create(
        client=client,
        method=PaymentMethod.objects.get(code=fields.pop("method", "card")),
        currency=currency,
        amount=D(amount),
        status=status,
        completed_at=at if completed else None,
        transaction=_posting(client, "deposit", at) if completed else None,
        **fields,
    )
    Deposit.objects.filter(pk=made.pk).update(created_at=at)
    made.refresh_from_db()
    return made


def withdrawal(client: Client, amount: str, currency: str = "USD", *, status=Withdrawal.Status.PENDING_REVIEW, at=None):
    """A withdrawal requested `at`; paid ones carry their payout posting dated `at`."""
    payment_defaults_ensure()
    at = at or timezone.now()
    wallet = ledger.wallet_for(client, currency)
    hold = Hold.objects.create(account=wallet, amount=D(amount), reference=f"test-hold:{uuid.uuid4().hex[:12]}")
    made = Withdrawal.objects.create(
        client=client,
        method=PaymentMethod.objects.get(code="bank-wire"),
        currency=currency,
        amount=D(amount),
        status=status,
        hold=hold,
        payout_reference=f"PO-{uuid.uuid4().hex[:10]}",
        transaction=_posting(client, "withdrawal", at) if status == Withdrawal.Status.PAID else None,
    )
    Withdrawal.objects.filter(pk=made.pk).update(created_at=at)
    made.refresh_from_db()
    return made


def client(email: str, *, at=None, **fields) -> Client:
    made = ClientFactory(email=email, **fields)
    if at is not None:
        Client.objects.filter(pk=made.pk).update(created_at=at)
        made.refresh_from_db()
    return made


def account(client_: Client | None, login: str, *, is_demo: bool = False, currency: str = "USD") -> TradingAccount:
    trading_defaults_ensure()
    platform = Platform.objects.get(code="sim-demo" if is_demo else "sim-live")
    return TradingAccount.objects.create(
        login=login, platform=platform, client=client_, is_demo=is_demo, group="test", leverage=100, currency=currency
    )


def deal(account_: TradingAccount, ticket: int, volume: str, *, at=None, action: str = "buy") -> Deal:
    return Deal.objects.create(
        platform=account_.platform,
        ticket=ticket,
        login=account_.login,
        account=account_,
        time=at or timezone.now(),
        symbol_name="EURUSD",
        action=action,
        volume=D(volume),
        price=D("1.08"),
    )
