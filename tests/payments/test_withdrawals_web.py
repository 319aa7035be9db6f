"""Withdrawal pages (portal, ops) and /api/v1/withdrawals/: who sees and does what, in which tenant.

Personas in alpha: Carl (client, KYC approved, 1,000.00 USD), Cleo (another client),
Fiona and Frank (finance), Bea (back office: may look, may not decide), Sam (sales:
no payments at all). In beta: Bob, its owner, must see nothing of alpha.
"""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from payments.adapters import registry
from payments.defaults import payment_defaults_ensure
from payments.models import Hold, LedgerAccount, PaymentMethod, Withdrawal
from payments.withdrawals import services
from tests import factories
from tests.payments.withdrawals_support import (
    BANK,
    BIC,
    IBAN,
    FakePayouts,
    card_deposit,
    client_with_kyc,
    finance,
    fund,
)
from tests.tenants.web import api_client, tenant_web_client

pytestmark = pytest.mark.django_db
Status = Withdrawal.Status


@pytest.fixture
def people(alpha, beta, monkeypatch):
    FakePayouts.reset()
    monkeypatch.setitem(registry.ADAPTERS, FakePayouts.provider, FakePayouts)
    with tenant_context(beta):
        payment_defaults_ensure()
        bob = factories.staff_user("bob@beta.test", roles=["owner"])
    with tenant_context(alpha):
        payment_defaults_ensure()
        PaymentMethod.objects.update(provider=FakePayouts.provider)
        carl = client_with_kyc("carl@alpha.test")
        fund(carl, D("1000.00"))
        cleo = client_with_kyc("cleo@alpha.test")
        fund(cleo, D("500.00"))
        return {
            "carl": carl,
            "cleo": cleo,
            "fiona": finance("fiona@alpha.test"),
            "frank": finance("frank@alpha.test"),
            "bea": factories.staff_user("bea@alpha.test", roles=["back_office"]),
            "sam": factories.staff_user("sam@alpha.test", roles=["sales"]),
            "bob": bob,
        }


def withdrawal_of(alpha, client, amount="250.00") -> Withdrawal:
    with tenant_context(alpha):
        return services.withdrawal_request(
            client=client,
            method=PaymentMethod.objects.get(code="bank-wire"),
            currency="USD",
            amount=D(amount),
            destination=BANK,
            actor=client.user,
        )


def reload(alpha, withdrawal) -> Withdrawal:
    with tenant_context(alpha):
        return Withdrawal.objects.select_related("hold").get(pk=withdrawal.pk)


def held(alpha, client) -> D:
    with tenant_context(alpha):
        return LedgerAccount.objects.get(client=client, currency="USD").held


def form_data(page_html: str, **values) -> dict:
    request_id = re.search(r'name="request_id" value="([0-9a-f-]+)"', page_html).group(1)
    return {"request_id": request_id, "currency": "USD", "method": "bank-wire", "amount": "250.00", **BANK, **values}


# Portal ---------------------------------------------------------------------------------------------


