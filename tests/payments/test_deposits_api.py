"""/api/v1/deposits/: who sees what, starting a deposit idempotently, and the tenant line."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from crm.models import Client
from payments.deposits import services
from payments.models import Deposit
from tests import factories
from tests.payments.deposit_helpers import methods, start
from tests.tenants.web import api_client, tenant_web_client

pytestmark = pytest.mark.django_db
URL = "/api/v1/deposits/"


@pytest.fixture
def book(in_alpha, carl):
    methods()
    carl_client = factories.kyc_approved(Client.objects.get(user=carl))
    olga = factories.client_user("olga@alpha.test")
    return {
        "carl": carl,
        "carl_deposit": start(carl_client),
        "olga": olga,
        "olga_deposit": start(factories.kyc_approved(Client.objects.get(user=olga)), "bank-wire", D("500"), "EUR"),
    }


def ids(response) -> set[str]:
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("role", "status", "sees"),
    [
        ("finance", 200, "all"),
        ("back_office", 200, "all"),
        ("support", 403, None),
        ("sales", 403, None),
        ("partner", 403, None),
    ],
)
def test_who_may_list_deposits(book, alpha, role, status, sees):
    user = (
        factories.partner_user(f"{role}@alpha.test")
        if role == "partner"
        else factories.staff_user(f"{role}@alpha.test", roles=[role])
    )
    response = api_client(alpha, user).get(URL)
    assert response.status_code == status
    if sees == "all":
        assert ids(response) == {str(book["carl_deposit"].public_id), str(book["olga_deposit"].public_id)}


def test_anonymous_callers_are_refused(book, alpha):
    assert tenant_web_client(alpha).get(URL).status_code in (401, 403)


def test_a_client_sees_only_their_own(book, alpha):
    http = api_client(alpha, book["carl"])
    assert ids(http.get(URL)) == {str(book["carl_deposit"].public_id)}
    assert http.get(f"{URL}{book['carl_deposit'].public_id}/").status_code == 200
    assert http.get(f"{URL}{book['olga_deposit'].public_id}/").status_code == 404


def test_staff_filter_by_status_method_currency_and_client(book, alpha):
    services.deposit_fail(book["carl_deposit"], reason="declined", actor_label="psp")
    http = api_client(alpha, factories.staff_user("fin@alpha.test", roles=["finance"]))
    carl_id, olga_id = str(book["carl_deposit"].public_id), str(book["olga_deposit"].public_id)
    assert ids(http.get(URL, {"status": "failed"})) == {carl_id}
    assert ids(http.get(URL, {"method": "bank-wire"})) == {olga_id}
    assert ids(http.get(URL, {"currency": "EUR"})) == {olga_id}
    assert ids(http.get(URL, {"client": book["carl_deposit"].client_id})) == {carl_id}


def test_the_output_rounds_money_to_the_currency(book, alpha):
    row = api_client(alpha, book["carl"]).get(f"{URL}{book['carl_deposit'].public_id}/").json()
    assert (row["amount"], row["fee"], row["net"], row["requested_amount"]) == ("100.00", "2.80", "97.20", None)
    assert row["status"] == "pending" and row["method"] == "card"


def test_a_client_starts_a_card_deposit_and_is_told_where_to_pay(book, alpha):
    http = api_client(alpha, book["carl"])
    body = {"method": "card", "currency": "usd", "amount": "250.00"}
    response = http.post(URL, body, content_type="application/json", headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 201, response.json()
    data = response.json()
    deposit = Deposit.objects.get(public_id=data["id"])
    assert data["next_action"] == {"type": "redirect", "url": f"http://alpha.localhost{deposit.checkout_url}"}
    assert (data["amount"], data["fee"], data["net"]) == ("250.00", "6.55", "243.45")
    replay = http.post(URL, body, content_type="application/json", headers={"Idempotency-Key": "k-1"})
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == data["id"]
    assert Deposit.objects.filter(client__user=book["carl"]).count() == 2  # the fixture's and this one


def test_wire_and_crypto_starts_carry_their_instructions(book, alpha):
    http = api_client(alpha, book["carl"])
    wire = http.post(
        URL, {"method": "bank-wire", "currency": "EUR", "amount": "1000"}, content_type="application/json",
        headers={"Idempotency-Key": "w-1"},
    ).json()  # fmt: skip
    assert wire["next_action"]["type"] == "bank_wire"
    assert wire["next_action"]["reference"].replace(" ", "") == wire["wire_reference"]
    assert wire["next_action"]["bank"]["iban"] == "GB33BUKB20201555555555"
    btc = http.post(
        URL, {"method": "bitcoin", "currency": "BTC", "amount": "0.05"}, content_type="application/json",
        headers={"Idempotency-Key": "b-1"},
    ).json()  # fmt: skip
    assert btc["next_action"] == {
        "type": "crypto",
        "address": btc["crypto_address"],
        "network": "bitcoin",
        "required_confirmations": 3,
        "simulator": True,
    }


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"method": "card", "currency": "USD", "amount": "-1"}, {"amount": ["Must be more than zero."]}),
        ({"method": "card", "currency": "USD", "amount": "0"}, {"amount": ["Must be more than zero."]}),
        ({"method": "card", "currency": "USD", "amount": "1.001"}, {"amount": ["At most 2 decimals in USD."]}),
        ({"method": "card", "currency": "USD", "amount": "abc"}, {"amount": ["Not an amount."]}),
        ({"method": "card", "currency": "ZZZ", "amount": "50"}, {"currency": ["Card does not take this currency."]}),
        ({"method": "card", "currency": "USD", "amount": "20000"}, {"amount": ["At most 10000.00 USD."]}),
        ({"method": "nope", "currency": "USD", "amount": "50"}, {"method": ["Object with code=nope does not exist."]}),
    ],
)
def test_bad_starts_get_a_field_map_and_leave_nothing(book, alpha, body, fields):
    response = api_client(alpha, book["carl"]).post(
        URL, body, content_type="application/json", headers={"Idempotency-Key": f"bad-{body['amount']}"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == fields
    assert Deposit.objects.count() == 2


def test_a_start_without_an_idempotency_key_is_refused(book, alpha):
    response = api_client(alpha, book["carl"]).post(
        URL, {"method": "card", "currency": "USD", "amount": "50"}, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "idempotency_key_required"


def test_staff_do_not_start_deposits(book, alpha):
    http = api_client(alpha, factories.staff_user("fin@alpha.test", roles=["finance"]))
    response = http.post(
        URL, {"method": "card", "currency": "USD", "amount": "50"}, content_type="application/json",
        headers={"Idempotency-Key": "s-1"},
    )  # fmt: skip
    assert response.status_code == 403
    assert Deposit.objects.count() == 2


def test_a_beta_user_cannot_see_alpha_deposits(book, alpha, beta, bob):
    with tenant_context(beta):
        beta_client = factories.client_user("bea@beta.test")
    for user in (bob, beta_client):
        http = api_client(beta, user)
        assert http.get(URL).json()["results"] == []
        assert http.get(f"{URL}{book['carl_deposit'].public_id}/").status_code == 404
    # Alpha's token means nothing on beta's domain.
    with tenant_context(alpha):
        key = Token.objects.get_or_create(user=book["carl"])[0].key
    http = tenant_web_client(beta)
    assert http.get(URL, headers={"Authorization": f"Token {key}"}).status_code == 401
