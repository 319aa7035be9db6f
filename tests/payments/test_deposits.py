"""Deposits: validation, fees, postings, status moves, and the client's and finance's pages.

Personas (alpha): Carl is a client, Alice the owner, Fiona in finance, Sam in support
(payments_view only). Beta's Bob must see nothing of alpha.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord, OutboxEvent
from crm.models import Client
from payments import ledger
from payments.adapters.crypto_sim import chain_tick
from payments.deposits import services
from payments.models import (
    Deposit,
    LedgerAccount,
    LedgerTransaction,
    MethodCurrency,
    PaymentEvent,
    PaymentMethod,
    SandboxCheckout,
)
from tests import factories
from tests.payments.deposit_helpers import methods, start
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db
Status = Deposit.Status


@pytest.fixture
def cashier(in_alpha, carl):
    return {"methods": methods(), "client": factories.kyc_approved(Client.objects.get(user=carl)), "user": carl}


def wallet_balance(client, currency="USD") -> D:
    account = LedgerAccount.objects.filter(client=client, kind=LedgerAccount.Kind.CLIENT_WALLET, currency=currency)
    return account.first().balance if account.exists() else D("0")


def balance_of(code: str) -> D:
    return LedgerAccount.objects.get(code=code).balance


# --- validation, fees, limits ---------------------------------------------------------------


def test_the_fee_is_fixed_plus_percent_rounded_once(cashier):
    quote = services.deposit_quote(method=cashier["methods"]["card"], currency="USD", amount=D("100.00"))
    assert (quote.fee, quote.net) == (D("2.80"), D("97.20"))  # 0.30 + 2.5%
    # 0.30 + 2.5% of 33.33 = 1.13325 -> 1.13 (half-up, once)
    quote = services.deposit_quote(method=cashier["methods"]["card"], currency="USD", amount=D("33.33"))
    assert (quote.fee, quote.net) == (D("1.13"), D("32.20"))


@pytest.mark.parametrize(
    ("code", "currency", "amount", "field", "message"),
    [
        ("card", "USD", D("-5"), "amount", "Must be more than zero."),
        ("card", "USD", D("0"), "amount", "Must be more than zero."),
        ("card", "USD", D("10.001"), "amount", "At most 2 decimals in USD."),
        ("card", "XYZ", D("50"), "currency", "Card does not take this currency."),
        ("card", "BTC", D("1"), "currency", "Card does not take this currency."),
        ("card", "USD", D("9.99"), "amount", "At least 10.00 USD."),
        ("card", "USD", D("10000.01"), "amount", "At most 10000.00 USD."),
        ("bitcoin", "BTC", D("0.000000001"), "amount", "At most 8 decimals in BTC."),
    ],
)
def test_bad_amounts_get_a_clear_field_error_and_nothing_is_written(cashier, code, currency, amount, field, message):
    with pytest.raises(ApplicationError) as error:
        services.deposit_start(
            client=cashier["client"],
            method=cashier["methods"][code],
            currency=currency,
            amount=amount,
            actor=cashier["user"],
        )
    assert error.value.fields == {field: [message]}
    assert not Deposit.objects.exists()


def test_an_amount_that_does_not_cover_the_fee_is_refused(cashier):
    MethodCurrency.objects.filter(method__code="usdt-erc20").update(min_amount=D("1"))
    with pytest.raises(ApplicationError) as error:
        start(cashier["client"], "usdt-erc20", D("1"), "USDT")
    assert error.value.fields == {"amount": ["More than the fee of 1.005000 USDT."]}


def test_a_method_closed_for_deposits_is_refused(cashier):
    card = cashier["methods"]["card"]
    card.deposits_enabled = False
    card.save()
    with pytest.raises(ApplicationError) as error:
        start(cashier["client"])
    assert error.value.fields == {"method": ["Not available for deposits."]}


# --- the three kinds of start -----------------------------------------------------------------


def test_a_card_deposit_waits_at_the_sandbox_checkout(cashier):
    deposit = start(cashier["client"])
    assert deposit.status == Status.PENDING
    assert (deposit.amount, deposit.fee) == (D("100.00"), D("2.80"))
    checkout = SandboxCheckout.objects.get(token=deposit.psp_reference)
    assert deposit.checkout_url == f"/payments/sandbox/card/{checkout.token}/"
    assert checkout.merchant_reference == str(deposit.public_id)
    assert checkout.return_url == f"/portal/funds/deposit/{deposit.public_id}/"
    assert list(deposit.events.values_list("status", flat=True)) == ["created", "pending"]
    assert not LedgerTransaction.objects.exists()


def test_a_wire_deposit_gets_a_unique_reference_with_check_digits(cashier):
    from payments.adapters.bank_wire import wire_reference_is_valid

    first, second = start(cashier["client"], "bank-wire", D("500")), start(cashier["client"], "bank-wire", D("500"))
    assert first.wire_reference != second.wire_reference
    assert re.fullmatch(r"RF\d{2}[A-HJKMNP-Z]{8}", first.wire_reference)
    assert wire_reference_is_valid(first.wire_reference)
    assert first.fee == D("0")


def test_a_crypto_deposit_gets_its_own_address_and_the_methods_confirmations(cashier):
    btc = start(cashier["client"], "bitcoin", D("0.01"), "BTC")
    usdt = start(cashier["client"], "usdt-erc20", D("100"), "USDT")
    assert btc.crypto_address.startswith("bc1q") and btc.required_confirmations == 3
    assert re.fullmatch(r"0x[0-9a-fA-F]{40}", usdt.crypto_address) and usdt.required_confirmations == 6


def test_the_same_form_token_starts_one_deposit(cashier):
    card = cashier["methods"]["card"]
    first = services.deposit_start(
        client=cashier["client"], method=card, currency="USD", amount=D("50"), actor=None, request_token="tok-1"
    )
    again = services.deposit_start(
        client=cashier["client"], method=card, currency="USD", amount=D("50"), actor=None, request_token="tok-1"
    )
    assert again.pk == first.pk
    assert Deposit.objects.count() == 1


# --- confirming, failing, expiring ------------------------------------------------------------


def test_confirming_posts_clearing_wallet_and_fee_once_and_funds_the_client(
    cashier, django_capture_on_commit_callbacks
):
    client = cashier["client"]
    deposit = start(client)
    services.deposit_confirm(deposit, amount=D("100.00"), actor_label="psp:sandbox_card")
    services.deposit_confirm(deposit, amount=D("100.00"), actor_label="psp:sandbox_card")  # a repeat: no-op
    deposit.refresh_from_db()
    assert deposit.status == Status.COMPLETED and deposit.completed_at is not None
    txn = deposit.transaction
    assert txn.reference == f"deposit:{deposit.public_id}"
    assert sorted((line.account.code, line.amount) for line in txn.lines.select_related("account")) == [
        ("fees:USD", D("2.80")),
        ("psp_clearing:card:USD", D("-100.00")),
        (f"wallet:{client.pk}:USD", D("97.20")),
    ]
    assert LedgerTransaction.objects.count() == 1
    assert wallet_balance(client) == D("97.20")
    client.refresh_from_db()
    assert client.status == Client.Status.FUNDED
    completed = OutboxEvent.objects.get(topic="payments.deposit.completed")
    assert completed.payload == {
        "deposit_id": str(deposit.public_id),
        "client_id": client.pk,
        "amount": "100.00000000",
        "fee": "2.80000000",
        "net": "97.20000000",
        "currency": "USD",
        "method": "card",
    }
    assert ledger.ledger_problems() == []


def test_funded_never_moves_a_client_backwards(cashier):
    client = cashier["client"]
    Client.objects.filter(pk=client.pk).update(status=Client.Status.ACTIVE)
    services.deposit_confirm(start(client), amount=D("100.00"), actor_label="psp:sandbox_card")
    client.refresh_from_db()
    assert client.status == Client.Status.ACTIVE


def test_a_wire_for_another_amount_credits_what_arrived_and_says_so(cashier):
    deposit = start(cashier["client"], "bank-wire", D("500.00"))
    services.deposit_confirm(deposit, amount=D("480.00"), actor_label="reconciliation")
    deposit.refresh_from_db()
    assert (deposit.amount, deposit.requested_amount, deposit.fee) == (D("480.00"), D("500.00"), D("0"))
    assert wallet_balance(cashier["client"]) == D("480.00")
    assert (
        "Asked for 500.00 USD, received 480.00 USD; fee recomputed: 0.00 USD."
        in deposit.events.get(status="completed").note
    )


def test_a_card_payment_for_another_amount_recomputes_the_fee(cashier):
    deposit = start(cashier["client"], amount=D("100.00"))
    services.deposit_confirm(deposit, amount=D("200.00"), actor_label="psp:sandbox_card")
    deposit.refresh_from_db()
    assert (deposit.amount, deposit.fee, deposit.net) == (D("200.00"), D("5.30"), D("194.70"))
    assert balance_of("fees:USD") == D("5.30")


def test_failing_is_final_and_a_late_failure_changes_nothing(cashier):
    declined = services.deposit_fail(start(cashier["client"]), reason="Your card was declined.", actor_label="psp")
    assert declined.status == Status.FAILED and declined.failure_reason == "Your card was declined."
    assert OutboxEvent.objects.filter(topic="payments.deposit.failed").count() == 1

    paid = start(cashier["client"])
    services.deposit_confirm(paid, amount=D("100.00"), actor_label="psp")
    late = services.deposit_fail(paid, reason="late failure", actor_label="psp")
    assert late.status == Status.COMPLETED
    assert wallet_balance(cashier["client"]) == D("97.20")
    assert not paid.events.filter(status="failed").exists()


def test_money_arriving_after_a_failure_is_still_credited(cashier):
    deposit = services.deposit_fail(start(cashier["client"], "bank-wire", D("300")), reason="No wire", actor_label="x")
    services.deposit_confirm(deposit, amount=D("300.00"), actor_label="reconciliation")
    deposit.refresh_from_db()
    assert deposit.status == Status.COMPLETED and deposit.failure_reason == ""
    assert "arrived after the deposit was failed" in deposit.events.get(status="completed").note


def test_abandoned_card_checkouts_expire_and_wires_do_not(cashier):
    card, wire = start(cashier["client"]), start(cashier["client"], "bank-wire", D("500"))
    fresh = start(cashier["client"])
    Deposit.objects.filter(pk__in=[card.pk, wire.pk]).update(created_at=timezone.now() - timedelta(hours=2))
    assert services.deposits_expire_abandoned() == 1
    assert Deposit.objects.get(pk=card.pk).status == Status.EXPIRED
    assert Deposit.objects.get(pk=wire.pk).status == Status.PENDING
    assert Deposit.objects.get(pk=fresh.pk).status == Status.PENDING


# --- the client's pages -------------------------------------------------------------------------


def _start_through_the_form(http, method: PaymentMethod, amount: str, currency: str = "USD"):
    page = http.get("/portal/funds/deposit/")
    token = re.search(r'name="token" value="(\w+)"', page.content.decode())[1]
    data = {"method": method.pk, "currency": currency, "amount": amount, "token": token}
    review = http.post("/portal/funds/deposit/", data)
    assert review.status_code == 200, review.content.decode()
    return http.post("/portal/funds/deposit/", {**data, "confirm": "1"}), token, review


def test_the_client_sees_the_fee_before_confirming_and_a_double_submit_makes_one_deposit(cashier, alpha):
    http = tenant_web_client(alpha, cashier["user"])
    card = cashier["methods"]["card"]
    started, token, review = _start_through_the_form(http, card, "100.00")
    assert "Confirm your deposit" in review.content.decode()
    assert "2.80 USD" in review.content.decode() and "97.20 USD" in review.content.decode()
    again = http.post(
        "/portal/funds/deposit/",
        {"method": card.pk, "currency": "USD", "amount": "100.00", "token": token, "confirm": "1"},
    )
    deposit = Deposit.objects.get()
    assert started.status_code == again.status_code == 302
    assert started["Location"] == again["Location"] == deposit.checkout_url


def test_the_live_preview_shows_fee_and_net_or_the_error(cashier, alpha):
    http = tenant_web_client(alpha, cashier["user"])
    card = cashier["methods"]["card"]
    ok = http.get(
        "/portal/funds/deposit/preview/", {"method": card.pk, "currency": "USD", "amount": "100"}
    ).content.decode()
    assert "2.80 USD" in ok and "97.20 USD" in ok
    low = http.get(
        "/portal/funds/deposit/preview/", {"method": card.pk, "currency": "USD", "amount": "5"}
    ).content.decode()
    assert "At least 10.00 USD." in low
    btc = cashier["methods"]["bitcoin"]
    switched = http.get("/portal/funds/deposit/preview/", {"method": btc.pk, "currency": "USD"}).content.decode()
    assert '<option value="BTC" selected>BTC</option>' in switched and 'value="USD"' not in switched
    # Nothing was submitted: switching method must not accuse the empty amount, and the typed
    # amount input survives the redraw.
    assert "This field is required" not in switched
    assert 'hx-preserve="true"' in switched


def test_form_errors_are_shown_on_their_fields(cashier, alpha):
    http = tenant_web_client(alpha, cashier["user"])
    card = cashier["methods"]["card"]
    page = http.post("/portal/funds/deposit/", {"method": card.pk, "currency": "USD", "amount": "10.001", "token": "x"})
    assert page.status_code == 200
    assert "At most 2 decimals in USD." in page.content.decode()
    page = http.post("/portal/funds/deposit/", {"method": card.pk, "currency": "USD", "amount": "lots", "token": "x"})
    assert "Enter an amount such as 250.00." in page.content.decode()
    assert not Deposit.objects.exists()


def test_full_card_journey_through_the_pages(cashier, alpha, django_capture_on_commit_callbacks):
    http = tenant_web_client(alpha, cashier["user"])
    started, _, _ = _start_through_the_form(http, cashier["methods"]["card"], "250.00")
    checkout_url = started["Location"]
    anonymous = tenant_web_client(alpha)  # the PSP's page needs no sign-in at the broker
    page = anonymous.get(checkout_url).content.decode()
    assert "Pay Alpha" in page and "250.00 USD" in page and "4242 4242 4242 4242" in page
    with django_capture_on_commit_callbacks(execute=True):
        done = anonymous.post(
            checkout_url, {"card_number": "4242 4242 4242 4242", "expiry": "12 / 39", "cvc": "123", "action": "approve"}
        )
    deposit = Deposit.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/portal/funds/deposit/{deposit.public_id}/"
    assert deposit.status == Status.COMPLETED and deposit.source_label == "Visa •••• 4242"
    status_page = http.get(done["Location"]).content.decode()
    assert "Deposit completed" in status_page
    assert 'Your USD balance is now <strong class="amount">243.45 USD</strong>' in status_page  # 250 - 0.30 - 6.25
    assert wallet_balance(cashier["client"]) == D("243.45")


def test_a_declined_card_ends_failed_with_the_reason_and_a_way_to_try_again(
    cashier, alpha, django_capture_on_commit_callbacks
):
    http = tenant_web_client(alpha, cashier["user"])
    deposit = start(cashier["client"])
    with django_capture_on_commit_callbacks(execute=True):
        http.post(
            deposit.checkout_url,
            {"card_number": "4000000000000002", "expiry": "12/39", "cvc": "123", "action": "approve"},
        )
    deposit.refresh_from_db()
    assert deposit.status == Status.FAILED and deposit.failure_reason == "Your card was declined."
    page = http.get(f"/portal/funds/deposit/{deposit.public_id}/").content.decode()
    assert "Deposit failed" in page and "Your card was declined." in page and "Try again" in page
    assert not LedgerTransaction.objects.exists()
    # The checkout is done: a second try on it pays nothing.
    with django_capture_on_commit_callbacks(execute=True):
        http.post(
            deposit.checkout_url,
            {"card_number": "4242424242424242", "expiry": "12/39", "cvc": "123", "action": "approve"},
        )
    assert Deposit.objects.get(pk=deposit.pk).status == Status.FAILED
    assert "This payment was declined." in http.get(deposit.checkout_url).content.decode()


def test_the_checkout_refuses_cards_that_are_not_test_cards(cashier, alpha):
    deposit = start(cashier["client"])
    page = tenant_web_client(alpha).post(
        deposit.checkout_url,
        {"card_number": "4111 1111 1111 1112", "expiry": "01/20", "cvc": "12", "action": "approve"},
    )
    text = page.content.decode()
    assert "This card number is not valid." in text
    assert "This card has expired." in text
    assert "The CVC is the 3 or 4 digits" in text
    assert SandboxCheckout.objects.get().status == SandboxCheckout.Status.OPEN


def test_the_status_page_polls_until_final_then_reloads(cashier, alpha):
    http = tenant_web_client(alpha, cashier["user"])
    deposit = start(cashier["client"], "bank-wire", D("500"))
    page = http.get(f"/portal/funds/deposit/{deposit.public_id}/").content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert "GB33BUKB20201555555555" in page and deposit.wire_reference[:4] in page
    poll = http.get(f"/portal/funds/deposit/{deposit.public_id}/", headers={"HX-Request": "true"})
    assert poll.status_code == 200 and "Waiting for your payment" in poll.content.decode()
    services.deposit_confirm(deposit, amount=D("500"), actor_label="reconciliation")
    poll = http.get(f"/portal/funds/deposit/{deposit.public_id}/", headers={"HX-Request": "true"})
    assert poll["HX-Refresh"] == "true"
    assert 'hx-trigger="every 2s"' not in http.get(f"/portal/funds/deposit/{deposit.public_id}/").content.decode()


def test_crypto_confirmations_count_up_to_the_credit(cashier, alpha, django_capture_on_commit_callbacks):
    http = tenant_web_client(alpha, cashier["user"])
    deposit = start(cashier["client"], "bitcoin", D("0.01000000"), "BTC")
    with django_capture_on_commit_callbacks(execute=True):
        sent = http.post(f"/portal/funds/deposit/{deposit.public_id}/simulate-send/", {"amount": "0.012"})
    assert sent.status_code == 302
    deposit.refresh_from_db()
    assert (deposit.status, deposit.confirmations) == (Status.CONFIRMING, 0)
    for expected in (1, 2):
        with django_capture_on_commit_callbacks(execute=True):
            assert chain_tick() == 1
        deposit.refresh_from_db()
        assert (deposit.status, deposit.confirmations) == (Status.CONFIRMING, expected)
        assert f"{expected} of 3" in http.get(f"/portal/funds/deposit/{deposit.public_id}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        chain_tick()
    deposit.refresh_from_db()
    assert deposit.status == Status.COMPLETED and deposit.confirmations == 3
    # What was really sent (0.012) is credited, the 0.5 % fee taken from it.
    assert (deposit.amount, deposit.requested_amount, deposit.fee) == (D("0.012"), D("0.01"), D("0.00006"))
    assert wallet_balance(cashier["client"], "BTC") == D("0.01194")
    with django_capture_on_commit_callbacks(execute=True):
        assert chain_tick() == 0
    assert list(deposit.events.values_list("status", flat=True)) == [
        "created", "pending", "confirming", "confirming", "confirming", "confirming", "completed",
    ]  # fmt: skip


def test_simulate_sending_works_once_and_only_for_the_simulator(cashier, alpha, django_capture_on_commit_callbacks):
    http = tenant_web_client(alpha, cashier["user"])
    btc = start(cashier["client"], "bitcoin", D("0.01"), "BTC")
    with django_capture_on_commit_callbacks(execute=True):
        http.post(f"/portal/funds/deposit/{btc.public_id}/simulate-send/", {"amount": "0.01"})
    again = http.post(f"/portal/funds/deposit/{btc.public_id}/simulate-send/", {"amount": "0.01"})
    assert again.status_code == 400 and "already been sent" in again.content.decode()
    wire = start(cashier["client"], "bank-wire", D("500"))
    refused = http.post(f"/portal/funds/deposit/{wire.public_id}/simulate-send/", {"amount": "500"})
    assert refused.status_code == 400


def test_a_client_sees_only_their_own_deposits(cashier, alpha):
    other = factories.client_user("olga@alpha.test")
    theirs = start(factories.kyc_approved(Client.objects.get(user=other)))
    mine = start(cashier["client"])
    http = tenant_web_client(alpha, cashier["user"])
    assert http.get(f"/portal/funds/deposit/{theirs.public_id}/").status_code == 404
    listing = http.get("/portal/funds/deposit/history/").content.decode()
    assert str(mine.public_id) in listing and str(theirs.public_id) not in listing


# --- finance in /ops/ ----------------------------------------------------------------------------


@pytest.fixture
def fiona(in_alpha):
    return factories.staff_user("fiona@alpha.test", roles=["finance"])


@pytest.fixture
def sam(in_alpha):
    return factories.staff_user("sam@alpha.test", roles=["back_office"])


def test_ops_list_filters_by_status_method_currency_client_and_date(cashier, alpha, fiona):
    card = start(cashier["client"])
    wire = start(cashier["client"], "bank-wire", D("500"), "EUR")
    other = start(factories.kyc_approved(Client.objects.get(user=factories.client_user("zed@alpha.test"))))
    services.deposit_fail(other, reason="declined", actor_label="psp")
    http = tenant_web_client(alpha, fiona)

    def listed(**params):
        page = http.get("/ops/payments/deposits/", params, headers={"HX-Request": "true"}).content.decode()
        return {d for d in (card, wire, other) if str(d.public_id) in page}

    assert listed() == {card, wire, other}
    assert listed(status="failed") == {other}
    assert listed(method="bank-wire") == {wire}
    assert listed(currency="EUR") == {wire}
    assert listed(q="zed@") == {other}
    assert listed(q=wire.wire_reference) == {wire}
    assert listed(date_from=timezone.localdate().isoformat()) == {card, wire, other}
    assert listed(date_to=(timezone.localdate() - timedelta(days=1)).isoformat()) == set()


def test_ops_list_query_count_does_not_grow_with_the_rows(cashier, alpha, fiona, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    start(cashier["client"])
    http = tenant_web_client(alpha, fiona)
    with CaptureQueriesContext(connection) as one_row:
        http.get("/ops/payments/deposits/", headers={"HX-Request": "true"})
    for _ in range(6):
        start(
            factories.kyc_approved(Client.objects.get(user=factories.client_user(f"c{_}@alpha.test"))),
            "bank-wire",
            D("500"),
        )
    with django_assert_num_queries(len(one_row)):
        assert http.get("/ops/payments/deposits/", headers={"HX-Request": "true"}).status_code == 200


def test_finance_confirms_a_wire_by_hand_with_a_note_and_it_is_audited(cashier, alpha, fiona):
    deposit = start(cashier["client"], "bank-wire", D("500.00"))
    http = tenant_web_client(alpha, fiona)
    detail = http.get(f"/ops/payments/deposits/{deposit.public_id}/").content.decode()
    assert "Confirm the wire by hand" in detail
    refused = http.post(f"/ops/payments/deposits/{deposit.public_id}/confirm/", {"amount": "500.00", "note": ""})
    assert refused.status_code == 400 and not LedgerTransaction.objects.exists()
    done = http.post(
        f"/ops/payments/deposits/{deposit.public_id}/confirm/", {"amount": "499.50", "note": "Seen on Barclays 12 May"}
    )
    assert done.status_code == 302
    deposit.refresh_from_db()
    assert deposit.status == Status.COMPLETED and deposit.amount == D("499.50")
    event = deposit.events.get(status="completed")
    assert event.actor == fiona and "Seen on Barclays 12 May" in event.note
    record = AuditRecord.objects.get(action="payments.deposit.confirmed")
    assert record.actor_id == fiona.pk and record.after["note"] == "Seen on Barclays 12 May"
    assert wallet_balance(cashier["client"]) == D("499.50")


def test_cards_are_not_confirmed_by_hand(cashier, alpha, fiona):
    deposit = start(cashier["client"])
    http = tenant_web_client(alpha, fiona)
    refused = http.post(f"/ops/payments/deposits/{deposit.public_id}/confirm/", {"amount": "100", "note": "x"})
    assert refused.status_code == 400 and "Only bank wires" in refused.content.decode()
    assert Deposit.objects.get(pk=deposit.pk).status == Status.PENDING


def test_finance_fails_a_deposit_by_hand_and_it_is_audited(cashier, alpha, fiona):
    deposit = start(cashier["client"], "bank-wire", D("500"))
    http = tenant_web_client(alpha, fiona)
    assert (
        http.post(f"/ops/payments/deposits/{deposit.public_id}/fail/", {"reason": "Client cancelled"}).status_code
        == 302
    )
    deposit.refresh_from_db()
    assert deposit.status == Status.FAILED and deposit.failure_reason == "Client cancelled"
    assert AuditRecord.objects.filter(action="payments.deposit.failed", actor_id=fiona.pk).exists()


def test_viewing_is_not_managing(cashier, alpha, sam):
    deposit = start(cashier["client"], "bank-wire", D("500"))
    http = tenant_web_client(alpha, sam)
    detail = http.get(f"/ops/payments/deposits/{deposit.public_id}/")
    assert detail.status_code == 200 and "Confirm the wire by hand" not in detail.content.decode()
    assert (
        http.post(f"/ops/payments/deposits/{deposit.public_id}/confirm/", {"amount": "500", "note": "x"}).status_code
        == 403
    )
    assert http.post(f"/ops/payments/deposits/{deposit.public_id}/fail/", {"reason": "x"}).status_code == 403
    assert Deposit.objects.get(pk=deposit.pk).status == Status.PENDING
    assert not PaymentEvent.objects.filter(actor=sam).exists()


def test_the_ops_detail_shows_timeline_ledger_and_deliveries_and_answers_by_pk_too(cashier, alpha, fiona):
    deposit = start(cashier["client"])
    services.deposit_confirm(deposit, amount=D("100.00"), actor_label="psp:sandbox_card")
    http = tenant_web_client(alpha, fiona)
    by_id = http.get(f"/ops/payments/deposits/{deposit.public_id}/").content.decode()
    by_pk = http.get(f"/ops/payments/deposits/{deposit.pk}/").content.decode()
    for page in (by_id, by_pk):
        assert f"deposit:{deposit.public_id}" in page and "Timeline" in page and "psp:sandbox_card" in page


def test_clients_and_anonymous_cannot_reach_ops_deposits(cashier, alpha):
    assert tenant_web_client(alpha, cashier["user"]).get("/ops/payments/deposits/").status_code == 403
    assert tenant_web_client(alpha).get("/ops/payments/deposits/").status_code == 302


def test_beta_staff_cannot_see_alpha_deposits(cashier, alpha, beta, bob):
    deposit = start(cashier["client"])
    http = tenant_web_client(beta, bob)
    assert http.get(f"/ops/payments/deposits/{deposit.public_id}/").status_code == 404
    assert str(deposit.public_id) not in http.get("/ops/payments/deposits/").content.decode()
