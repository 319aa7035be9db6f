"""/api/v1/trading/ for a trader's app: a client reads only their own accounts, deals and positions and
opens accounts (Idempotency-Key); staff keep their view of everything; permission before the key; the
leverage rules and the currency of deals and positions."""

from __future__ import annotations

import io
import json
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from crm.models import Client
from tests.tenants.web import api_client
from tests.trading.test_ops import BETA_TICKET, deal_row, trading_people, worked_deals
from trading import services
from trading.models import Deal, Position, Symbol, TradingAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alpha, beta, memory_platform):
    """Carl's worked example, plus Cleo with one live account, a deal and a position of her own, and
    a deal of a login nobody here holds."""
    made = trading_people(alpha, beta, memory_platform)
    with tenant_context(alpha):
        worked_deals(made)
        cleo_client = Client.objects.get(user=made.cleo)
        cleo = services.account_open(client=cleo_client, is_demo=False, leverage=100, currency="EUR", actor=made.cleo)
        deal_row(cleo, 700, symbol_name="GBPUSD", price=D("1.26700"))
        Position.objects.create(
            platform=cleo.platform, ticket=701, login=cleo.login, account=cleo, symbol_name="GBPUSD",
            symbol=Symbol.objects.get(name="GBPUSD"), side="sell", volume=D("1"), open_price=D("1.267"),
            current_price=D("1.266"), profit=D("100"), swap=D("0"), opened_at=timezone.now(),
            updated_at=timezone.now(),
        )  # fmt: skip
        Deal.objects.filter(pk=deal_row(made.usd, 702).pk).update(account=None, login="424299")
        made.cleo_login = cleo.login
        made.cleo_client = cleo_client
    return made


@pytest.fixture
def call(alpha, beta, people):
    def make(who):
        return api_client(beta, people.bob) if who == "bob" else api_client(alpha, getattr(people, who))

    return make


def post(client, url, body=None, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, json.dumps(body or {}), content_type="application/json", **headers)


# A client's own view -----------------------------------------------------------------------------


def test_a_client_sees_only_their_own_accounts_deals_and_positions(call, people):
    carl = call("carl")
    accounts = carl.get("/api/v1/trading/accounts/").json()["results"]
    assert sorted(row["login"] for row in accounts) == ["500000", "500001", "900000"]
    assert {row["client_id"] for row in accounts} == {people.carl_client.pk}
    deals = carl.get("/api/v1/trading/deals/").json()["results"]
    assert sorted(row["ticket"] for row in deals) == [1, 2, 3, 4, 5, 6]  # not Cleo's 700, not unknown 702
    positions = carl.get("/api/v1/trading/positions/").json()["results"]
    assert [row["ticket"] for row in positions] == [3]

    # Cleo's rows cannot be reached by address or filter either.
    assert carl.get(f"/api/v1/trading/accounts/{people.cleo_login}/").status_code == 404
    assert carl.get("/api/v1/trading/deals/", {"login": people.cleo_login}).json()["results"] == []
    assert carl.get("/api/v1/trading/deals/", {"ticket": 700}).json()["results"] == []
    assert carl.get("/api/v1/trading/positions/", {"login": people.cleo_login}).json()["results"] == []
    assert carl.get("/api/v1/trading/accounts/", {"client": people.cleo_client.pk}).json()["results"] == []
    everything = json.dumps([accounts, deals, positions])
    assert people.cleo_login not in everything and "cleo" not in everything.lower()

    cleo = call("cleo")
    assert [row["login"] for row in cleo.get("/api/v1/trading/accounts/").json()["results"]] == [people.cleo_login]
    assert [row["ticket"] for row in cleo.get("/api/v1/trading/deals/").json()["results"]] == [700]
    assert cleo.get("/api/v1/trading/accounts/500000/").status_code == 404


def test_clients_still_cannot_reach_staff_endpoints(call, people, memory_platform):
    carl = call("carl")
    for url in ["/api/v1/trading/platforms/", "/api/v1/trading/symbols/",
                f"/api/v1/clients/{people.carl_client.pk}/trading-summary/"]:  # fmt: skip
        assert carl.get(url).status_code == 403, url
    calls = list(memory_platform.calls)
    assert post(carl, "/api/v1/trading/accounts/500000/leverage/", {"leverage": 500}).status_code == 403
    assert post(carl, "/api/v1/trading/accounts/500000/disable/", {"reason": "me"}).status_code == 403
    assert memory_platform.calls == calls


