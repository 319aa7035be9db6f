"""PSP webhooks at /payments/webhooks/<method>/: signatures, storage, duplicates, order, races."""

from __future__ import annotations

import json
import threading
import time
import uuid
from decimal import Decimal as D

import pytest
from django.db import connection, connections
from django_tenants.utils import tenant_context

from crm.models import Client
from payments import ledger
from payments.adapters import signatures
from payments.deposits import services
from payments.models import Deposit, LedgerAccount, LedgerTransaction, WebhookDelivery, Withdrawal
from tests import factories
from tests.payments.deposit_helpers import card_event, methods, post_webhook, start, stripe_signed
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db
Outcome = WebhookDelivery.Outcome


@pytest.fixture
def setup(in_alpha, alpha, carl):
    found = methods()
    client = factories.kyc_approved(Client.objects.get(user=carl))
    return {"card": found["card"], "bitcoin": found["bitcoin"], "client": client, "http": tenant_web_client(alpha)}


def wallet(client, currency="USD") -> D:
    account = LedgerAccount.objects.filter(client=client, kind=LedgerAccount.Kind.CLIENT_WALLET, currency=currency)
    return account.first().balance if account.exists() else D("0")


def deliver(setup, payload, *, method=None, timestamp=None, headers=None):
    method = method or setup["card"]
    body, signed = stripe_signed(method, payload, timestamp=timestamp)
    return post_webhook(setup["http"], method, body, {**signed, **(headers or {})})


# --- signatures -------------------------------------------------------------------------------


def test_a_signed_success_completes_the_deposit_and_is_stored(setup, django_capture_on_commit_callbacks):
    deposit = start(setup["client"])
    response = deliver(setup, card_event(deposit, event_id="evt_ok"), headers={"Authorization": "Bearer x"})
    assert response.status_code == 200
    assert response.json()["outcome"] == "processed"
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.COMPLETED and deposit.source_label == "Visa •••• 4242"
    assert wallet(setup["client"]) == D("97.20")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.event_id, delivery.deposit, delivery.signature_valid) == (
        Outcome.PROCESSED, "evt_ok", deposit, True,
    )  # fmt: skip
    assert delivery.event_type == "payment_intent.succeeded"
    assert json.loads(delivery.body)["id"] == "evt_ok"
    assert "Stripe-Signature" in delivery.headers
    assert not {"Authorization", "Cookie"} & set(delivery.headers)


def _refused(setup, response, code: str):
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    delivery = WebhookDelivery.objects.latest("id")
    assert delivery.outcome == Outcome.REJECTED and not delivery.signature_valid
    assert not LedgerTransaction.objects.exists()
    assert wallet(setup["client"]) == D("0")


def test_a_wrong_secret_is_refused(setup):
    deposit = start(setup["client"])
    body = json.dumps(card_event(deposit)).encode()
    header = signatures.stripe_signature("whsec_not_ours", body)
    _refused(setup, post_webhook(setup["http"], setup["card"], body, {"Stripe-Signature": header}), "bad_signature")


def test_a_tampered_body_is_refused(setup):
    deposit = start(setup["client"])
    body, headers = stripe_signed(setup["card"], card_event(deposit, amount_minor=100))
    tampered = body.replace(b'"amount_received": 100', b'"amount_received": 999900')
    assert tampered != body
    _refused(setup, post_webhook(setup["http"], setup["card"], tampered, headers), "bad_signature")


@pytest.mark.parametrize("age", [301, -301])
def test_a_stale_or_future_timestamp_is_refused(setup, age):
    deposit = start(setup["client"])
    _refused(setup, deliver(setup, card_event(deposit), timestamp=int(time.time()) - age), "bad_signature")
    assert "300 s" in WebhookDelivery.objects.get().detail


def test_a_missing_signature_header_is_refused(setup):
    deposit = start(setup["client"])
    body = json.dumps(card_event(deposit)).encode()
    _refused(setup, post_webhook(setup["http"], setup["card"], body, {}), "bad_signature")
    assert WebhookDelivery.objects.get().detail == "The signature header is missing."


@pytest.mark.parametrize(
    "header",
    ["t=123", "v1=abc", "t=abc,v1=abc", "garbage", ""],
)
def test_malformed_signature_headers_are_refused(setup, header):
    deposit = start(setup["client"])
    body = json.dumps(card_event(deposit)).encode()
    _refused(setup, post_webhook(setup["http"], setup["card"], body, {"Stripe-Signature": header}), "bad_signature")


def test_any_of_several_v1_signatures_may_match_as_during_secret_rotation(setup):
    deposit = start(setup["client"])
    body = json.dumps(card_event(deposit)).encode()
    t = int(time.time())
    good = signatures.stripe_signature(setup["card"].webhook_secret, body, timestamp=t).split(",v1=")[1]
    old = signatures.stripe_signature("whsec_old", body, timestamp=t).split(",v1=")[1]
    response = post_webhook(setup["http"], setup["card"], body, {"Stripe-Signature": f"t={t},v1={old},v1={good}"})
    assert response.status_code == 200
    assert Deposit.objects.get().status == Deposit.Status.COMPLETED