def test_a_client_requests_a_withdrawal_and_follows_it(alpha, people):
    web = tenant_web_client(alpha, people["carl"].user)
    page = web.get("/portal/funds/withdraw/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "USD · 1,000.00 available" in html

    response = web.post("/portal/funds/withdraw/", form_data(html))
    with tenant_context(alpha):
        withdrawal = Withdrawal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/funds/withdraw/{withdrawal.public_id}/"
    assert withdrawal.destination == {"iban": IBAN, "bic": BIC, "holder": "Carl Client"}

    detail = web.get(response["Location"]).content.decode()
    assert "Waiting for approval" in detail
    assert "Requested" in detail and "Checks done" in detail
    assert "250.00 USD" in detail
    assert "Cancel withdrawal" in detail
    history = web.get("/portal/funds/withdraw/history/").content.decode()
    assert f"/portal/funds/withdraw/{withdrawal.public_id}/" in history


def test_submitting_the_same_form_twice_creates_one_withdrawal(alpha, people):
    web = tenant_web_client(alpha, people["carl"].user)
    data = form_data(web.get("/portal/funds/withdraw/").content.decode())
    first = web.post("/portal/funds/withdraw/", data)
    second = web.post("/portal/funds/withdraw/", data)
    assert first["Location"] == second["Location"]
    with tenant_context(alpha):
        assert Withdrawal.objects.count() == 1
    assert held(alpha, people["carl"]) == D("250.00")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"iban": "DE00 1234"}, "This is not a valid IBAN"),
        ({"bic": "BUKBGB22"}, "The BIC is of a bank in GB, the IBAN of an account in DE."),
        ({"amount": "-5"}, "Must be more than zero."),
        ({"amount": "250.001"}, "At most 2 decimals in USD."),
        ({"amount": "lots"}, "Enter an amount, like 250.00."),
        ({"amount": "50.00"}, "At least 100.00 USD."),
        ({"amount": "5000.00"}, "More than the available balance."),
    ],
)
def test_bad_input_on_the_form_is_explained_and_nothing_is_held(alpha, people, values, message):
    web = tenant_web_client(alpha, people["carl"].user)
    data = form_data(web.get("/portal/funds/withdraw/").content.decode(), **values)
    response = web.post("/portal/funds/withdraw/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    with tenant_context(alpha):
        assert not Withdrawal.objects.exists()
        assert not Hold.objects.exists()


def test_the_form_explains_return_to_source_and_refuses_other_methods(alpha, people):
    with tenant_context(alpha):
        card_deposit(people["carl"], D("300.00"))
    web = tenant_web_client(alpha, people["carl"].user)
    html = web.get("/portal/funds/withdraw/").content.decode()
    assert "300.00 USD</strong> you deposited by card must be withdrawn to that card" in html
    assert "Visa •••• 4242 (USD)" in html
    response = web.post("/portal/funds/withdraw/", form_data(html))
    assert "must first go back to your card" in response.content.decode()
    with tenant_context(alpha):
        assert not Withdrawal.objects.exists()


def test_a_client_without_kyc_sees_why_and_cannot_withdraw(alpha, people):
    with tenant_context(alpha):
        dora = client_with_kyc("dora@alpha.test", kyc="pending")
        fund(dora, D("500.00"))
    web = tenant_web_client(alpha, dora.user)
    html = web.get("/portal/funds/withdraw/").content.decode()
    assert "Withdrawals open once your identity is verified (KYC status: <strong>under review</strong>)" in html
    assert 'name="amount"' not in html
    data = {"request_id": "9b1f8e0e-6a7a-4c1e-8a44-1b8f6f2a6d10", "currency": "USD", "method": "bank-wire"}
    response = web.post("/portal/funds/withdraw/", {**data, "amount": "150.00", **BANK})
    assert response.status_code == 200
    with tenant_context(alpha):
        assert not Withdrawal.objects.exists()


def test_the_quote_shows_the_fee_and_what_arrives(alpha, people):
    with tenant_context(alpha):
        card_deposit(people["carl"], D("300.00"))
    web = tenant_web_client(alpha, people["carl"].user)
    quote = web.get(
        "/portal/funds/withdraw/quote/", {"currency": "USD", "method": "card", "amount": "100"}, HTTP_HX_REQUEST="true"
    )
    html = quote.content.decode()
    assert "2.80 USD" in html and "97.20 USD" in html
    too_much = web.get("/portal/funds/withdraw/quote/", {"currency": "USD", "method": "card", "amount": "400"})
    assert "At most 300.00 USD can go back to your card" in too_much.content.decode()
    wire = web.get("/portal/funds/withdraw/quote/", {"currency": "USD", "method": "bank-wire", "amount": "150"})
    assert "must first go back to your card" in wire.content.decode()
    empty = web.get("/portal/funds/withdraw/quote/", {"currency": "USD", "method": "card", "amount": ""})
    assert "Choose a wallet, a method and an amount" in empty.content.decode()


def test_the_client_cancels_a_waiting_withdrawal(alpha, people):
    withdrawal = withdrawal_of(alpha, people["carl"])
    web = tenant_web_client(alpha, people["carl"].user)
    response = web.post(f"/portal/funds/withdraw/{withdrawal.public_id}/cancel/")
    assert response.status_code == 302
    assert reload(alpha, withdrawal).status == Status.CANCELLED
    assert held(alpha, people["carl"]) == D("0")
    assert "Funds released" in web.get(f"/portal/funds/withdraw/{withdrawal.public_id}/").content.decode()


def test_a_client_cannot_see_or_cancel_another_clients_withdrawal(alpha, people):
    withdrawal = withdrawal_of(alpha, people["carl"])
    web = tenant_web_client(alpha, people["cleo"].user)
    assert web.get(f"/portal/funds/withdraw/{withdrawal.public_id}/").status_code == 404
    assert web.post(f"/portal/funds/withdraw/{withdrawal.public_id}/cancel/").status_code == 404
    assert str(withdrawal.public_id) not in web.get("/portal/funds/withdraw/history/").content.decode()
    assert reload(alpha, withdrawal).status == Status.PENDING_REVIEW


def test_a_rejected_withdrawal_shows_the_reason_to_the_client(alpha, people):
    withdrawal = withdrawal_of(alpha, people["carl"])
    with tenant_context(alpha):
        services.withdrawal_reject(
            withdrawal=withdrawal, actor=people["fiona"], reason="Name does not match the account"
        )
    html = (
        tenant_web_client(alpha, people["carl"].user)
        .get(f"/portal/funds/withdraw/{withdrawal.public_id}/")
        .content.decode()
    )
    assert "Name does not match the account" in html
    assert "fiona@alpha.test" not in html  # clients see "Finance team", not staff names
    assert "Finance team" in html


def test_the_client_timeline_leaves_out_back_office_steps(alpha, people):
    withdrawal = withdrawal_of(alpha, people["carl"])
    with tenant_context(alpha):
        Withdrawal.objects.filter(pk=withdrawal.pk).update(status=Status.PROCESSING)
        services.withdrawal_payout_settled(withdrawal, paid=True, actor_label="psp:fake_payouts")
        services.withdrawal_payout_settled(withdrawal, paid=False, reason="Returned", actor_label="psp:fake_payouts")
    client_html = tenant_web_client(alpha, people["carl"].user).get(f"/portal/funds/withdraw/{withdrawal.public_id}/")
    assert "Paid" in client_html.content.decode()
    assert "Late report" not in client_html.content.decode()
    staff_html = tenant_web_client(alpha, people["fiona"]).get(f"/ops/payments/withdrawals/{withdrawal.public_id}/")
    assert "Late report (no change)" in staff_html.content.decode()


# Ops ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"), [("anonymous", 302), ("carl", 403), ("sam", 403), ("bea", 200), ("fiona", 200)]
)
def test_the_queue_needs_the_payments_view_permission(alpha, people, who, expected):
    withdrawal = withdrawal_of(alpha, people["carl"])
    user = None if who == "anonymous" else people[who]
    user = user.user if who == "carl" else user
    web = tenant_web_client(alpha, user)
    assert web.get("/ops/payments/withdrawals/").status_code == expected
    assert web.get(f"/ops/payments/withdrawals/{withdrawal.public_id}/").status_code == expected