def test_staff_see_everything_and_beta_sees_none_of_it(call, people):
    tickets = {row["ticket"] for row in call("bea").get("/api/v1/trading/deals/").json()["results"]}
    assert {1, 700, 702} <= tickets
    bob = call("bob")
    assert [row["ticket"] for row in bob.get("/api/v1/trading/deals/").json()["results"]] == [BETA_TICKET]
    assert bob.get("/api/v1/trading/accounts/500000/").status_code == 404


def test_deals_and_positions_carry_the_account_currency(call, people):
    bea = call("bea")
    deals = {row["ticket"]: row for row in bea.get("/api/v1/trading/deals/").json()["results"]}
    assert (deals[1]["currency"], deals[5]["currency"], deals[700]["currency"]) == ("USD", "EUR", "EUR")
    assert deals[702]["currency"] is None  # a login nobody here holds
    positions = {row["ticket"]: row for row in bea.get("/api/v1/trading/positions/").json()["results"]}
    assert (positions[3]["currency"], positions[701]["currency"]) == ("USD", "EUR")


def test_demo_and_live_are_told_apart_and_filterable(call, alpha, people):
    with tenant_context(alpha):
        deal_row(TradingAccount.objects.get(login="900000"), 810)
    bea = call("bea")
    deals = bea.get("/api/v1/trading/deals/").json()["results"]
    demo_logins = {row["login"] for row in deals if row["is_demo"]}
    assert demo_logins == {"900000"}
    live_only = bea.get("/api/v1/trading/deals/", {"is_demo": "false"}).json()["results"]
    assert live_only and not any(row["is_demo"] for row in live_only)
    assert {row["login"] for row in bea.get("/api/v1/trading/deals/", {"is_demo": "true"}).json()["results"]} == {
        "900000"
    }
    positions = bea.get("/api/v1/trading/positions/", {"is_demo": "false"}).json()["results"]
    assert positions and not any(row["is_demo"] for row in positions)
    assert bea.get("/api/v1/trading/positions/", {"is_demo": "true"}).json()["results"] == []


def test_a_client_reads_transfers_in_words_without_our_internal_tags(call, alpha, people):
    with tenant_context(alpha):
        account = TradingAccount.objects.get(login="500000")
        deal_row(account, 800, symbol_name="", action="balance", volume=D(0), price=D(0), profit=D("250"),
                 comment="bo-0123456789abcdef from wallet")  # fmt: skip
    mine = {row["ticket"]: row for row in call("carl").get("/api/v1/trading/deals/").json()["results"]}
    assert mine[800]["description"] == "Transfer from wallet"
    assert not {"comment", "booking", "account_id"} & set(mine[800])
    staff = {row["ticket"]: row for row in call("bea").get("/api/v1/trading/deals/").json()["results"]}
    assert staff[800]["comment"].startswith("bo-") and staff[800]["booking"] == "booked"


# Opening accounts --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["bea", "fiona"])
def test_staff_without_trading_manage_get_403_before_any_key_question(call, alpha, who):
    client = call(who)
    body = {"client": 1, "is_demo": True, "leverage": 100, "currency": "USD"}
    assert post(client, "/api/v1/trading/accounts/", body).status_code == 403
    assert post(client, "/api/v1/trading/accounts/", body, key="k-1").status_code == 403
    assert post(client, "/api/v1/trading/accounts/500000/leverage/", {"leverage": 50}).status_code == 403
    with tenant_context(alpha):
        assert TradingAccount.objects.count() == 4


