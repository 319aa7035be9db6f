"""Withdrawals: request checks, policy, approval routes, payout and settlement.

Personas (tenant alpha): Carl is a KYC-approved, low-risk client with 1,000.00 USD;
Fiona and Frank are finance officers; Mia is a finance officer who makes requests
on clients' behalf (the maker).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord, OutboxEvent
from crm.models import Client
from payments import ledger
from payments.adapters import registry
from payments.defaults import payment_defaults_ensure
from payments.models import (
    ExchangeRate,
    Hold,
    LedgerAccount,
    LedgerTransaction,
    MethodCurrency,
    PaymentEvent,
    PaymentMethod,
    Withdrawal,
    WithdrawalApproval,
)
from payments.withdrawals import hooks, services, tasks
from payments.withdrawals.policy import return_to_source_owed
from tests import factories
from tests.payments.withdrawals_support import (
    BANK,
    BIC,
    BTC_ADDRESS,
    ETH_ADDRESS,
    IBAN,
    FakePayouts,
    card_deposit,
    client_with_kyc,
    finance,
    fund,
    policy_set,
)

pytestmark = pytest.mark.django_db
Status = Withdrawal.Status


@pytest.fixture
def methods(in_alpha, monkeypatch):
    payment_defaults_ensure()
    FakePayouts.reset()
    monkeypatch.setitem(registry.ADAPTERS, FakePayouts.provider, FakePayouts)
    PaymentMethod.objects.update(provider=FakePayouts.provider)
    return {method.code: method for method in PaymentMethod.objects.all()}


@pytest.fixture
def carl(methods):
    client = client_with_kyc("carl@alpha.test")
    fund(client, D("1000.00"))
    return client


@pytest.fixture
def fiona(methods):
    return finance("fiona@alpha.test")


@pytest.fixture
def frank(methods):
    return finance("frank@alpha.test")


@pytest.fixture
def mia(methods):
    return finance("mia@alpha.test")


def request(client, methods, amount="250.00", *, method="bank-wire", currency="USD", destination=None, actor=None):
    return services.withdrawal_request(
        client=client,
        method=methods[method],
        currency=currency,
        amount=D(amount),
        destination=BANK if destination is None else destination,
        actor=actor or client.user,
    )


def wallet(client, currency="USD") -> LedgerAccount:
    return LedgerAccount.objects.get(client=client, kind=LedgerAccount.Kind.CLIENT_WALLET, currency=currency)


def steps(withdrawal) -> list[str]:
    return list(PaymentEvent.objects.filter(withdrawal=withdrawal).order_by("id").values_list("status", flat=True))


def assert_nothing_written(client):
    assert not Withdrawal.objects.filter(client=client).exists()
    assert not Hold.objects.exists()
    assert wallet(client).held == 0


# Request ------------------------------------------------------------------------------------------


def test_a_request_holds_the_funds_and_waits_for_review(carl, methods):
    withdrawal = request(carl, methods, "250.00")

    assert withdrawal.status == Status.PENDING_REVIEW
    assert (withdrawal.amount, withdrawal.fee, withdrawal.payout_amount) == (D("250.00"), D("0.00"), D("250.00"))
    assert withdrawal.destination == {"iban": IBAN, "bic": BIC, "holder": "Carl Client"}
    assert withdrawal.created_by == carl.user
    assert withdrawal.hold.reference == f"withdrawal:{withdrawal.public_id}"
    assert withdrawal.hold.status == Hold.Status.PENDING
    assert (wallet(carl).balance, wallet(carl).held, wallet(carl).available) == (D("1000"), D("250"), D("750"))
    assert steps(withdrawal) == ["requested", "pending_review"]
    assert AuditRecord.objects.filter(action="payments.withdrawal.requested", object_id=str(withdrawal.pk)).exists()
    assert OutboxEvent.objects.filter(topic="payments.withdrawal.requested").count() == 1
    assert ledger.ledger_problems() == []


def test_the_fee_is_fixed_plus_percent_and_the_client_receives_the_rest(carl, methods):
    card_deposit(carl, D("100.00"))
    withdrawal = request(carl, methods, "100.00", method="card", destination={})
    # 0.30 + 2.5% of 100.00
    assert (withdrawal.fee, withdrawal.payout_amount) == (D("2.80"), D("97.20"))
    assert withdrawal.destination["card"] == "Visa •••• 4242"


@pytest.mark.parametrize(
    ("amount", "currency", "field", "message"),
    [
        ("-10.00", "USD", "amount", "more than zero"),
        ("0", "USD", "amount", "more than zero"),
        ("150.001", "USD", "amount", "at most 2 decimals"),
        ("150.00", "XXX", "currency", "Unknown currency"),
        ("150.00", "BTC", "currency", "does not pay out in BTC"),
        ("1000001.00", "USD", "amount", "largest"),
        ("99.99", "USD", "amount", "smallest"),
    ],
)
def test_bad_amounts_are_refused_and_nothing_is_written(carl, methods, amount, currency, field, message):
    with pytest.raises(ApplicationError) as error:
        request(carl, methods, amount, currency=currency)
    assert message.lower() in str(error.value).lower()
    assert field in error.value.fields
    assert_nothing_written(carl)


def test_an_amount_the_fee_would_swallow_is_refused(carl, methods):
    MethodCurrency.objects.filter(method=methods["bank-wire"], currency="USD").update(fee_fixed=D("150.00"))
    with pytest.raises(ApplicationError, match="fee") as error:
        request(carl, methods, "150.00")
    assert error.value.fields == {"amount": ["More than the fee of 150.00 USD."]}
    assert_nothing_written(carl)


def test_a_method_closed_to_withdrawals_is_refused(carl, methods):
    PaymentMethod.objects.filter(code="bank-wire").update(withdrawals_enabled=False)
    methods["bank-wire"].refresh_from_db()
    with pytest.raises(ApplicationError, match="does not pay out") as error:
        request(carl, methods)
    assert "method" in error.value.fields
    assert_nothing_written(carl)


@pytest.mark.parametrize(
    ("destination", "field"),
    [
        ({"iban": "DE89370400440532013001", "bic": BIC, "holder": "Carl"}, "iban"),  # bad check digits
        ({"iban": "not an iban", "bic": BIC, "holder": "Carl"}, "iban"),
        ({"iban": "", "bic": BIC, "holder": "Carl"}, "iban"),
        ({"iban": IBAN, "bic": "COBADEF", "holder": "Carl"}, "bic"),  # 7 characters
        ({"iban": IBAN, "bic": "BUKBGB22", "holder": "Carl"}, "bic"),  # a British bank for a German account
        ({"iban": IBAN, "bic": BIC, "holder": " "}, "holder"),
    ],
)
def test_malformed_bank_details_are_refused(carl, methods, destination, field):
    with pytest.raises(ApplicationError) as error:
        request(carl, methods, destination=destination)
    assert field in error.value.fields
    assert_nothing_written(carl)


def test_bank_details_are_stored_in_their_compact_form(carl, methods):
    withdrawal = request(
        carl,
        methods,
        destination={"iban": "de89 3704 0044 0532 0130 00", "bic": "cobadeffxxx", "holder": "  Carl   Client "},
    )
    assert withdrawal.destination == {"iban": IBAN, "bic": BIC, "holder": "Carl Client"}


@pytest.mark.parametrize(
    ("method", "currency", "address"),
    [
        ("bitcoin", "BTC", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr"),  # checksum
        ("bitcoin", "BTC", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"),  # base58 checksum
        ("bitcoin", "BTC", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"),  # testnet
        ("bitcoin", "BTC", ETH_ADDRESS),
        ("usdt-erc20", "USDT", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),  # EIP-55 checksum
        ("usdt-erc20", "USDT", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea"),  # too short
        ("usdt-erc20", "USDT", BTC_ADDRESS),
    ],
)
def test_bad_crypto_addresses_are_refused(carl, methods, method, currency, address):
    fund(carl, D("1.00000000"), "BTC")
    fund(carl, D("500.000000"), "USDT")
    with pytest.raises(ApplicationError) as error:
        request(
            carl,
            methods,
            "0.01" if currency == "BTC" else "50",
            method=method,
            currency=currency,
            destination={"address": address},
        )
    assert "address" in error.value.fields
    assert not Withdrawal.objects.exists()
    assert not Hold.objects.exists()


def test_crypto_withdrawals_keep_the_address_in_its_canonical_form(carl, methods):
    fund(carl, D("500.000000"), "USDT")
    withdrawal = request(
        carl, methods, "50", method="usdt-erc20", currency="USDT", destination={"address": ETH_ADDRESS.lower()}
    )
    assert withdrawal.destination == {"network": "ethereum", "address": ETH_ADDRESS}
    assert withdrawal.fee == D("1.250000")  # 1 + 0.5% of 50


@pytest.mark.parametrize("kyc", [Client.KycStatus.NOT_STARTED, Client.KycStatus.PENDING, Client.KycStatus.REJECTED])
def test_a_client_without_approved_kyc_is_refused(methods, kyc):
    client = client_with_kyc("dora@alpha.test", kyc=kyc)
    fund(client, D("1000.00"))
    with pytest.raises(ApplicationError, match="identity is verified") as error:
        request(client, methods)
    assert error.value.code == "kyc_required"
    assert_nothing_written(client)


def test_more_than_the_available_funds_is_refused(carl, methods):
    request(carl, methods, "600.00")
    with pytest.raises(ApplicationError, match="Not enough available funds") as error:
        request(carl, methods, "500.00")
    assert error.value.code == "insufficient_funds"
    assert Withdrawal.objects.count() == 1
    assert wallet(carl).held == D("600")


def test_a_client_with_no_wallet_in_the_currency_is_refused(carl, methods):
    with pytest.raises(ApplicationError) as error:
        request(carl, methods, "150.00", currency="EUR")
    assert error.value.code == "insufficient_funds"
    assert not Withdrawal.objects.exists()


def test_a_resubmitted_request_returns_the_first_withdrawal(carl, methods):
    import uuid

    key = uuid.uuid4()
    first = services.withdrawal_request(
        client=carl,
        method=methods["bank-wire"],
        currency="USD",
        amount=D("200"),
        destination=BANK,
        actor=carl.user,
        request_id=key,
    )
    again = services.withdrawal_request(
        client=carl,
        method=methods["bank-wire"],
        currency="USD",
        amount=D("200"),
        destination=BANK,
        actor=carl.user,
        request_id=key,
    )
    assert again.pk == first.pk
    assert Hold.objects.count() == 1
    assert wallet(carl).held == D("200")


# Return to source -------------------------------------------------------------------------------


def test_card_deposits_must_go_back_to_the_card_before_other_methods(carl, methods):
    card_deposit(carl, D("300.00"))
    assert return_to_source_owed(carl, "USD") == D("300.00")

    with pytest.raises(ApplicationError, match=r"300\.00 USD must first go back to your card") as error:
        request(carl, methods, "200.00")
    assert error.value.code == "return_to_source"
    assert "method" in error.value.fields

    with pytest.raises(ApplicationError, match=r"At most 300\.00 USD can go back to your card"):
        request(carl, methods, "400.00", method="card", destination={})

    request(carl, methods, "300.00", method="card", destination={})
    assert return_to_source_owed(carl, "USD") == D("0")
    assert request(carl, methods, "200.00").status == Status.PENDING_REVIEW


def test_a_rejected_card_withdrawal_is_owed_to_the_card_again(carl, methods, fiona):
    card_deposit(carl, D("100.00"))
    to_card = request(carl, methods, "100.00", method="card", destination={})
    services.withdrawal_reject(withdrawal=to_card, actor=fiona, reason="Card expired")
    assert return_to_source_owed(carl, "USD") == D("100.00")
    with pytest.raises(ApplicationError) as error:
        request(carl, methods, "150.00")
    assert error.value.code == "return_to_source"


def test_a_card_withdrawal_needs_a_card_deposit(carl, methods):
    with pytest.raises(ApplicationError, match="you have none") as error:
        request(carl, methods, "50.00", method="card", destination={})
    assert "card" in error.value.fields


def test_card_deposits_in_another_currency_do_not_block_this_one(carl, methods):
    fund(carl, D("500.00"), "EUR")
    card_deposit(carl, D("200.00"), "EUR")
    assert request(carl, methods, "150.00").status == Status.PENDING_REVIEW  # USD by wire


# Daily limit --------------------------------------------------------------------------------------


def test_the_daily_limit_counts_open_and_paid_withdrawals_of_the_day(carl, methods, fiona):
    policy_set(daily_withdrawal_limit=D("500"))
    first = request(carl, methods, "300.00")
    with pytest.raises(
        ApplicationError, match=r"daily withdrawal limit of 500\.00 USD \(200\.00 USD left today\)"
    ) as error:
        request(carl, methods, "250.00")
    assert error.value.code == "daily_limit"
    assert request(carl, methods, "200.00").status == Status.PENDING_REVIEW

    services.withdrawal_reject(withdrawal=first, actor=fiona, reason="Wrong account")
    assert request(carl, methods, "300.00").status == Status.PENDING_REVIEW  # rejected ones do not count


def test_yesterdays_withdrawals_do_not_count_today(carl, methods):
    policy_set(daily_withdrawal_limit=D("500"))
    old = request(carl, methods, "400.00")
    Withdrawal.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    assert request(carl, methods, "400.00").status == Status.PENDING_REVIEW


def test_the_daily_limit_converts_other_currencies_to_the_base_currency(carl, methods):
    policy_set(daily_withdrawal_limit=D("500"))
    ExchangeRate.objects.create(base="EUR", quote="USD", rate=D("1.10"), source="test", as_of=timezone.now())
    fund(carl, D("1000.00"), "EUR")
    request(carl, methods, "400.00", currency="EUR")  # 440 USD
    with pytest.raises(ApplicationError, match="daily withdrawal limit") as error:
        request(carl, methods, "100.00")  # 540 USD in all
    assert error.value.code == "daily_limit"


def test_with_no_rate_the_policy_fails_safe_to_manual_review(carl, methods):
    policy_set(auto_approve_limit=D("1000"), daily_withdrawal_limit=D("500"))
    fund(carl, D("1000.00"), "GBP")
    withdrawal = request(carl, methods, "150.00", currency="GBP")
    assert withdrawal.status == Status.PENDING_REVIEW
    assert not withdrawal.auto_approved
    assert withdrawal.needs_four_eyes
    assert "No GBP/USD exchange rate: the amount could not be checked against the limits." in withdrawal.review_reasons


# Hooks --------------------------------------------------------------------------------------------


@pytest.fixture
def hook():
    added = []

    def add(check):
        hooks.register_withdrawal_check(check)
        added.append(check)

    yield add
    for check in added:
        hooks.unregister_withdrawal_check(check)


def test_a_hook_reason_sends_the_withdrawal_to_review_with_that_reason(carl, methods, hook):
    policy_set(auto_approve_limit=D("1000"))
    hook(lambda withdrawal: "Deposit and withdrawal within 24 hours" if withdrawal.amount > 100 else None)
    flagged = request(carl, methods, "250.00")
    assert flagged.status == Status.PENDING_REVIEW
    assert flagged.review_reasons == ["Deposit and withdrawal within 24 hours"]
    # The client's timeline does not carry staff-only reasons.
    assert "24 hours" not in " ".join(PaymentEvent.objects.filter(withdrawal=flagged).values_list("note", flat=True))


def test_a_hook_that_crashes_holds_the_withdrawal_for_review(carl, methods, hook):
    policy_set(auto_approve_limit=D("1000"))

    def broken(withdrawal):
        raise RuntimeError("rule engine down")

    hook(broken)
    withdrawal = request(carl, methods, "150.00")
    assert withdrawal.status == Status.PENDING_REVIEW
    assert withdrawal.review_reasons == [
        "Check test_a_hook_that_crashes_holds_the_withdrawal_for_review.<locals>.broken failed to run; review by hand."
    ]


# Auto-approval and payout -------------------------------------------------------------------------


def test_auto_approval_pays_a_small_withdrawal_of_a_low_risk_client_with_no_staff(
    carl, methods, django_capture_on_commit_callbacks
):
    policy_set(auto_approve_limit=D("500"))
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal = request(carl, methods, "200.00")
    withdrawal.refresh_from_db()

    assert withdrawal.auto_approved
    assert withdrawal.status == Status.PROCESSING
    assert withdrawal.psp_reference == f"fake-{withdrawal.payout_reference}"
    assert FakePayouts.calls == [withdrawal.payout_reference]
    assert not WithdrawalApproval.objects.exists()

    services.withdrawal_payout_settled(withdrawal, paid=True, actor_label="psp:fake_payouts")
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.PAID
    assert steps(withdrawal) == ["requested", "approved", "sent", "paid"]
    txn = withdrawal.transaction
    assert txn.reference == f"withdrawal:{withdrawal.public_id}"
    assert sorted((line.account.code, line.amount) for line in txn.lines.all()) == [
        ("psp_clearing:bank-wire:USD", D("200.00")),
        (f"wallet:{carl.pk}:USD", D("-200.00")),
    ]
    assert (wallet(carl).balance, wallet(carl).held) == (D("800.00"), D("0"))
    assert Hold.objects.get().status == Hold.Status.CAPTURED
    assert ledger.ledger_problems() == []


def test_a_paid_withdrawal_with_a_fee_credits_the_fee_account(carl, methods):
    card_deposit(carl, D("100.00"))
    withdrawal = request(carl, methods, "100.00", method="card", destination={})
    Withdrawal.objects.filter(pk=withdrawal.pk).update(status=Status.PROCESSING)
    services.withdrawal_payout_settled(withdrawal, paid=True, actor_label="psp:fake_payouts")
    withdrawal.refresh_from_db()
    assert sorted((line.account.code, line.amount) for line in withdrawal.transaction.lines.all()) == [
        ("fees:USD", D("2.80")),
        ("psp_clearing:card:USD", D("97.20")),
        (f"wallet:{carl.pk}:USD", D("-100.00")),
    ]
    assert ledger.ledger_problems() == []


@pytest.mark.parametrize(
    ("risk", "amount", "threshold"),
    [
        (Client.RiskLevel.MEDIUM, "200.00", D("10000")),  # not low risk
        (Client.RiskLevel.LOW, "600.00", D("10000")),  # above the auto-approval limit
        (Client.RiskLevel.LOW, "200.00", D("100")),  # above the four-eyes threshold
    ],
)
def test_auto_approval_needs_every_condition(methods, risk, amount, threshold):
    policy_set(auto_approve_limit=D("500"), four_eyes_threshold=threshold)
    client = client_with_kyc("ada@alpha.test", risk=risk)
    fund(client, D("1000.00"))
    withdrawal = request(client, methods, amount)
    assert withdrawal.status == Status.PENDING_REVIEW
    assert not withdrawal.auto_approved
    assert FakePayouts.calls == []


def test_auto_approval_is_off_when_the_limit_is_zero(carl, methods):
    policy_set(auto_approve_limit=D("0"))
    assert request(carl, methods, "150.00").status == Status.PENDING_REVIEW


def test_a_high_risk_client_is_flagged_for_staff(methods):
    client = client_with_kyc("hugo@alpha.test", risk=Client.RiskLevel.HIGH)
    fund(client, D("1000.00"))
    assert request(client, methods, "150.00").review_reasons == ["The client's risk level is high."]


@pytest.fixture
def retries_run():
    """Eager tasks re-run on retry (as a worker would, minus the wait) instead of raising Retry."""
    from brokerage.celery import app

    propagates = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = propagates


def approve_and_run_payout(withdrawal, actor):
    services.withdrawal_approve(withdrawal=withdrawal, actor=actor)  # its on_commit send is not run here
    tasks.withdrawal_payout.apply(args=[withdrawal.pk])
    withdrawal.refresh_from_db()


@pytest.mark.usefixtures("retries_run")
def test_transient_psp_errors_are_retried_with_backoff(carl, methods, fiona):
    FakePayouts.fail_transient = 2
    withdrawal = request(carl, methods, "150.00")
    approve_and_run_payout(withdrawal, fiona)
    assert withdrawal.status == Status.PROCESSING
    assert FakePayouts.calls == [withdrawal.payout_reference] * 3
    assert steps(withdrawal)[-3:] == ["payout_delayed", "payout_delayed", "sent"]
    assert "trying again in 1 min" in PaymentEvent.objects.filter(status="payout_delayed").last().note
    assert [tasks._backoff(n) for n in range(9)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


@pytest.mark.usefixtures("retries_run")
def test_when_retries_run_out_the_withdrawal_stays_approved_for_the_sweep(carl, methods, fiona):
    FakePayouts.fail_transient = 100
    withdrawal = request(carl, methods, "150.00")
    approve_and_run_payout(withdrawal, fiona)
    assert withdrawal.status == Status.APPROVED
    assert len(FakePayouts.calls) == tasks.MAX_RETRIES + 1
    assert "retries used up" in PaymentEvent.objects.filter(withdrawal=withdrawal).last().note
    assert wallet(carl).held == D("150.00")  # still held: it may yet be paid

    assert list(services.withdrawals_stalled()) == []
    Withdrawal.objects.filter(pk=withdrawal.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    assert list(services.withdrawals_stalled()) == [withdrawal]
    FakePayouts.fail_transient = 0
    assert tasks.withdrawal_payout_sweep.apply().get() == 1
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.PROCESSING


def test_a_permanent_psp_refusal_fails_the_withdrawal_and_releases_the_hold(
    carl, methods, fiona, django_capture_on_commit_callbacks
):
    FakePayouts.refuse = "Account closed"
    withdrawal = request(carl, methods, "150.00")
    with django_capture_on_commit_callbacks(execute=True):
        services.withdrawal_approve(withdrawal=withdrawal, actor=fiona)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.FAILED
    assert withdrawal.reason == "The payment provider refused the payout: Account closed"
    assert withdrawal.hold.status == Hold.Status.RELEASED
    assert (wallet(carl).balance, wallet(carl).held) == (D("1000.00"), D("0"))
    assert steps(withdrawal)[-2:] == ["failed", "hold_released"]
    assert ledger.ledger_problems() == []


def test_the_payout_task_run_twice_sends_once(carl, methods, fiona):
    withdrawal = request(carl, methods, "150.00")
    services.withdrawal_approve(withdrawal=withdrawal, actor=fiona)  # on_commit not run: the task is ours to call
    tasks.withdrawal_payout.apply(args=[withdrawal.pk])
    tasks.withdrawal_payout.apply(args=[withdrawal.pk])
    assert FakePayouts.calls == [withdrawal.payout_reference]
    assert steps(withdrawal).count("sent") == 1


def test_a_reported_failure_releases_the_hold(carl, methods):
    withdrawal = request(carl, methods, "150.00")
    Withdrawal.objects.filter(pk=withdrawal.pk).update(status=Status.PROCESSING)
    services.withdrawal_payout_settled(withdrawal, paid=False, reason="Beneficiary bank refused", actor_label="psp:x")
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.reason) == (Status.FAILED, "Beneficiary bank refused")
    assert (wallet(carl).balance, wallet(carl).held) == (D("1000.00"), D("0"))
    assert not LedgerTransaction.objects.filter(kind="withdrawal").exists()


def test_a_late_failure_after_paid_changes_nothing(carl, methods):
    withdrawal = request(carl, methods, "150.00")
    Withdrawal.objects.filter(pk=withdrawal.pk).update(status=Status.PROCESSING)
    services.withdrawal_payout_settled(withdrawal, paid=True, actor_label="psp:x")
    services.withdrawal_payout_settled(withdrawal, paid=True, actor_label="psp:x")  # duplicate
    services.withdrawal_payout_settled(withdrawal, paid=False, reason="Returned", actor_label="psp:x")
    withdrawal.refresh_from_db()

    assert withdrawal.status == Status.PAID
    assert LedgerTransaction.objects.filter(kind="withdrawal").count() == 1
    assert (wallet(carl).balance, wallet(carl).held) == (D("850.00"), D("0"))
    assert steps(withdrawal)[-2:] == ["paid", "late_report"]
    assert "Reported failed after it was paid: no change. Returned" in PaymentEvent.objects.last().note
    assert ledger.ledger_problems() == []


def test_a_paid_report_after_a_failure_posts_nothing(carl, methods):
    withdrawal = request(carl, methods, "150.00")
    Withdrawal.objects.filter(pk=withdrawal.pk).update(status=Status.PROCESSING)
    services.withdrawal_payout_settled(withdrawal, paid=False, reason="Refused", actor_label="psp:x")
    services.withdrawal_payout_settled(withdrawal, paid=True, actor_label="psp:x")
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.FAILED
    assert not LedgerTransaction.objects.filter(kind="withdrawal").exists()
    assert steps(withdrawal)[-1] == "late_report"


def test_a_report_for_a_withdrawal_still_in_review_is_ignored(carl, methods):
    withdrawal = request(carl, methods, "150.00")
    services.withdrawal_payout_settled(withdrawal, paid=True, actor_label="reconciliation")
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.PENDING_REVIEW
    assert wallet(carl).held == D("150.00")


# Review -------------------------------------------------------------------------------------------


def test_one_approval_is_enough_below_the_four_eyes_threshold(carl, methods, fiona, django_capture_on_commit_callbacks):
    withdrawal = request(carl, methods, "150.00")
    with django_capture_on_commit_callbacks(execute=True):
        services.withdrawal_approve(withdrawal=withdrawal, actor=fiona, note="Checked the account")
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.PROCESSING
    record = AuditRecord.objects.get(action="payments.withdrawal.approved")
    assert (record.actor_email, record.before["status"], record.after["status"]) == (
        "fiona@alpha.test",
        "pending_review",
        "approved",
    )
    assert OutboxEvent.objects.filter(topic="payments.withdrawal.approved").count() == 1


def test_four_eyes_needs_two_different_approvers(carl, methods, fiona, frank, django_capture_on_commit_callbacks):
    policy_set(four_eyes_threshold=D("500"))
    withdrawal = request(carl, methods, "600.00")
    assert withdrawal.needs_four_eyes

    services.withdrawal_approve(withdrawal=withdrawal, actor=fiona)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.PENDING_SECOND_APPROVAL
    assert FakePayouts.calls == []

    with pytest.raises(ApplicationError, match="already approved") as error:
        services.withdrawal_approve(withdrawal=withdrawal, actor=fiona)
    assert error.value.code == "four_eyes"
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.PENDING_SECOND_APPROVAL

    with django_capture_on_commit_callbacks(execute=True):
        services.withdrawal_approve(withdrawal=withdrawal, actor=frank)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.PROCESSING
    assert list(withdrawal.approvals.values_list("staff__email", flat=True)) == ["fiona@alpha.test", "frank@alpha.test"]
    assert FakePayouts.calls == [withdrawal.payout_reference]
    assert AuditRecord.objects.filter(action="payments.withdrawal.first_approval").count() == 1


def test_the_maker_cannot_approve_their_own_request(carl, methods, mia, fiona):
    withdrawal = request(carl, methods, "150.00", actor=mia)
    assert withdrawal.created_by == mia
    with pytest.raises(ApplicationError, match="You made this withdrawal request") as error:
        services.withdrawal_approve(withdrawal=withdrawal, actor=mia)
    assert error.value.code == "maker_cannot_approve"
    assert not WithdrawalApproval.objects.exists()
    services.withdrawal_approve(withdrawal=withdrawal, actor=fiona)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.APPROVED


def test_staff_without_the_approval_permission_cannot_approve(carl, methods):
    clerk = factories.staff_user("clerk@alpha.test", roles=["back_office"])
    withdrawal = request(carl, methods, "150.00")
    with pytest.raises(PermissionDenied):
        services.withdrawal_approve(withdrawal=withdrawal, actor=clerk)
    with pytest.raises(PermissionDenied):
        services.withdrawal_reject(withdrawal=withdrawal, actor=clerk, reason="No")
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.PENDING_REVIEW


def test_rejection_needs_a_reason_and_releases_the_hold(carl, methods, fiona):
    withdrawal = request(carl, methods, "150.00")
    with pytest.raises(ApplicationError, match="Say why") as error:
        services.withdrawal_reject(withdrawal=withdrawal, actor=fiona, reason="   ")
    assert error.value.fields == {"reason": ["Required."]}

    services.withdrawal_reject(withdrawal=withdrawal, actor=fiona, reason="The account is not in your name")
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.reason) == (Status.REJECTED, "The account is not in your name")
    assert withdrawal.hold.status == Hold.Status.RELEASED
    assert (wallet(carl).balance, wallet(carl).held) == (D("1000.00"), D("0"))
    assert steps(withdrawal)[-2:] == ["rejected", "hold_released"]
    assert AuditRecord.objects.filter(action="payments.withdrawal.rejected").count() == 1

    with pytest.raises(ApplicationError, match="nothing to decide"):
        services.withdrawal_approve(withdrawal=withdrawal, actor=fiona)


def test_the_client_may_cancel_while_it_waits_for_review(carl, methods, fiona):
    withdrawal = request(carl, methods, "150.00")
    services.withdrawal_cancel(withdrawal=withdrawal, actor=carl.user)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.CANCELLED
    assert wallet(carl).held == D("0")

    approved = request(carl, methods, "150.00")
    services.withdrawal_approve(withdrawal=approved, actor=fiona)
    with pytest.raises(ApplicationError, match="can no longer be cancelled"):
        services.withdrawal_cancel(withdrawal=approved, actor=carl.user)
    assert wallet(carl).held == D("150.00")


def test_staff_can_send_a_stalled_payout_again(carl, methods, fiona, django_capture_on_commit_callbacks):
    withdrawal = request(carl, methods, "150.00")
    services.withdrawal_approve(withdrawal=withdrawal, actor=fiona)  # the queued task was lost
    with django_capture_on_commit_callbacks(execute=True):
        services.withdrawal_payout_requeue(withdrawal=withdrawal, actor=fiona)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.PROCESSING
    assert FakePayouts.calls == [withdrawal.payout_reference]
    with pytest.raises(ApplicationError, match="Only an approved withdrawal"):
        services.withdrawal_payout_requeue(withdrawal=withdrawal, actor=fiona)


# With the built-in sandbox PSPs (their signed webhooks end the payout) -----------------------------


@pytest.fixture
def sandbox(in_alpha):
    payment_defaults_ensure()
    return {method.code: method for method in PaymentMethod.objects.all()}


@pytest.mark.parametrize(("amount", "status"), [("100.00", Status.PAID), ("100.13", Status.FAILED)])
def test_a_sandbox_card_payout_ends_by_its_signed_webhook(sandbox, amount, status, django_capture_on_commit_callbacks):
    policy_set(auto_approve_limit=D("500"))
    client = client_with_kyc("sandra@alpha.test")
    card_deposit(client, D("200.00"))
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal = request(client, sandbox, amount, method="card", destination={})
    withdrawal.refresh_from_db()

    assert withdrawal.status == status
    assert withdrawal.psp_reference.startswith("po_")
    assert steps(withdrawal)[:4] == ["requested", "approved", "sent", "paid" if status == Status.PAID else "failed"]
    held = LedgerAccount.objects.get(pk=withdrawal.hold.account_id).held
    assert held == D("0")
    assert ledger.ledger_problems() == []


# Found in review ----------------------------------------------------------------------------------


def test_a_withdrawal_staff_make_for_a_client_always_meets_a_checker(carl, methods, fiona):
    """Auto-approval is for the client's own requests: otherwise one officer could pay anyone out alone."""
    policy_set(auto_approve_limit=D("1000"))
    made_by_staff = request(carl, methods, "100.00", actor=fiona)
    assert made_by_staff.status == Status.PENDING_REVIEW
    assert not made_by_staff.auto_approved
    with pytest.raises(ApplicationError):
        services.withdrawal_approve(withdrawal=made_by_staff, actor=fiona)


def test_a_card_remainder_below_the_smallest_card_withdrawal_does_not_block_other_methods(carl, methods):
    card_deposit(carl, D("100.00"))
    request(carl, methods, "95.00", method="card", destination={})
    assert return_to_source_owed(carl, "USD") == D("0")  # 5.00 left, the card minimum is 10.00
    assert request(carl, methods, "200.00").status == Status.PENDING_REVIEW
