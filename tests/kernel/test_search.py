"""The global search box: clients by name, email and phone; trading logins; payment references.
Each provider applies the viewer's limits: a sales agent never finds another agent's client."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from brokerage.search import search_all
from payments.models import LedgerTransaction
from tests import factories
from tests.kernel import support_dashboard as data
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(alpha, beta):
    """Alpha: Sam (sales) holds Harriet Quill; Olga (sales) holds Horace Quill; Alice owns the tenant,
    Dan deals. Beta: Bea Quill, who alpha must never find."""
    with tenant_context(beta):
        bob = factories.staff_user("bob@beta.test", roles=["owner"])
        bea = data.client("bea.quill@beta.test", first_name="Bea", last_name="Quill", phone="+447700900999")
    with tenant_context(alpha):
        sam = factories.staff_user("sam@search.test", roles=["sales"])
        olga = factories.staff_user("olga@search.test", roles=["sales"])
        alice = factories.staff_user("alice@search.test", roles=["owner"])
        dan = factories.staff_user("dan@search.test", roles=["dealing"])
        harriet = data.client("harriet.quill@example.test", first_name="Harriet", last_name="Quill",
                              phone="+447700900123", sales_agent=sam)  # fmt: skip
        horace = data.client("horace@example.test", first_name="Horace", last_name="Quill",
                             phone="+447700900456", sales_agent=olga)  # fmt: skip
        harriet_account = data.account(harriet, "5000123")
        horace_account = data.account(horace, "5000456")
        deposit = data.deposit(harriet, "100.00", method="bank-wire", wire_reference="RF18539007547034")
        withdrawal = data.withdrawal(horace, "25.00")
    return locals()


def labels(groups) -> dict[str, list[str]]:
    return {name: [hit.label for hit in hits] for name, hits in groups}


def test_clients_are_found_by_name_words_email_and_phone(alpha, world):
    alice = world["alice"]
    with tenant_context(alpha):
        assert labels(search_all("quill", alice))["Clients"] == ["Horace Quill", "Harriet Quill"]
        assert labels(search_all("harr qui", alice))["Clients"] == ["Harriet Quill"]
        by_email = dict(search_all("Harriet.Quill@Example.test", alice))["Clients"]
        assert [(hit.label, hit.exact) for hit in by_email] == [("Harriet Quill", True)]
        # The phone as people type it: national format, spaces, brackets.
        assert labels(search_all("07700 900-456", alice))["Clients"] == ["Horace Quill"]
        assert labels(search_all("+44 (7700) 900123", alice))["Clients"] == ["Harriet Quill"]


def test_short_queries_search_no_names(alpha, world):
    with tenant_context(alpha):
        assert search_all("q", world["alice"]) == []
        assert "Clients" not in labels(search_all("qu", world["alice"]))


def test_a_sales_agent_finds_only_their_own_clients(alpha, world):
    sam = world["sam"]
    with tenant_context(alpha):
        found = labels(search_all("quill", sam))
        assert found["Clients"] == ["Harriet Quill"]
        assert search_all("horace@example.test", sam) == []
        assert search_all("07700900456", sam) == []
        assert search_all("5000456", sam) == []  # Horace's login
        assert labels(search_all("5000123", sam)) == {"Trading accounts": ["5000123"]}
        assert "Payments" not in labels(search_all("RF18539007547034", sam))  # no payments_view


def test_a_login_opens_the_account_for_trading_staff_and_the_client_for_others(alpha, world):
    harriet = world["harriet"]
    dealer = tenant_web_client(alpha, world["dan"]).get("/ops/search/", {"q": "5000123", "go": "1"})
    assert dealer.status_code == 302 and dealer["Location"] == "/ops/trading/accounts/5000123/"
    agent = tenant_web_client(alpha, world["sam"]).get("/ops/search/", {"q": "5000123", "go": "1"})
    assert agent.status_code == 302 and agent["Location"] == f"/ops/crm/clients/{harriet.pk}/"
    # A prefix lists both accounts and opens neither.
    listed = tenant_web_client(alpha, world["dan"]).get("/ops/search/", {"q": "50001", "go": "1"})
    assert listed.status_code == 200 and "5000123" in listed.content.decode()


def test_payment_references_open_the_payment(alpha, world):
    web = tenant_web_client(alpha, world["alice"])
    deposit, withdrawal = world["deposit"], world["withdrawal"]
    deposit_url = f"/ops/payments/deposits/{deposit.public_id}/"
    for query in ("RF18539007547034", "rf18 5390 0754 7034", str(deposit.public_id)):
        response = web.get("/ops/search/", {"q": query, "go": "1"})
        assert (response.status_code, response["Location"]) == (302, deposit_url), query
    paid = web.get("/ops/search/", {"q": withdrawal.payout_reference, "go": "1"})
    assert paid["Location"] == f"/ops/payments/withdrawals/{withdrawal.public_id}/"
    with tenant_context(alpha):
        txn = LedgerTransaction.objects.get(pk=deposit.transaction_id)
    posting = web.get("/ops/search/", {"q": txn.reference, "go": "1"})
    assert posting["Location"] == f"/ops/payments/transactions/{txn.pk}/"
    # The destinations open.
    assert web.get(deposit_url).status_code == 200


def test_payment_hits_show_amounts_as_money_and_wire_references_may_have_dashes(alpha, world):
    alice = world["alice"]
    with tenant_context(alpha):
        data.deposit(world["harriet"], "3750", method="bank-wire", wire_reference="RF31KBYQGPET")
        for query in ("RF31-KBYQ-GPET", "rf31 kbyq gpet", "RF31KBYQGPET", " RF31 - KBYQ - GPET "):
            assert labels(search_all(query, alice)) == {"Payments": ["3,750.00 USD · Completed"]}, query
        payout = dict(search_all(world["withdrawal"].payout_reference, alice))["Payments"]
        assert [hit.label for hit in payout] == ["25.00 USD · Waiting for approval"]
    html = tenant_web_client(alpha, alice).get("/ops/search/", {"q": "RF31-KBYQ-GPET"}).content.decode()
    assert "3,750.00 USD" in html and "3750.0000" not in html


def test_the_results_page_groups_hits_and_enter_on_several_stays_on_the_list(alpha, world):
    web = tenant_web_client(alpha, world["alice"])
    response = web.get("/ops/search/", {"q": "quill", "go": "1"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h2>Clients</h2>" in html and "Harriet Quill" in html and "Horace Quill" in html
    assert f'href="/ops/crm/clients/{world["harriet"].pk}/"' in html
    assert "Bea" not in html  # beta's client


def test_the_typeahead_returns_a_small_dropdown(alpha, world):
    web = tenant_web_client(alpha, world["alice"])
    fragment = web.get("/ops/search/", {"q": "harriet"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and "search-menu" in fragment
    assert "Harriet Quill" in fragment and "All results for" in fragment
    empty = web.get("/ops/search/", {"q": "zzzzzz"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Nothing found" in empty


def test_another_tenants_clients_are_never_found(alpha, beta, world):
    with tenant_context(alpha):
        assert search_all("bea.quill@beta.test", world["alice"]) == []
        assert search_all("07700900999", world["alice"]) == []
    with tenant_context(beta):
        assert labels(search_all("quill", world["bob"]))["Clients"] == ["Bea Quill"]


def test_search_needs_ops_access(alpha, world):
    with tenant_context(alpha):
        carl = factories.client_user("carl@search.test")
    assert tenant_web_client(alpha, carl).get("/ops/search/", {"q": "quill"}).status_code == 403
    assert tenant_web_client(alpha).get("/ops/search/", {"q": "quill"}).status_code == 302


def test_every_ops_page_has_the_search_box(alpha, world):
    html = tenant_web_client(alpha, world["alice"]).get("/ops/").content.decode()
    assert 'action="/ops/search/"' in html and 'hx-get="/ops/search/"' in html