def test_a_client_opens_their_own_account_once_per_key(call, alpha, people, memory_platform):
    carl = call("cleo")
    body = {"is_demo": True, "leverage": 100, "currency": "USD"}
    missing = post(carl, "/api/v1/trading/accounts/", body)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "idempotency_key_required"
    first = post(carl, "/api/v1/trading/accounts/", body, key="open-1")
    assert first.status_code == 201
    opened = first.json()
    assert (opened["client_id"], opened["is_demo"], opened["leverage"], opened["currency"]) == (
        people.cleo_client.pk,
        True,
        100,
        "USD",
    )
    again = post(carl, "/api/v1/trading/accounts/", body, key="open-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true" and again.json() == opened
    with tenant_context(alpha):
        assert TradingAccount.objects.filter(client=people.cleo_client).count() == 2
        assert AuditRecord.objects.filter(action="trading.account_open", object_id=str(opened["id"])).count() == 1
    assert opened["login"] in [row["login"] for row in carl.get("/api/v1/trading/accounts/").json()["results"]]


def test_a_client_cannot_open_for_someone_else_or_outside_the_policy(call, alpha, people):
    cleo = call("cleo")
    other = post(cleo, "/api/v1/trading/accounts/",
                 {"client": people.carl_client.pk, "leverage": 100, "currency": "USD"}, key="o-1")  # fmt: skip
    assert other.status_code == 400 and "client" in other.json()["error"]["fields"]
    greedy = post(cleo, "/api/v1/trading/accounts/", {"leverage": 1000, "currency": "USD"}, key="o-2")
    assert greedy.status_code == 400 and "leverage" in greedy.json()["error"]["fields"]
    crypto = post(cleo, "/api/v1/trading/accounts/", {"leverage": 100, "currency": "GBP"}, key="o-3")
    assert crypto.status_code == 400 and "currency" in crypto.json()["error"]["fields"]
    with tenant_context(alpha):
        assert TradingAccount.objects.filter(client=people.carl_client).count() == 3
        assert TradingAccount.objects.filter(client=people.cleo_client).count() == 1


def test_dealing_opens_an_account_for_a_named_client(call, alpha, people):
    dan = call("dan")
    body = {"is_demo": False, "leverage": 30, "currency": "EUR"}
    unnamed = post(dan, "/api/v1/trading/accounts/", body, key="d-1")
    assert unnamed.status_code == 400 and "client" in unnamed.json()["error"]["fields"]
    nobody = post(dan, "/api/v1/trading/accounts/", {**body, "client": 999999}, key="d-2")
    assert nobody.status_code == 400
    made = post(dan, "/api/v1/trading/accounts/", {**body, "client": people.cleo_client.pk}, key="d-3")
    assert made.status_code == 201 and made.json()["client_id"] == people.cleo_client.pk
    with tenant_context(alpha):
        record = AuditRecord.objects.get(action="trading.account_open", object_id=str(made.json()["id"]))
        assert record.actor_email == "dan@alpha.test"


# Leverage by API ---------------------------------------------------------------------------------


def test_api_leverage_is_offered_only_and_lowering_under_positions_needs_confirm(call, alpha, memory_platform):
    dan = call("dan")
    bad = post(dan, "/api/v1/trading/accounts/500000/leverage/", {"leverage": 1000})
    assert bad.status_code == 400 and "not offered by this broker" in bad.json()["error"]["fields"]["leverage"][0]
    with tenant_context(alpha):
        TradingAccount.objects.filter(login="500000").update(equity=D("2000"), margin=D("1150"))
    risky = post(dan, "/api/v1/trading/accounts/500000/leverage/", {"leverage": 50})
    assert risky.status_code == 400
    error = risky.json()["error"]
    assert error["code"] == "confirmation_required" and "86.96 %" in error["message"] and "confirm" in error["fields"]
    assert memory_platform.accounts["500000"]["leverage"] == 100
    done = post(dan, "/api/v1/trading/accounts/500000/leverage/", {"leverage": 50, "confirm": True})
    assert done.status_code == 200 and done.json()["leverage"] == 50


def test_the_schema_suggests_a_sane_leverage():
    out = io.StringIO()
    call_command("spectacular", "--format", "openapi-json", stdout=out)
    schema = json.loads(out.getvalue())
    body = schema["paths"]["/api/v1/trading/accounts/{login}/leverage/"]["post"]["requestBody"]
    examples = body["content"]["application/json"]["examples"]
    assert [example["value"]["leverage"] for example in examples.values()] == [100, 30]
    opening = schema["paths"]["/api/v1/trading/accounts/"]["post"]
    assert any(parameter["name"] == "Idempotency-Key" for parameter in opening["parameters"])


def test_a_nul_byte_in_an_api_path_is_a_404(call):
    assert call("bea").get("/api/v1/trading/symbols/%00/").status_code == 404
    assert call("bea").get("/api/v1/trading/accounts/%00/").status_code == 404
