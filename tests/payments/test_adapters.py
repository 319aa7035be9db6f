"""The adapters: registry, signatures, wire references, addresses, and payouts through the simulators."""

from __future__ import annotations

import time
from decimal import Decimal as D

import bech32
import pytest
from django_tenants.utils import tenant_context

from crm.models import Client
from payments import ledger
from payments.adapters import signatures
from payments.adapters.bank_wire import (
    GENERATED_ALPHABET,
    BankWireAdapter,
    wire_reference_display,
    wire_reference_for,
    wire_reference_is_valid,
    wire_reference_new,
    wire_references_in,
)
from payments.adapters.base import PayoutPermanentError, PayoutTransientError, SignatureError
from payments.adapters.crypto_sim import CryptoSimAdapter, bitcoin_address, eip55, ethereum_address
from payments.adapters.registry import ADAPTERS, UnknownProvider, adapter_for
from payments.adapters.sandbox_card import SandboxCardAdapter, luhn_valid
from payments.adapters.simulators import payout_fails
from payments.deposits import services
from payments.models import Deposit, PaymentMethod, SandboxPayout, WebhookDelivery, Withdrawal
from tests import factories
from tests.payments.deposit_helpers import methods, start

pytestmark = pytest.mark.django_db

# --- signatures (pure) --------------------------------------------------------------------------

SECRET = "whsec_test"
BODY = b'{"id":"evt_1","type":"payment_intent.succeeded"}'


def test_a_stripe_signature_verifies_and_returns_its_timestamp():
    header = signatures.stripe_signature(SECRET, BODY, timestamp=1_700_000_000)
    assert signatures.stripe_verify(SECRET, BODY, header, now=1_700_000_100) == 1_700_000_000


@pytest.mark.parametrize(
    ("secret", "body", "now", "message"),
    [
        ("whsec_other", BODY, 1_700_000_000, "No signature matches"),
        (SECRET, BODY + b" ", 1_700_000_000, "No signature matches"),
        (SECRET, BODY, 1_700_000_301, "more than 300 s"),
        (SECRET, BODY, 1_699_999_699, "more than 300 s"),
    ],
)
def test_stripe_signatures_fail_loudly(secret, body, now, message):
    header = signatures.stripe_signature(SECRET, BODY, timestamp=1_700_000_000)
    with pytest.raises(SignatureError, match=message):
        signatures.stripe_verify(secret, body, header, now=now)


def test_the_tolerance_edge_is_accepted():
    header = signatures.stripe_signature(SECRET, BODY, timestamp=1_700_000_000)
    assert signatures.stripe_verify(SECRET, BODY, header, now=1_700_000_300)


def test_no_secret_configured_refuses_everything():
    header = signatures.stripe_signature("", BODY)
    with pytest.raises(SignatureError, match="No webhook secret"):
        signatures.stripe_verify("", BODY, header)


def test_a_body_signature_covers_every_byte():
    header = signatures.body_signature(SECRET, BODY)
    signatures.body_verify(SECRET, BODY, header)
    with pytest.raises(SignatureError):
        signatures.body_verify(SECRET, BODY.replace(b"evt_1", b"evt_2"), header)
    with pytest.raises(SignatureError, match="missing"):
        signatures.body_verify(SECRET, BODY, "")


# --- wire references ----------------------------------------------------------------------------


def test_the_iso_11649_example_checks_out():
    assert wire_reference_for("539007547034") == "RF18539007547034"


def test_a_new_reference_is_valid_letters_in_groups_of_four():
    reference = wire_reference_new()
    assert wire_reference_is_valid(reference)
    assert set(reference[4:]) <= set(GENERATED_ALPHABET)
    assert wire_reference_is_valid("RF85K7QM9XT2")  # the first format, with digits, is still read
    assert wire_reference_is_valid(wire_reference_display(reference).lower())
    assert len(wire_reference_display(reference).split()) == 3


