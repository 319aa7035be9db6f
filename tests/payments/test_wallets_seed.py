"""The payments part of the demo seed: living data through the real services, and a second run adds nothing."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django_tenants.utils import tenant_context

from demo.seed import DemoTenant, seed_payments
from payments import ledger
from payments.models import Conversion, Deposit, ExchangeRate, LedgerTransaction, Withdrawal
from tests import factories

pytestmark = pytest.mark.django_db

ALPHA = DemoTenant("alpha", "Alpha", "alpha.localhost", "USD", "CySEC", "#0b7285", ("CY",))


def counts():
    return {
        "deposits": Deposit.objects.filter(status=Deposit.Status.COMPLETED).count(),
        "conversions": Conversion.objects.count(),
        "withdrawals": Withdrawal.objects.count(),
        "transactions": LedgerTransaction.objects.count(),
    }


def test_the_seed_posts_through_the_services_and_runs_twice(alpha):
    with tenant_context(alpha):
        factories.client_user("client@alpha.test")
        for index in range(3):
            factories.ClientFactory(email=f"other{index}@example.com", status="active")
    seed_payments(alpha, ALPHA)
    with tenant_context(alpha):
        first = counts()
        assert first == {"deposits": 5, "conversions": 1, "withdrawals": 1, "transactions": 6}
        demo = ledger.wallet_for(first_client(), "USD")
        # 5,000.00 deposited (no fee by wire), 250.00 converted to EUR, 750.00 held for the withdrawal.
        assert (demo.balance, demo.held) == (D("4750.00"), D("750.00"))
        assert ledger.wallet_for(first_client(), "EUR").balance > D("1200.00")
        assert Withdrawal.objects.get().status == Withdrawal.Status.PENDING_REVIEW
        rates_before = ExchangeRate.objects.count()
        assert ledger.ledger_problems() == []
    seed_payments(alpha, ALPHA)
    with tenant_context(alpha):
        assert counts() == first
        assert ExchangeRate.objects.count() >= rates_before  # rates are refreshed, nothing else is added
        assert ledger.wallet_for(first_client(), "USD").balance == D("4750.00")


def first_client():
    from crm.models import Client

    return Client.objects.get(email="client@alpha.test")