def test_the_queue_lists_waiting_withdrawals_oldest_first_with_their_flags(alpha, people):
    from datetime import timedelta

    from django.utils import timezone

    older = withdrawal_of(alpha, people["carl"], "300.00")
    newer = withdrawal_of(alpha, people["cleo"], "200.00")
    with tenant_context(alpha):
        Withdrawal.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(hours=5))
        Withdrawal.objects.filter(pk=newer.pk).update(review_reasons=["Deposit and withdrawal within 24 hours"])
    web = tenant_web_client(alpha, people["fiona"])
    html = web.get("/ops/payments/withdrawals/").content.decode()
    assert html.index("300.00 USD") < html.index("200.00 USD")
    assert "5\xa0hours" in html
    assert "Deposit and withdrawal within 24 hours" in html

    with tenant_context(alpha):
        services.withdrawal_reject(withdrawal=older, actor=people["fiona"], reason="Duplicate")
    waiting = web.get("/ops/payments/withdrawals/", HTTP_HX_REQUEST="true").content.decode()
    assert "300.00 USD" not in waiting and "200.00 USD" in waiting
    rejected = web.get("/ops/payments/withdrawals/", {"status": "rejected"}).content.decode()
    assert "300.00 USD" in rejected and "200.00 USD" not in rejected


