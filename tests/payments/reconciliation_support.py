"""Shared by the reconciliation tests: deposits and payouts in the states statements meet, and the fixtures.

The fixture files carry fixed references, so the deposits and withdrawals here
are made with those references rather than through the portal flows.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from unittest import mock

from crm.models import Client
from payments import ledger
from payments.deposits.services import deposit_confirm
from payments.ledger import Line
from payments.models import Deposit, PaymentMethod, StatementImport, Withdrawal
from payments.reconciliation.services import statement_import
from payments.withdrawals.services import withdrawal_payout_settled
from tests.factories import ClientFactory

FIXTURES = Path(__file__).parent / "fixtures"
# Valid ISO 11649 references (as payments.adapters.bank_wire makes them), written in the fixture files.
REF_A = "RF85K7QM9XT2"
REF_B = "RF85HW4PZ8NC"
REF_C = "RF11T3RB6YJA"
REF_D = "RF69M9DX2QEV"
PAYOUT_REF = "wd-5f0c9a4e2b7d4c1e8a3f6b2d9e0c1a7b"
MARCH_2 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MARCH_3 = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@contextmanager
def at(moment: datetime):
    """Everything that asks django.utils.timezone for the time (ledger, services, auto_now) gets `moment`."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def method(code: str) -> PaymentMethod:
    return PaymentMethod.objects.get(code=code)


def client(name: str = "Carl") -> Client:
    return ClientFactory(first_name=name, last_name="Client")


def wire_deposit(who: Client, amount: str, currency: str = "EUR", reference: str = REF_A, **fields) -> Deposit:
    """A bank-wire deposit waiting for the client's wire (as deposit_start leaves it)."""
    return Deposit.objects.create(
        client=who,
        method=method("bank-wire"),
        currency=currency,
        amount=D(amount),
        fee=D(0),
        status=fields.pop("status", Deposit.Status.PENDING),
        wire_reference=reference,
        **fields,
    )


def card_deposit(who: Client, amount: str, psp_reference: str, currency: str = "USD") -> Deposit:
    """A card deposit the sandbox PSP confirmed (completed now: use inside `at(...)` for a given day)."""
    deposit = Deposit.objects.create(
        client=who,
        method=method("card"),
        currency=currency,
        amount=D(amount),
        fee=D(0),
        status=Deposit.Status.PENDING,
        psp_reference=psp_reference,
    )
    return deposit_confirm(deposit, amount=D(amount), actor_label="psp:sandbox_card")


def payout(
    who: Client,
    amount: str,
    fee: str,
    currency: str = "EUR",
    *,
    reference: str = PAYOUT_REF,
    code: str = "bank-wire",
    psp_reference: str = "",
    status: str = Withdrawal.Status.PROCESSING,
) -> Withdrawal:
    """A withdrawal sent for payment: the client's funds held, the payout on its way."""
    wallet = ledger.wallet_for(who, currency)
    ledger.transaction_post(
        kind="deposit",
        reference=f"test-funding:{reference}",
        lines=[Line(ledger.system_account(ledger.Kind.SUSPENSE, currency), -D(amount)), Line(wallet, D(amount))],
        client=who,
    )
    hold = ledger.hold_place(wallet, D(amount), reference=f"hold:{reference}")
    return Withdrawal.objects.create(
        client=who,
        method=method(code),
        currency=currency,
        amount=D(amount),
        fee=D(fee),
        status=status,
        destination={"iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "holder": str(who)},
        hold=hold,
        payout_reference=reference,
        psp_reference=psp_reference or reference,
    )


def card_payout_paid(who: Client, amount: str, fee: str, psp_reference: str, currency: str = "USD") -> Withdrawal:
    withdrawal = payout(
        who, amount, fee, currency, reference=f"wd-{psp_reference}", code="card", psp_reference=psp_reference
    )
    return withdrawal_payout_settled(withdrawal, paid=True, actor_label="psp:sandbox_card")


def import_fixture(name: str, fmt: str, *, actor=None, data: bytes | None = None, via=None) -> StatementImport:
    return statement_import(
        data=fixture(name) if data is None else data, filename=name, format=fmt, method=via, actor=actor
    )


def wallet_balance(who: Client, currency: str) -> D:
    return ledger.wallet_for(who, currency).balance