@pytest.mark.parametrize("attempt", range(20))
def test_every_single_mistyped_letter_or_check_digit_is_caught(attempt):
    reference = wire_reference_new()
    for position in range(2, len(reference)):
        for char in "0123456789" if position < 4 else GENERATED_ALPHABET:
            if char != reference[position]:
                typo = reference[:position] + char + reference[position + 1 :]
                assert not wire_reference_is_valid(typo), typo


@pytest.mark.parametrize("attempt", range(20))
def test_swapped_neighbours_are_caught(attempt):
    reference = wire_reference_new()
    for position in range(2, len(reference) - 1):
        swapped = reference[:position] + reference[position + 1] + reference[position] + reference[position + 2 :]
        assert swapped == reference or not wire_reference_is_valid(swapped), swapped


def test_references_are_found_in_a_remittance_however_spaced():
    reference = wire_reference_new()
    text = f"Invoice 42 / ref {wire_reference_display(reference).lower()} thank you RF00XXXXXXXX"
    assert wire_references_in(text) == [reference]
    assert wire_references_in("no reference at all") == []


# --- addresses and cards ------------------------------------------------------------------------


def test_bitcoin_addresses_are_real_bech32_segwit_v0():
    address = bitcoin_address()
    assert address.startswith("bc1q")
    version, program = bech32.decode("bc", address)
    assert version == 0 and len(program) == 20


def test_ethereum_addresses_carry_the_eip55_checksum():
    assert eip55("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed") == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    assert eip55("0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359") == "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
    address = ethereum_address()
    assert eip55(address) == address and len(address) == 42


def test_test_cards_pass_luhn_and_a_typo_does_not():
    assert luhn_valid("4242424242424242") and luhn_valid("4000000000000002")
    assert not luhn_valid("4242424242424243")


@pytest.mark.parametrize(
    ("amount", "fails"),
    [(D("100.13"), True), (D("0.13"), True), (D("100.130"), True), (D("100.12"), False), (D("13"), False),
     (D("0.00000013"), False)],
)  # fmt: skip
def test_sandbox_payouts_fail_for_amounts_ending_in_13_cents(amount, fails):
    assert payout_fails(amount) is fails


# --- registry -----------------------------------------------------------------------------------


@pytest.fixture
def setup(in_alpha, carl):
    return {"methods": methods(), "client": factories.kyc_approved(Client.objects.get(user=carl))}


def test_every_default_method_has_its_adapter(setup):
    kinds = {code: type(adapter_for(method)) for code, method in setup["methods"].items()}
    assert kinds == {
        "card": SandboxCardAdapter,
        "bank-wire": BankWireAdapter,
        "bitcoin": CryptoSimAdapter,
        "usdt-erc20": CryptoSimAdapter,
    }
    assert set(ADAPTERS) == {"sandbox_card", "bank_wire", "crypto_sim"}


def test_an_unregistered_provider_is_a_clear_error(setup):
    with pytest.raises(UnknownProvider, match="acme_pay"):
        adapter_for(PaymentMethod(code="acme", provider="acme_pay"))


def test_the_bank_details_come_from_the_methods_settings(setup):
    details = adapter_for(setup["methods"]["bank-wire"]).bank_details()
    assert details == {
        "beneficiary": "Client money account",
        "bank": "Sandbox Bank plc",
        "iban": "GB33BUKB20201555555555",
        "bic": "BUKBGB22",
    }


# --- payouts ------------------------------------------------------------------------------------


def _withdrawal(client, method, amount=D("50.00"), *, reference="po-1", destination=None) -> Withdrawal:
    services.deposit_confirm(start(client, amount=D("1000.00")), amount=D("1000.00"), actor_label="test")
    hold = ledger.hold_place(ledger.wallet_for(client, "USD"), amount, reference=f"hold:{reference}")
    return Withdrawal.objects.create(
        client=client,
        method=method,
        currency="USD",
        amount=amount,
        hold=hold,
        payout_reference=reference,
        status=Withdrawal.Status.PROCESSING,
        destination=destination or {"card": "Visa •••• 4242"},
    )