def test_the_queue_page_runs_the_same_queries_for_3_rows_as_for_8(alpha, people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert web.get("/ops/payments/withdrawals/").status_code == 200
        return len(captured)

    web = tenant_web_client(alpha, people["fiona"])
    for _ in range(3):
        withdrawal_of(alpha, people["carl"], "100.00")
    web.get("/ops/payments/withdrawals/")  # warm per-process caches
    with_three = queries()
    for _ in range(5):
        withdrawal_of(alpha, people["cleo"], "100.00")
    assert queries() == with_three


def test_finance_approves_in_ops_and_the_payout_goes_out(alpha, people, django_capture_on_commit_callbacks):
    withdrawal = withdrawal_of(alpha, people["carl"])
    web = tenant_web_client(alpha, people["fiona"])
    detail = web.get(f"/ops/payments/withdrawals/{withdrawal.public_id}/").content.decode()
    assert "Approve and pay out" in detail and "Reject and release the funds" in detail
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(f"/ops/payments/withdrawals/{withdrawal.public_id}/approve/", {"note": "Account checked"})
    assert response.status_code == 302
    assert reload(alpha, withdrawal).status == Status.PROCESSING
    html = web.get(f"/ops/payments/withdrawals/{withdrawal.public_id}/").content.decode()
    assert "fiona@alpha.test" in html and "Sent for payment" in html and "Account checked" in html


def test_a_paid_withdrawal_links_to_its_ledger_transaction(alpha, people):
    withdrawal = withdrawal_of(alpha, people["carl"])
    with tenant_context(alpha):
        Withdrawal.objects.filter(pk=withdrawal.pk).update(status=Status.PROCESSING)
        paid = services.withdrawal_payout_settled(withdrawal, paid=True, actor_label="psp:fake_payouts")
    html = (
        tenant_web_client(alpha, people["fiona"])
        .get(f"/ops/payments/withdrawals/{withdrawal.public_id}/")
        .content.decode()
    )
    assert f'href="/ops/payments/transactions/{paid.transaction_id}/"' in html
    assert f"withdrawal:{withdrawal.public_id}" in html
    assert "Captured hold" in html


def test_finance_rejects_with_a_reason_and_the_funds_come_back(alpha, people):
    withdrawal = withdrawal_of(alpha, people["carl"])
    web = tenant_web_client(alpha, people["fiona"])
    refused = web.post(f"/ops/payments/withdrawals/{withdrawal.public_id}/reject/", {"reason": " "}, follow=True)
    assert "Say why: the client reads the reason." in refused.content.decode()
    assert reload(alpha, withdrawal).status == Status.PENDING_REVIEW

    web.post(f"/ops/payments/withdrawals/{withdrawal.public_id}/reject/", {"reason": "Third-party account"})
    assert reload(alpha, withdrawal).status == Status.REJECTED
    assert held(alpha, people["carl"]) == D("0")


def test_back_office_may_look_but_not_decide(alpha, people):
    withdrawal = withdrawal_of(alpha, people["carl"])
    web = tenant_web_client(alpha, people["bea"])
    html = web.get(f"/ops/payments/withdrawals/{withdrawal.public_id}/").content.decode()
    assert "needs the payments approval permission" in html
    assert web.post(f"/ops/payments/withdrawals/{withdrawal.public_id}/approve/").status_code == 403
    assert web.post(f"/ops/payments/withdrawals/{withdrawal.public_id}/reject/", {"reason": "x"}).status_code == 403
    assert reload(alpha, withdrawal).status == Status.PENDING_REVIEW


def test_the_first_approver_is_told_to_wait_for_a_second(alpha, people):
    with tenant_context(alpha):
        from payments.models import PaymentPolicy

        PaymentPolicy.objects.update(four_eyes_threshold=D("100"))
    withdrawal = withdrawal_of(alpha, people["carl"])
    web = tenant_web_client(alpha, people["fiona"])
    assert "Give first approval" in web.get(f"/ops/payments/withdrawals/{withdrawal.public_id}/").content.decode()
    web.post(f"/ops/payments/withdrawals/{withdrawal.public_id}/approve/")
    assert reload(alpha, withdrawal).status == Status.PENDING_SECOND_APPROVAL
    html = web.get(f"/ops/payments/withdrawals/{withdrawal.public_id}/").content.decode()
    assert "You gave the first approval: a second finance officer must decide." in html
    again = web.post(f"/ops/payments/withdrawals/{withdrawal.public_id}/approve/", follow=True)
    assert "already approved" in again.content.decode()
    assert reload(alpha, withdrawal).status == Status.PENDING_SECOND_APPROVAL


# API ------------------------------------------------------------------------------------------------


def create(api, key="k1", **body):
    payload = {"method": "bank-wire", "currency": "USD", "amount": "250.00", "destination": BANK, **body}
    return api.post("/api/v1/withdrawals/", payload, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_client_creates_lists_and_cancels_their_own_by_api(alpha, people):
    api = api_client(alpha, people["carl"].user)
    created = create(api)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["status"], body["amount"], body["fee"], body["payout_amount"]) == (
        "pending_review",
        "250.00000000",
        "0.00000000",
        "250.00000000",
    )
    assert "review_reasons" not in body and "client" not in body
    assert [step["status"] for step in body["timeline"]] == ["requested", "pending_review"]

    replay = create(api)
    assert replay.json()["id"] == body["id"]
    assert replay["Idempotent-Replayed"] == "true"
    with tenant_context(alpha):
        assert Withdrawal.objects.count() == 1

    assert [item["id"] for item in api.get("/api/v1/withdrawals/").json()["results"]] == [body["id"]]
    cancelled = api.post(f"/api/v1/withdrawals/{body['id']}/cancel/")
    assert cancelled.json()["status"] == "cancelled"
    assert held(alpha, people["carl"]) == D("0")


def test_api_create_needs_an_idempotency_key_and_explains_bad_input(alpha, people):
    api = api_client(alpha, people["carl"].user)
    missing = api.post("/api/v1/withdrawals/", {"method": "bank-wire"}, content_type="application/json")
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "idempotency_key_required"

    bad_iban = create(api, key="k2", destination={**BANK, "iban": "XX00"})
    assert bad_iban.status_code == 400
    assert list(bad_iban.json()["error"]["fields"]) == ["iban"]

    for key, amount, field in (("k3", "abc", "amount"), ("k4", "-1", "amount"), ("k5", "1.001", "amount")):
        response = create(api, key=key, amount=amount)
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]
    unknown = create(api, key="k6", currency="ZZZ")
    assert unknown.json()["error"]["fields"] == {"currency": ["Unknown currency."]}
    with tenant_context(alpha):
        assert not Withdrawal.objects.exists()


