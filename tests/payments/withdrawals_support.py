"""Shared by the withdrawal tests: funded clients, finance staff, a fake PSP that records payouts."""

from __future__ import annotations

from decimal import Decimal as D

from django.utils import timezone

from crm.models import Client
from payments import ledger
from payments.adapters.base import PaymentAdapter, PayoutPermanentError, PayoutTransientError
from payments.ledger import Line
from payments.models import Deposit, LedgerAccount, PaymentMethod, PaymentPolicy
from tests import factories

IBAN = "DE89370400440532013000"
BIC = "COBADEFFXXX"
BANK = {"iban": IBAN, "bic": BIC, "holder": "Carl Client"}
BTC_ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
ETH_ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def client_with_kyc(email: str, *, kyc: str = Client.KycStatus.APPROVED, risk: str = Client.RiskLevel.LOW) -> Client:
    user = factories.client_user(email)
    client = Client.objects.select_related("user").get(user=user)
    client.kyc_status, client.risk_level = kyc, risk
    client.save(update_fields=["kyc_status", "risk_level"])
    return client


def finance(email: str):
    return factories.staff_user(email, roles=["finance"])


def fund(client: Client, amount: D, currency: str = "USD", *, reference: str = "") -> LedgerAccount:
    """Put money in the client's wallet as a bank-wire deposit would."""
    wallet = ledger.wallet_for(client, currency)
    ledger.transaction_post(
        kind="deposit",
        reference=reference or f"test-funding:{client.pk}:{currency}:{amount}:{timezone.now().timestamp()}",
        lines=[
            Line(ledger.system_account(ledger.Kind.PSP_CLEARING, currency, "bank-wire"), -amount),
            Line(wallet, amount),
        ],
        client=client,
    )
    wallet.refresh_from_db()
    return wallet


def card_deposit(client: Client, amount: D, currency: str = "USD", *, label: str = "Visa •••• 4242") -> Deposit:
    """A completed card deposit (and its money in the wallet), for return-to-source."""
    card = PaymentMethod.objects.get(code="card")
    deposit = Deposit.objects.create(
        client=client,
        method=card,
        currency=currency,
        amount=amount,
        status=Deposit.Status.COMPLETED,
        source_label=label,
        completed_at=timezone.now(),
    )
    wallet = ledger.wallet_for(client, currency)
    ledger.transaction_post(
        kind="deposit",
        reference=f"deposit:{deposit.public_id}",
        lines=[Line(ledger.system_account(ledger.Kind.PSP_CLEARING, currency, "card"), -amount), Line(wallet, amount)],
        client=client,
    )
    return deposit


def policy_set(**values) -> PaymentPolicy:
    policy = PaymentPolicy.current()
    for name, value in values.items():
        setattr(policy, name, value)
    policy.save()
    return policy


class FakePayouts(PaymentAdapter):
    """A PSP that records every payout call; `fail_transient` times it is down, `refuse` refuses for good."""

    provider = "fake_payouts"
    label = "Fake payouts"
    calls: list[str] = []
    fail_transient = 0
    refuse = ""

    def send_payout(self, withdrawal) -> str:
        FakePayouts.calls.append(withdrawal.payout_reference)
        if FakePayouts.fail_transient > 0:
            FakePayouts.fail_transient -= 1
            raise PayoutTransientError("timeout")
        if FakePayouts.refuse:
            raise PayoutPermanentError(FakePayouts.refuse)
        return f"fake-{withdrawal.payout_reference}"

    @classmethod
    def reset(cls) -> None:
        cls.calls, cls.fail_transient, cls.refuse = [], 0, ""