@pytest.fixture
def settled(monkeypatch):
    """What the sandbox's payout webhooks told the withdrawals service."""
    withdrawals = pytest.importorskip("payments.withdrawals.services")
    if not hasattr(withdrawals, "withdrawal_payout_settled"):
        pytest.skip("payments.withdrawals.services.withdrawal_payout_settled is not there yet")
    calls = []
    monkeypatch.setattr(withdrawals, "withdrawal_payout_settled", lambda w, **kwargs: calls.append((w.pk, kwargs)))
    return calls


def test_a_sandbox_payout_is_paid_once_per_reference(setup, settled, django_capture_on_commit_callbacks):
    card = setup["methods"]["card"]
    withdrawal = _withdrawal(setup["client"], card)
    with django_capture_on_commit_callbacks(execute=True):
        first = adapter_for(card).send_payout(withdrawal)
        second = adapter_for(card).send_payout(withdrawal)
    assert first == second and first.startswith("po_")
    assert SandboxPayout.objects.get().amount == D("50.00")
    assert settled == [
        (withdrawal.pk, {"paid": True, "reason": "", "psp_reference": first, "actor_label": "psp:sandbox_card"})
    ]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.event_type, delivery.withdrawal) == ("processed", "payout.paid", withdrawal)


def test_a_sandbox_payout_ending_in_13_fails_by_webhook(setup, settled, django_capture_on_commit_callbacks):
    card = setup["methods"]["card"]
    withdrawal = _withdrawal(setup["client"], card, D("20.13"))
    with django_capture_on_commit_callbacks(execute=True):
        adapter_for(card).send_payout(withdrawal)
    assert settled[0][1]["paid"] is False
    assert "amounts ending in .13" in settled[0][1]["reason"]


def test_a_simulated_outage_is_a_transient_error(setup):
    card = setup["methods"]["card"]
    card.settings = {"simulate_outage": True}
    card.save()
    with pytest.raises(PayoutTransientError):
        adapter_for(card).send_payout(_withdrawal(setup["client"], card))
    assert not SandboxPayout.objects.exists()


def test_a_crypto_payout_gets_a_txid_and_needs_an_address(setup, settled, django_capture_on_commit_callbacks):
    usdt = setup["methods"]["usdt-erc20"]
    with pytest.raises(PayoutPermanentError):
        adapter_for(usdt).send_payout(_withdrawal(setup["client"], usdt, reference="po-no-address"))
    withdrawal = _withdrawal(
        setup["client"], usdt, reference="po-eth", destination={"address": ethereum_address(), "network": "ethereum"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        txid = adapter_for(usdt).send_payout(withdrawal)
    assert txid.startswith("0x") and len(txid) == 66
    assert settled == [
        (withdrawal.pk, {"paid": True, "reason": "", "psp_reference": txid, "actor_label": "psp:crypto_sim"})
    ]


def test_a_bank_wire_payout_is_recorded_under_its_reference_for_reconciliation(setup):
    wire = setup["methods"]["bank-wire"]
    with pytest.raises(PayoutPermanentError, match="IBAN"):
        adapter_for(wire).send_payout(_withdrawal(setup["client"], wire, reference="po-no-iban"))
    withdrawal = _withdrawal(setup["client"], wire, reference="po-wire", destination={"iban": "DE89370400440532013000"})
    assert adapter_for(wire).send_payout(withdrawal) == "po-wire"
    assert adapter_for(wire).send_payout(withdrawal) == "po-wire"
    assert not WebhookDelivery.objects.exists()


def test_the_simulators_sign_what_they_send(setup):
    card = adapter_for(setup["methods"]["card"])
    headers = card.webhook_headers(BODY, now=time.time())
    assert signatures.stripe_verify(setup["methods"]["card"].webhook_secret, BODY, headers["Stripe-Signature"])


def test_a_beta_deposit_cannot_be_reached_from_alpha(setup, beta):
    with tenant_context(beta):
        methods()
        client = factories.kyc_approved(Client.objects.get(user=factories.client_user("bea@beta.test")))
        beta_deposit = start(client)
    assert not Deposit.objects.filter(public_id=beta_deposit.public_id).exists()