def test_clients_see_only_their_own_withdrawals_in_the_api(alpha, people):
    carls = withdrawal_of(alpha, people["carl"])
    api = api_client(alpha, people["cleo"].user)
    assert api.get("/api/v1/withdrawals/").json()["results"] == []
    assert api.get(f"/api/v1/withdrawals/{carls.public_id}/").status_code == 404
    assert api.post(f"/api/v1/withdrawals/{carls.public_id}/cancel/").status_code == 404
    assert api.post(f"/api/v1/withdrawals/{carls.public_id}/approve/").status_code == 403
    assert reload(alpha, carls).status == Status.PENDING_REVIEW


def test_staff_list_and_filter_every_withdrawal(alpha, people):
    carls = withdrawal_of(alpha, people["carl"])
    cleos = withdrawal_of(alpha, people["cleo"], "150.00")
    with tenant_context(alpha):
        services.withdrawal_reject(withdrawal=cleos, actor=people["fiona"], reason="No")
    api = api_client(alpha, people["bea"])
    everything = api.get("/api/v1/withdrawals/").json()
    assert {item["id"] for item in everything["results"]} == {str(carls.public_id), str(cleos.public_id)}
    waiting = api.get("/api/v1/withdrawals/", {"status": "pending_review"}).json()["results"]
    assert [item["id"] for item in waiting] == [str(carls.public_id)]
    assert waiting[0]["client"] == people["carl"].pk
    by_client = api.get("/api/v1/withdrawals/", {"client": people["cleo"].pk}).json()["results"]
    assert [item["id"] for item in by_client] == [str(cleos.public_id)]
    detail = api.get(f"/api/v1/withdrawals/{carls.public_id}/").json()
    assert detail["timeline"][0]["who"] == "Client"
    assert api.post(f"/api/v1/withdrawals/{carls.public_id}/approve/").status_code == 403