def test_signed_nonsense_is_a_bad_payload(setup):
    body = b"not json"
    headers = {"Stripe-Signature": signatures.stripe_signature(setup["card"].webhook_secret, body)}
    response = post_webhook(setup["http"], setup["card"], body, headers)
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_payload"
    delivery = WebhookDelivery.objects.get()
    assert delivery.outcome == Outcome.REJECTED and delivery.body == "not json"


def test_only_post_is_accepted(setup):
    assert setup["http"].get("/payments/webhooks/card/").status_code == 405


# --- unknown targets ----------------------------------------------------------------------------


def test_an_unknown_payment_is_a_404_and_is_stored(setup):
    deposit = start(setup["client"])
    payload = card_event(deposit)
    payload["data"]["object"]["metadata"]["deposit"] = str(uuid.uuid4())
    response = deliver(setup, payload)
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_payment"
    assert WebhookDelivery.objects.get().outcome == Outcome.REJECTED
    assert Deposit.objects.get().status == Deposit.Status.PENDING


def test_a_deposit_of_another_method_is_unknown_to_this_one(setup):
    deposit = start(setup["client"], "bank-wire", D("500"))
    response = deliver(setup, card_event(deposit))
    assert response.status_code == 404
    assert Deposit.objects.get().status == Deposit.Status.PENDING


def test_an_unknown_method_is_a_404(setup):
    response = setup["http"].post("/payments/webhooks/nope/", data=b"{}", content_type="application/json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_method"
    assert WebhookDelivery.objects.get().provider == "nope"


def test_bank_wires_take_no_webhooks(setup):
    wire = methods()["bank-wire"]
    response = setup["http"].post(f"/payments/webhooks/{wire.code}/", data=b"{}", content_type="application/json")
    assert response.status_code == 400


def test_a_currency_other_than_the_deposits_is_refused(setup):
    deposit = start(setup["client"])
    payload = card_event(deposit)
    payload["data"]["object"]["currency"] = "eur"
    response = deliver(setup, payload)
    assert response.status_code == 400 and response.json()["error"]["code"] == "currency_mismatch"
    assert Deposit.objects.get().status == Deposit.Status.PENDING
    assert WebhookDelivery.objects.get().outcome == Outcome.REJECTED


def test_events_we_do_not_act_on_are_stored_and_acknowledged(setup):
    response = deliver(setup, {"id": "evt_x", "type": "charge.refund.updated", "data": {"object": {}}})
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    assert WebhookDelivery.objects.get().outcome == Outcome.IGNORED


# --- duplicates and order -----------------------------------------------------------------------


def test_the_same_event_twice_is_a_no_op(setup):
    deposit = start(setup["client"])
    payload = card_event(deposit, event_id="evt_twice")
    first, second = deliver(setup, payload), deliver(setup, payload)
    assert first.status_code == second.status_code == 200
    assert second.json()["outcome"] == "duplicate"
    assert list(WebhookDelivery.objects.order_by("id").values_list("outcome", flat=True)) == ["processed", "duplicate"]
    assert LedgerTransaction.objects.count() == 1
    assert wallet(setup["client"]) == D("97.20")


def test_a_late_failure_after_success_changes_nothing(setup):
    deposit = start(setup["client"])
    deliver(setup, card_event(deposit))
    late = deliver(setup, card_event(deposit, kind="failed"))
    assert late.status_code == 200 and "nothing changed" in late.json()["detail"]
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.COMPLETED and deposit.failure_reason == ""
    assert wallet(setup["client"]) == D("97.20")


def test_a_second_success_with_another_event_id_posts_nothing_more(setup):
    deposit = start(setup["client"])
    deliver(setup, card_event(deposit))
    again = deliver(setup, card_event(deposit))
    assert again.status_code == 200 and again.json()["detail"] == "Already completed: nothing changed."
    assert LedgerTransaction.objects.count() == 1


def test_a_success_after_a_failure_credits_the_money_that_arrived(setup):
    deposit = start(setup["client"])
    deliver(setup, card_event(deposit, kind="failed"))
    assert Deposit.objects.get().status == Deposit.Status.FAILED
    deliver(setup, card_event(deposit))
    assert Deposit.objects.get().status == Deposit.Status.COMPLETED
    assert wallet(setup["client"]) == D("97.20")


# --- the crypto simulator's signature -----------------------------------------------------------


def _chain_event(deposit, *, kind="transaction.confirmed", created=None, confirmations=3):
    return {
        "id": "evt_" + uuid.uuid4().hex[:12],
        "type": kind,
        "created": int(time.time()) if created is None else created,
        "data": {
            "order_id": str(deposit.public_id),
            "address": deposit.crypto_address,
            "txid": uuid.uuid4().hex * 2,
            "amount": "0.01000000",
            "currency": "BTC",
            "confirmations": confirmations,
        },
    }


def _post_chain(setup, payload, *, secret=None):
    body = json.dumps(payload).encode()
    header = signatures.body_signature(secret or setup["bitcoin"].webhook_secret, body)
    return post_webhook(setup["http"], setup["bitcoin"], body, {"X-Sim-Signature": header})


def test_the_chain_simulator_signs_the_raw_body(setup):
    deposit = start(setup["client"], "bitcoin", D("0.01"), "BTC")
    assert _post_chain(setup, _chain_event(deposit), secret="wrong").status_code == 400
    stale = _chain_event(deposit, created=int(time.time()) - 600)
    assert _post_chain(setup, stale).status_code == 400
    assert Deposit.objects.get().status == Deposit.Status.PENDING
    assert _post_chain(setup, _chain_event(deposit)).status_code == 200
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.COMPLETED and deposit.confirmations == 3
    assert wallet(setup["client"], "BTC") == D("0.00995")


def test_an_older_confirmation_count_arriving_late_does_not_go_backwards(setup):
    deposit = start(setup["client"], "bitcoin", D("0.01"), "BTC")
    _post_chain(setup, _chain_event(deposit, kind="transaction.pending", confirmations=2))
    _post_chain(setup, _chain_event(deposit, kind="transaction.pending", confirmations=1))
    deposit.refresh_from_db()
    assert (deposit.status, deposit.confirmations) == (Deposit.Status.CONFIRMING, 2)


# --- payouts ------------------------------------------------------------------------------------


def _withdrawal(client, method, reference="po-ref-1") -> Withdrawal:
    wallet_account = ledger.wallet_for(client, "USD")
    services.deposit_confirm(start(client), amount=D("100.00"), actor_label="test")
    hold = ledger.hold_place(wallet_account, D("50.00"), reference=f"hold:{reference}")
    return Withdrawal.objects.create(
        client=client,
        method=method,
        currency="USD",
        amount=D("50.00"),
        hold=hold,
        payout_reference=reference,
        status=Withdrawal.Status.PROCESSING,
        destination={"deposit": "x", "card": "Visa •••• 4242"},
    )


def _payout_event(reference, *, paid=True, event_id="evt_payout"):
    return {
        "id": event_id,
        "type": "payout.paid" if paid else "payout.failed",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": "po_123",
                "object": "payout",
                "amount": 5000,
                "currency": "usd",
                "failure_message": None if paid else "Account closed",
                "metadata": {"payout_reference": reference},
            }
        },
    }


