"""/api/v1/trading/... and /api/v1/clients/<id>/trading-summary/: who reads and changes what, by token."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from tests.tenants.web import api_client, tenant_web_client
from tests.trading.test_ops import BETA_TICKET, trading_people, worked_deals
from trading.models import Platform, Symbol, TradingAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alpha, beta, memory_platform):
    made = trading_people(alpha, beta, memory_platform)
    with tenant_context(alpha):
        worked_deals(made)
        Platform.objects.filter(code="sim-live").update(manager_password="Sim-Manager-Pass-1", push_secret="p" * 64)
    return made


@pytest.fixture
def call(alpha, beta, people):
    def make(who):
        if who == "bob":
            return api_client(beta, people.bob)
        return api_client(alpha, getattr(people, who))

    return make


def post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


READ_URLS = [
    "/api/v1/trading/platforms/",
    "/api/v1/trading/platforms/sim-live/",
    "/api/v1/trading/accounts/",
    "/api/v1/trading/accounts/500000/",
    "/api/v1/trading/deals/",
    "/api/v1/trading/positions/",
    "/api/v1/trading/symbols/",
    "/api/v1/trading/symbols/EURUSD/",
]


# What a client may read of their own (see test_api_client.py); everything else is staff only.
CLIENT_URLS = {"/api/v1/trading/accounts/", "/api/v1/trading/accounts/500000/", "/api/v1/trading/deals/",
               "/api/v1/trading/positions/"}  # fmt: skip


@pytest.mark.parametrize(("who", "expected"), [("carl", 403), ("fiona", 403), ("bea", 200), ("dan", 200)])
def test_reading_needs_trading_view(call, people, who, expected):
    client = call(who)
    for url in [*READ_URLS, f"/api/v1/clients/{people.carl_client.pk}/trading-summary/"]:
        wanted = 200 if who == "carl" and url in CLIENT_URLS else expected
        assert client.get(url).status_code == wanted, url


def test_anonymous_callers_are_refused(alpha, people):
    anonymous = tenant_web_client(alpha)
    for url in READ_URLS:
        assert anonymous.get(url).status_code in (401, 403), url


@pytest.mark.parametrize("who", ["bea", "fiona", "carl"])
def test_changes_need_trading_manage_and_change_nothing(call, alpha, people, memory_platform, who):
    client = call(who)
    before_calls = list(memory_platform.calls)
    for url, body in [
        ("/api/v1/trading/accounts/500000/leverage/", {"leverage": 50}),
        ("/api/v1/trading/accounts/500000/group/", {"group": "vip"}),
        ("/api/v1/trading/accounts/500000/disable/", {"reason": "test"}),
        ("/api/v1/trading/accounts/500000/enable/", {}),
        ("/api/v1/trading/platforms/sim-live/test-connection/", {}),
    ]:
        assert post(client, url, body).status_code == 403, url
    patch = client.patch(
        "/api/v1/trading/symbols/EURUSD/", json.dumps({"swap_long": "1"}), content_type="application/json"
    )
    assert patch.status_code == 403
    assert memory_platform.calls == before_calls
    with tenant_context(alpha):
        assert TradingAccount.objects.get(login="500000").leverage == 100
        assert Symbol.objects.get(name="EURUSD").swap_long == D("-6.9")


def test_no_password_or_secret_in_platform_output(call):
    body = call("alice").get("/api/v1/trading/platforms/").content.decode()
    assert "Sim-Manager-Pass-1" not in body and "p" * 64 not in body
    platform = call("alice").get("/api/v1/trading/platforms/sim-live/").json()
    assert platform["has_manager_password"] is True
    assert "manager_password" not in platform and "push_secret" not in platform
    assert platform["account_count"] == 2


def test_test_connection_reports_health(call, memory_platform):
    memory_platform.down = True
    body = post(call("dan"), "/api/v1/trading/platforms/sim-live/test-connection/").json()
    assert (body["health"], body["health_message"]) == ("error", "Connection refused (test)")
    memory_platform.down = False
    assert post(call("dan"), "/api/v1/trading/platforms/sim-live/test-connection/").json()["health"] == "ok"


def test_accounts_list_filters(call):
    bea = call("bea")

    def logins(**query):
        return sorted(row["login"] for row in bea.get("/api/v1/trading/accounts/", query).json()["results"])

    assert logins() == ["500000", "500001", "900000"]
    assert logins(is_demo="true") == ["900000"]
    assert logins(platform="sim-live", currency="EUR") == ["500001"]
    assert logins(q="carl@alpha") == ["500000", "500001", "900000"]
    assert logins(q="nobody") == []
    row = bea.get("/api/v1/trading/accounts/500000/").json()
    assert (row["platform"], row["leverage"], row["state_is_stale"]) == ("sim-live", 100, False)


def test_leverage_change_by_api_reaches_the_platform_and_is_audited(call, alpha, memory_platform):
    response = post(call("dan"), "/api/v1/trading/accounts/500000/leverage/", {"leverage": 200})
    assert response.status_code == 200 and response.json()["leverage"] == 200
    assert memory_platform.accounts["500000"]["leverage"] == 200
    with tenant_context(alpha):
        record = AuditRecord.objects.get(action="trading.leverage_changed")
        assert (record.actor_email, record.after["leverage"]) == ("dan@alpha.test", 200)


def test_bad_input_and_outages_get_clear_errors(call, alpha, memory_platform):
    dan = call("dan")
    bad = post(dan, "/api/v1/trading/accounts/500000/leverage/", {"leverage": 0})
    assert bad.status_code == 400 and "leverage" in bad.json()["error"]["fields"]
    assert post(dan, "/api/v1/trading/accounts/500000/group/", {"group": ""}).status_code == 400
    memory_platform.down = True
    assert post(dan, "/api/v1/trading/accounts/500000/disable/").status_code == 400  # no reason
    down = post(dan, "/api/v1/trading/accounts/500000/disable/", {"reason": "compliance hold"})
    assert down.status_code == 503 and down.json()["error"]["code"] == "platform_unavailable"
    with tenant_context(alpha):
        assert TradingAccount.objects.get(login="500000").status == "active"
    assert post(dan, "/api/v1/trading/accounts/999999/disable/", {"reason": "x"}).status_code == 404


def test_enable_disable_and_group_by_api(call, memory_platform):
    dan = call("dan")
    assert (
        post(dan, "/api/v1/trading/accounts/500000/disable/", {"reason": "fraud check"}).json()["status"] == "disabled"
    )
    assert memory_platform.accounts["500000"]["enabled"] is False
    assert post(dan, "/api/v1/trading/accounts/500000/enable/").json()["status"] == "active"
    assert post(dan, "/api/v1/trading/accounts/500000/group/", {"group": "real\\vip"}).json()["group"] == "real\\vip"


def test_deals_filter_and_cursor_pages(call):
    bea = call("bea")

    def tickets(**query):
        return [row["ticket"] for row in bea.get("/api/v1/trading/deals/", query).json()["results"]]

    assert tickets() == [3, 2, 5, 1, 4, 6]
    assert tickets(login="500000") == [3, 2, 1, 4]
    assert tickets(symbol="EURUSD") == [2, 1, 6]
    assert tickets(ticket=5) == [5]
    assert tickets(action="balance") == [4]
    assert tickets(platform="sim-demo") == []
    first = bea.get("/api/v1/trading/deals/", {"page_size": 4}).json()
    assert "count" not in first and [row["ticket"] for row in first["results"]] == [3, 2, 5, 1]
    second = bea.get(first["next"]).json()
    assert [row["ticket"] for row in second["results"]] == [4, 6] and second["next"] is None
    deal = first["results"][1]
    assert (deal["symbol"], deal["instrument"], deal["profit"], deal["booking"]) == (
        "EURUSD",
        "EURUSD",
        "500.00000000",
        "booked",
    )


def test_deals_time_filters(call):
    from datetime import timedelta

    from django.utils import timezone

    since = (timezone.now() - timedelta(days=4)).isoformat()
    rows = call("bea").get("/api/v1/trading/deals/", {"time_after": since}).json()["results"]
    assert sorted(row["ticket"] for row in rows) == [2, 3]


def test_positions_list(call):
    rows = call("bea").get("/api/v1/trading/positions/", {"symbol": "GOLD"}).json()["results"]
    assert [(row["symbol"], row["profit"], row["swap"]) for row in rows] == [("XAUUSD", "25.00000000", "-1.20000000")]


def test_symbols_read_and_update(call, alpha):
    body = call("bea").get("/api/v1/trading/symbols/EURUSD/").json()
    assert body["aliases"] == ["EURUSD.m", "EURUSD.pro"] and body["contract_size"] == "100000.0000"
    dan = call("dan")
    response = dan.patch(
        "/api/v1/trading/symbols/EURUSD/", json.dumps({"swap_long": "-7.25"}), content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["swap_long"] == "-7.2500"
    bad = dan.patch("/api/v1/trading/symbols/EURUSD/", json.dumps({"tick_size": "0"}), content_type="application/json")
    assert bad.status_code == 400 and "tick_size" in bad.json()["error"]["fields"]
    with tenant_context(alpha):
        assert Symbol.objects.get(name="EURUSD").tick_size == D("0.00001")
        assert AuditRecord.objects.filter(action="trading.symbol_updated").count() == 1


def test_client_trading_summary_by_api(call, people):
    body = call("bea").get(f"/api/v1/clients/{people.carl_client.pk}/trading-summary/").json()
    assert (body["deal_count"], body["volume_lots"]) == (5, "5.5000")
    usd = next(row for row in body["accounts"] if row["account"]["login"] == "500000")
    assert (usd["notional"], usd["realised_pnl"], usd["floating_pnl"]) == (
        "331500.00000000",
        "486.00000000",
        "23.80000000",
    )
    week = call("bea").get(f"/api/v1/clients/{people.carl_client.pk}/trading-summary/", {"days": 7}).json()
    assert week["deal_count"] == 3
    bad = call("bea").get(f"/api/v1/clients/{people.carl_client.pk}/trading-summary/", {"days": "x"})
    assert bad.status_code == 400 and "days" in bad.json()["error"]["fields"]
    assert call("bea").get("/api/v1/clients/999999/trading-summary/").status_code == 404


def test_beta_owner_sees_none_of_alpha(call, people):
    bob = call("bob")
    assert bob.get("/api/v1/trading/accounts/500000/").status_code == 404
    logins = [row["login"] for row in bob.get("/api/v1/trading/accounts/").json()["results"]]
    assert logins == [people.beta_account_login]
    assert [row["ticket"] for row in bob.get("/api/v1/trading/deals/").json()["results"]] == [BETA_TICKET]
    alice_deals = call("alice").get("/api/v1/trading/deals/", {"ticket": BETA_TICKET}).json()["results"]
    assert alice_deals == []
