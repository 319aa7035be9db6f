"""Races with real threads, each on its own database connection: nobody wins twice."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django_tenants.utils import tenant_context

from brokerage.errors import ApplicationError
from payments import ledger
from payments.adapters import registry
from payments.defaults import payment_defaults_ensure
from payments.models import Hold, LedgerAccount, LedgerTransaction, MethodCurrency, PaymentMethod, Withdrawal
from payments.withdrawals import services
from tests.concurrency import race_each
from tests.payments.withdrawals_support import BANK, FakePayouts, client_with_kyc, finance, fund

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cashier(alpha, monkeypatch):
    FakePayouts.reset()
    monkeypatch.setitem(registry.ADAPTERS, FakePayouts.provider, FakePayouts)
    with tenant_context(alpha):
        payment_defaults_ensure()
        PaymentMethod.objects.update(provider=FakePayouts.provider)
        MethodCurrency.objects.filter(method__code="bank-wire", currency="USD").update(min_amount=D("10"))
        return PaymentMethod.objects.get(code="bank-wire")


def test_eight_parallel_withdrawals_of_the_same_funds_exactly_three_win(alpha, cashier):
    with tenant_context(alpha):
        carl = client_with_kyc("carl@alpha.test")
        fund(carl, D("100.00"))

    def attempt():
        return services.withdrawal_request(
            client=carl, method=cashier, currency="USD", amount=D("30.00"), destination=BANK, actor=carl.user
        )

    results = race_each(alpha, [attempt] * 8)

    won = [r for r in results if isinstance(r, Withdrawal)]
    refused = [r for r in results if isinstance(r, ApplicationError)]
    assert len(won) == 3, results
    assert len(refused) == 5
    assert {error.code for error in refused} == {"insufficient_funds"}
    with tenant_context(alpha):
        wallet = LedgerAccount.objects.get(client=carl, kind=LedgerAccount.Kind.CLIENT_WALLET)
        assert (wallet.balance, wallet.held, wallet.available) == (D("100.00"), D("90.00"), D("10.00"))
        assert Withdrawal.objects.count() == 3
        assert sum(h.amount for h in Hold.objects.filter(status=Hold.Status.PENDING)) == D("90.00")
        assert ledger.ledger_problems() == []


def test_two_approvers_clicking_at_once_send_the_payout_once(alpha, cashier):
    with tenant_context(alpha):
        carl = client_with_kyc("carl@alpha.test")
        fund(carl, D("1000.00"))
        fiona, frank = finance("fiona@alpha.test"), finance("frank@alpha.test")
        withdrawal = services.withdrawal_request(
            client=carl, method=cashier, currency="USD", amount=D("250.00"), destination=BANK, actor=carl.user
        )

    results = race_each(
        alpha,
        [
            lambda: services.withdrawal_approve(withdrawal=withdrawal, actor=fiona),
            lambda: services.withdrawal_approve(withdrawal=withdrawal, actor=frank),
        ],
    )

    approved = [r for r in results if isinstance(r, Withdrawal)]
    refused = [r for r in results if isinstance(r, ApplicationError)]
    assert len(approved) == 1 and len(refused) == 1, results
    assert refused[0].code == "not_in_review"
    with tenant_context(alpha):
        withdrawal.refresh_from_db()
        assert withdrawal.status == Withdrawal.Status.PROCESSING
        assert withdrawal.approvals.count() == 1
    assert FakePayouts.calls == [withdrawal.payout_reference]


def test_two_paid_reports_at_once_post_once(alpha, cashier):
    with tenant_context(alpha):
        carl = client_with_kyc("carl@alpha.test")
        fund(carl, D("1000.00"))
        withdrawal = services.withdrawal_request(
            client=carl, method=cashier, currency="USD", amount=D("250.00"), destination=BANK, actor=carl.user
        )
        Withdrawal.objects.filter(pk=withdrawal.pk).update(status=Withdrawal.Status.PROCESSING)

    def settle():
        return services.withdrawal_payout_settled(withdrawal, paid=True, actor_label="psp:fake_payouts")

    results = race_each(alpha, [settle] * 4)

    assert all(isinstance(r, Withdrawal) for r in results), results
    with tenant_context(alpha):
        assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.WITHDRAWAL).count() == 1
        wallet = LedgerAccount.objects.get(client=carl, kind=LedgerAccount.Kind.CLIENT_WALLET)
        assert (wallet.balance, wallet.held) == (D("750.00"), D("0"))
        assert ledger.ledger_problems() == []