def test_payout_webhooks_go_to_the_withdrawals_service_once(setup, monkeypatch):
    withdrawals = pytest.importorskip("payments.withdrawals.services")
    if not hasattr(withdrawals, "withdrawal_payout_settled"):
        pytest.skip("payments.withdrawals.services.withdrawal_payout_settled is not there yet")
    calls = []
    monkeypatch.setattr(withdrawals, "withdrawal_payout_settled", lambda w, **kwargs: calls.append((w.pk, kwargs)))
    withdrawal = _withdrawal(setup["client"], setup["card"])
    assert deliver(setup, _payout_event("po-ref-1")).status_code == 200
    assert deliver(setup, _payout_event("po-ref-1")).json()["outcome"] == "duplicate"
    assert calls == [
        (withdrawal.pk, {"paid": True, "reason": "", "psp_reference": "po_123", "actor_label": "psp:sandbox_card"})
    ]
    assert deliver(setup, _payout_event("unknown-ref", event_id="evt_other")).status_code == 404


def test_a_payout_webhook_settles_the_withdrawal_for_real(setup):
    withdrawals = pytest.importorskip("payments.withdrawals.services")
    if not hasattr(withdrawals, "withdrawal_payout_settled"):
        pytest.skip("payments.withdrawals.services.withdrawal_payout_settled is not there yet")
    withdrawal = _withdrawal(setup["client"], setup["card"])
    assert deliver(setup, _payout_event("po-ref-1", paid=False)).status_code == 200
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.FAILED
    assert wallet(setup["client"]) == D("97.20")  # the hold is released, nothing paid out


# --- a race of identical deliveries -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_same_webhook_delivered_on_several_connections_at_once_credits_once(alpha):
    from tests.tenants.web import web_client

    with tenant_context(alpha):
        card = methods()["card"]
        client = factories.kyc_approved(Client.objects.get(user=factories.client_user("racer@alpha.test")))
        deposit = start(client)
        body, headers = stripe_signed(card, card_event(deposit, event_id="evt_race"))
    workers = 6
    barrier = threading.Barrier(workers)
    answers: list[tuple[int, str]] = []

    def attempt():
        try:
            http = web_client("alpha.localhost")
            barrier.wait()
            response = post_webhook(http, card, body, headers)
            answers.append((response.status_code, response.json().get("outcome", "")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    connection.set_tenant(alpha)
    assert sorted(answers) == [(200, "duplicate")] * (workers - 1) + [(200, "processed")]
    assert LedgerTransaction.objects.filter(reference=f"deposit:{deposit.public_id}").count() == 1
    assert wallet(client) == D("97.20")
    assert WebhookDelivery.objects.filter(outcome=Outcome.PROCESSED).count() == 1
    assert Deposit.objects.get(pk=deposit.pk).events.filter(status="completed").count() == 1
    assert ledger.ledger_problems() == []