def test_staff_without_payments_view_get_a_403(alpha, people):
    withdrawal_of(alpha, people["carl"])
    assert api_client(alpha, people["sam"]).get("/api/v1/withdrawals/").status_code == 403


def test_a_token_of_beta_is_no_one_on_alphas_domain(alpha, beta, people):
    from rest_framework.authtoken.models import Token

    from tests.tenants.web import web_client

    withdrawal_of(alpha, people["carl"])
    with tenant_context(beta):
        token, _ = Token.objects.get_or_create(user=people["bob"])
    response = web_client("alpha.localhost", HTTP_AUTHORIZATION=f"Token {token.key}").get("/api/v1/withdrawals/")
    assert response.status_code == 401


def test_four_eyes_through_the_api_with_a_staff_maker(alpha, people):
    with tenant_context(alpha):
        from payments.models import PaymentPolicy

        PaymentPolicy.objects.update(four_eyes_threshold=D("100"))
    mia = api_client(alpha, people["frank"])
    made = create(mia, client=people["carl"].pk)
    assert made.status_code == 201, made.json()
    public_id = made.json()["id"]
    assert made.json()["created_by"] == "frank@alpha.test"
    assert made.json()["needs_four_eyes"] is True

    maker = mia.post(f"/api/v1/withdrawals/{public_id}/approve/", {}, content_type="application/json")
    assert maker.status_code == 400
    assert maker.json()["error"]["code"] == "maker_cannot_approve"

    fiona = api_client(alpha, people["fiona"])
    first = fiona.post(f"/api/v1/withdrawals/{public_id}/approve/", {"note": "ok"}, content_type="application/json")
    assert first.json()["status"] == "pending_second_approval"
    twice = fiona.post(f"/api/v1/withdrawals/{public_id}/approve/", {}, content_type="application/json")
    assert twice.json()["error"]["code"] == "four_eyes"

    with tenant_context(alpha):
        paula = finance("paula@alpha.test")
    second = api_client(alpha, paula).post(
        f"/api/v1/withdrawals/{public_id}/approve/", {}, content_type="application/json"
    )
    assert second.json()["status"] in ("approved", "processing")
    with tenant_context(alpha):
        assert AuditRecord.objects.filter(action="payments.withdrawal.approved").count() == 1


def test_staff_reject_through_the_api_needs_a_reason(alpha, people):
    withdrawal = withdrawal_of(alpha, people["carl"])
    api = api_client(alpha, people["fiona"])
    missing = api.post(f"/api/v1/withdrawals/{withdrawal.public_id}/reject/", {}, content_type="application/json")
    assert missing.status_code == 400
    assert "reason" in missing.json()["error"]["fields"]
    done = api.post(
        f"/api/v1/withdrawals/{withdrawal.public_id}/reject/",
        {"reason": "Closed account"},
        content_type="application/json",
    )
    assert (done.json()["status"], done.json()["reason"]) == ("rejected", "Closed account")


# Tenant isolation -----------------------------------------------------------------------------------


def test_nothing_of_alpha_is_visible_from_beta(alpha, beta, people):
    withdrawal = withdrawal_of(alpha, people["carl"])
    web = tenant_web_client(beta, people["bob"])
    assert web.get(f"/ops/payments/withdrawals/{withdrawal.public_id}/").status_code == 404
    assert "250.00 USD" not in web.get("/ops/payments/withdrawals/?status=all").content.decode()
    assert web.post(f"/ops/payments/withdrawals/{withdrawal.public_id}/approve/").status_code == 404
    api = api_client(beta, people["bob"])
    assert api.get("/api/v1/withdrawals/").json()["results"] == []
    assert api.get(f"/api/v1/withdrawals/{withdrawal.public_id}/").status_code == 404
    assert reload(alpha, withdrawal).status == Status.PENDING_REVIEW
