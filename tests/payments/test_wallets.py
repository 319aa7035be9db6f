"""Ledger pages in /ops/payments/, the overview, the dashboard cards and the client's funds pages.

Personas (wallets_support.people): in alpha Carl (client, 1,000.00 USD) and Cleo (client),
Fiona (finance), Bea (back office: may look, not change), Sam (sales: no payments);
in beta Bob, its owner, who must see nothing of alpha.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from payments import ledger
from payments.ledger import Kind, Line
from payments.models import LedgerTransaction
from tests import factories
from tests.payments.wallets_support import fund, people_make, rate, user_of
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alpha, beta):
    return people_make(alpha, beta)


@pytest.fixture
def deposit_txn(alpha, people):
    with tenant_context(alpha):
        return LedgerTransaction.objects.get(client=people["carl"], kind="deposit")


def web(alpha, people, who):
    return tenant_web_client(alpha, user_of(people, who) if who else None)


# Permissions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "expected"), [(None, 302), ("carl", 403), ("sam", 403), ("bea", 200), ("fiona", 200)])
@pytest.mark.parametrize("screen", ["home", "accounts", "account", "transaction", "rates", "methods"])
def test_ledger_pages_need_payments_view(alpha, people, deposit_txn, who, expected, screen):
    with tenant_context(alpha):
        wallet = ledger.wallet_for(people["carl"], "USD")
    url = {
        "home": "/ops/payments/",
        "accounts": "/ops/payments/accounts/",
        "account": f"/ops/payments/accounts/{wallet.pk}/",
        "transaction": f"/ops/payments/transactions/{deposit_txn.pk}/",
        "rates": "/ops/payments/rates/",
        "methods": "/ops/payments/methods/",
    }[screen]
    assert web(alpha, people, who).get(url).status_code == expected


@pytest.mark.parametrize(("who", "expected"), [(None, 302), ("carl", 403), ("sam", 403), ("bea", 403)])
def test_reversal_and_adjustment_need_payments_manage(alpha, people, deposit_txn, who, expected):
    with tenant_context(alpha):
        wallet = ledger.wallet_for(people["carl"], "USD")
    browser = web(alpha, people, who)
    assert browser.get(f"/ops/payments/transactions/{deposit_txn.pk}/reverse/").status_code == expected
    response = browser.post(f"/ops/payments/transactions/{deposit_txn.pk}/reverse/", {"reason": "x"})
    assert response.status_code == expected
    response = browser.post(
        f"/ops/payments/accounts/{wallet.pk}/adjust/",
        {"direction": "credit", "amount": "5", "reason": "x", "request_key": "k"},
    )
    assert response.status_code == expected
    with tenant_context(alpha):
        assert LedgerTransaction.objects.count() == 1
        assert ledger.wallet_for(people["carl"], "USD").balance == D("1000.00")


def test_beta_sees_nothing_of_alpha(alpha, beta, people, deposit_txn):
    bob = tenant_web_client(beta, people["bob"])
    response = bob.get(f"/ops/payments/transactions/{deposit_txn.pk}/")
    assert response.status_code == 404
    accounts = bob.get("/ops/payments/accounts/?q=carl")
    assert b"carl@alpha.test" not in accounts.content and b"No accounts match" in accounts.content
    # Alpha's session means nothing on beta's domain.
    fiona_on_beta = tenant_web_client(beta)
    fiona_on_beta.cookies = web(alpha, people, "fiona").cookies
    assert fiona_on_beta.get("/ops/payments/accounts/").status_code == 302


# Accounts and transactions -----------------------------------------------------------------------


def test_accounts_are_filtered_by_kind_currency_and_client(alpha, people):
    with tenant_context(alpha):
        fund(people["cleo"], D("25.00"), "EUR")
    fiona = web(alpha, people, "fiona")
    page = fiona.get("/ops/payments/accounts/", {"kind": "client_wallet"}).content.decode()
    assert "carl@alpha.test" not in page  # names, not emails, in the list
    assert people["carl"].last_name in page and people["cleo"].last_name in page
    assert "psp_clearing:bank-wire:USD" not in page
    assert "psp_clearing:bank-wire:USD" in fiona.get("/ops/payments/accounts/").content.decode()
    page = fiona.get("/ops/payments/accounts/", {"currency": "EUR"}).content.decode()
    assert people["cleo"].last_name in page and people["carl"].last_name not in page
    page = fiona.get("/ops/payments/accounts/", {"q": "cleo@alpha"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in page and people["cleo"].last_name in page and people["carl"].last_name not in page
    assert "25.00" in page


def test_the_account_list_runs_the_same_queries_for_2_rows_as_for_12(alpha, people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fiona = web(alpha, people, "fiona")
    fiona.get("/ops/payments/accounts/")
    with CaptureQueriesContext(connection) as few:
        assert "2 accounts" in fiona.get("/ops/payments/accounts/").content.decode()
    with tenant_context(alpha):
        for currency in ["EUR", "GBP", "CHF", "JPY", "AUD", "CAD", "SEK", "NOK", "DKK", "PLN"]:
            fund(people["cleo"], D("1.00"), currency)
    with CaptureQueriesContext(connection) as many:
        assert "22 accounts" in fiona.get("/ops/payments/accounts/").content.decode()
    assert len(many) == len(few)


def test_an_account_shows_its_lines_with_running_balance_and_the_balance_at_a_moment(alpha, people):
    with tenant_context(alpha):
        carl = people["carl"]
        fund(carl, D("50.00"))
        wallet = ledger.wallet_for(carl, "USD")
        first_line = wallet.lines.order_by("id").first()
    fiona = web(alpha, people, "fiona")
    page = fiona.get(f"/ops/payments/accounts/{wallet.pk}/").content.decode()
    assert "1,050.00" in page and "1,000.00" in page  # balances after each line
    moment = (first_line.transaction.posted_at + timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")
    page = fiona.get(f"/ops/payments/accounts/{wallet.pk}/", {"at": moment}).content.decode()
    assert 'id="balance-then">1,000.00 USD' in page
    future = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page = fiona.get(f"/ops/payments/accounts/{wallet.pk}/", {"at": future}).content.decode()
    assert "Choose a moment in the past." in page


def test_a_transaction_shows_its_lines_and_what_it_belongs_to(alpha, people):
    from payments.wallets.conversion import conversion_execute

    with tenant_context(alpha):
        rate("USD", "EUR", "0.92")
        conversion = conversion_execute(
            client=people["carl"],
            from_currency="USD",
            to_currency="EUR",
            amount=D("100.00"),
            request_key="k",
            actor=people["carl"].user,
        )
    page = web(alpha, people, "bea").get(f"/ops/payments/transactions/{conversion.transaction_id}/").content.decode()
    assert "Conversion" in page and "100.00 USD → 91.54 EUR" in page
    assert "-92.00 EUR" in page and "0.46 EUR" in page
    assert "Reverse this transaction" not in page  # back office may look, not reverse


# Reversal ----------------------------------------------------------------------------------------


def test_finance_reverses_a_transaction_with_a_reason_after_confirming(alpha, people):
    with tenant_context(alpha):
        txn = ledger.transaction_post(
            kind="deposit",
            reference="mistake",
            lines=[
                Line(ledger.system_account(Kind.PSP_CLEARING, "USD", "card"), D("-40.00")),
                Line(ledger.wallet_for(people["carl"], "USD"), D("40.00")),
            ],
            client=people["carl"],
        )
    fiona = web(alpha, people, "fiona")
    assert "Reverse this transaction" in fiona.get(f"/ops/payments/transactions/{txn.pk}/").content.decode()
    confirm = fiona.get(f"/ops/payments/transactions/{txn.pk}/reverse/").content.decode()
    assert "-40.00 USD" in confirm and "Reason" in confirm
    refused = fiona.post(f"/ops/payments/transactions/{txn.pk}/reverse/", {"reason": "  "})
    assert refused.status_code == 400 and "This field is required." in refused.content.decode()
    response = fiona.post(f"/ops/payments/transactions/{txn.pk}/reverse/", {"reason": "Posted twice by mistake"})
    assert response.status_code == 302
    with tenant_context(alpha):
        reversal = LedgerTransaction.objects.get(reverses=txn)
        assert response["Location"] == f"/ops/payments/transactions/{reversal.pk}/"
        assert ledger.wallet_for(people["carl"], "USD").balance == D("1000.00")
        record = AuditRecord.objects.get(action="payments.transaction.reversed")
        assert record.actor_email == "fiona@alpha.test" and record.after["reason"] == "Posted twice by mistake"
    page = fiona.get(f"/ops/payments/transactions/{txn.pk}/").content.decode()
    assert "Reversed by" in page and "Reverse this transaction" not in page
    again = fiona.post(f"/ops/payments/transactions/{txn.pk}/reverse/", {"reason": "again"})
    assert "already been reversed" in again.content.decode()


def test_a_reversal_that_would_overdraw_the_wallet_is_refused_clearly(alpha, people, deposit_txn):
    with tenant_context(alpha):
        wallet = ledger.wallet_for(people["carl"], "USD")
        ledger.hold_place(wallet, D("700.00"), reference="withdrawal")
    response = web(alpha, people, "fiona").post(
        f"/ops/payments/transactions/{deposit_txn.pk}/reverse/", {"reason": "chargeback"}
    )
    assert response.status_code == 400
    assert "Reversing would overdraw" in response.content.decode()
    assert "300.00 USD available" in response.content.decode()
    with tenant_context(alpha):
        assert not LedgerTransaction.objects.filter(reverses=deposit_txn).exists()
        assert not AuditRecord.objects.filter(action="payments.transaction.reversed").exists()


# Adjustment --------------------------------------------------------------------------------------


def test_finance_adjusts_a_wallet_against_suspense_once_per_form(alpha, people):
    with tenant_context(alpha):
        wallet = ledger.wallet_for(people["carl"], "USD")
    fiona = web(alpha, people, "fiona")
    form = {"direction": "debit", "amount": "12.50", "reason": "Bank charge passed on", "request_key": "form-1"}
    assert fiona.post(f"/ops/payments/accounts/{wallet.pk}/adjust/", form).status_code == 302
    assert fiona.post(f"/ops/payments/accounts/{wallet.pk}/adjust/", form).status_code == 302  # double submit
    with tenant_context(alpha):
        wallet.refresh_from_db()
        assert wallet.balance == D("987.50")
        assert ledger.system_account(Kind.SUSPENSE, "USD").balance == D("12.50")
        assert AuditRecord.objects.filter(action="payments.wallet.adjusted").count() == 1
        assert LedgerTransaction.objects.filter(kind="adjustment").count() == 1


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"direction": "debit", "amount": "5000", "reason": "x"}, "Not enough available funds"),
        ({"direction": "credit", "amount": "1.234", "reason": "x"}, "At most 2 decimals"),
        ({"direction": "credit", "amount": "1", "reason": ""}, "This field is required"),
        ({"direction": "credit", "amount": "0", "reason": "x"}, "greater than or equal to"),
    ],
)
def test_a_bad_adjustment_is_explained_and_nothing_moves(alpha, people, form, message):
    with tenant_context(alpha):
        wallet = ledger.wallet_for(people["carl"], "USD")
    response = web(alpha, people, "fiona").post(
        f"/ops/payments/accounts/{wallet.pk}/adjust/", {**form, "request_key": "k"}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_context(alpha):
        assert not LedgerTransaction.objects.filter(kind="adjustment").exists()


def test_only_client_wallets_are_adjusted(alpha, people):
    with tenant_context(alpha):
        clearing = ledger.system_account(Kind.PSP_CLEARING, "USD", "bank-wire")
    fiona = web(alpha, people, "fiona")
    assert "Manual adjustment" not in fiona.get(f"/ops/payments/accounts/{clearing.pk}/").content.decode()
    response = fiona.post(
        f"/ops/payments/accounts/{clearing.pk}/adjust/",
        {"direction": "credit", "amount": "1", "reason": "x", "request_key": "k"},
        follow=True,
    )
    assert "Only client wallets are adjusted by hand." in response.content.decode()
    with tenant_context(alpha):
        assert not LedgerTransaction.objects.filter(kind="adjustment").exists()


# Overview and dashboard --------------------------------------------------------------------------


def test_the_ledger_proof_runs_on_demand(alpha, people):
    bea = web(alpha, people, "bea")
    page = bea.get("/ops/payments/").content.decode()
    assert "Run the ledger proof" in page and "The books balance" not in page
    fragment = bea.post("/ops/payments/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and "The books balance" in fragment and "USD 0.00" in fragment
    full = bea.post("/ops/payments/").content.decode()
    assert "<html" in full and "The books balance" in full


def test_the_ledger_proof_names_what_is_wrong(alpha, people):
    from django.db import connection

    with tenant_context(alpha):
        wallet = ledger.wallet_for(people["carl"], "USD")
        with connection.cursor() as cursor:  # a stored balance changed behind the ledger's back
            cursor.execute("UPDATE payments_ledgeraccount SET balance = 999 WHERE id = %s", [wallet.pk])
    fragment = web(alpha, people, "fiona").post("/ops/payments/", HTTP_HX_REQUEST="true").content.decode()
    assert "problem" in fragment and f"wallet:{people['carl'].pk}:USD" in fragment


def test_the_dashboard_cards_count_todays_deposits_and_open_withdrawals(alpha, people):
    from brokerage.dashboard import _CARDS

    titles = {card.title: card for card in _CARDS}
    assert titles["Deposits today"].url_name == "ops:payments_deposits"
    assert titles["Open withdrawals"].url_name == "ops:payments_withdrawals"
    with tenant_context(alpha):
        assert titles["Deposits today"].value() == 0
        assert titles["Open withdrawals"].value() == 0


# Portal ------------------------------------------------------------------------------------------


def test_the_client_sees_wallets_and_a_filtered_paginated_statement(alpha, people):
    with tenant_context(alpha):
        carl = people["carl"]
        for _ in range(25):
            fund(carl, D("1.00"))
        fund(carl, D("30.00"), "EUR")
    browser = web(alpha, people, "carl")
    page = browser.get("/portal/funds/").content.decode()
    assert "1,025.00" in page and "30.00" in page
    assert "Page 1 of 2" in page
    page = browser.get("/portal/funds/", {"currency": "EUR"}).content.decode()
    assert "30.00 EUR" in page and "Page 1 of" not in page and "1.00 USD" not in page
    page = browser.get("/portal/funds/", {"kind": "conversion"}).content.decode()
    assert "No movements match these filters." in page
    page = browser.get("/portal/funds/", {"since": "2030-01-02", "until": "2030-01-01"}).content.decode()
    assert "Must be on or after the start date." in page


def test_the_statement_downloads_as_csv_with_the_same_filters(alpha, people):
    with tenant_context(alpha):
        fund(people["carl"], D("30.00"), "EUR")
    response = web(alpha, people, "carl").get("/portal/funds/statement.csv", {"currency": "EUR"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["posted_at", "type", "description", "currency", "amount", "balance_after"]
    assert [row[3:] for row in rows[1:]] == [["EUR", "30.00000000", "30.00000000"]]


def test_a_client_sees_only_their_own_funds(alpha, people):
    page = web(alpha, people, "cleo").get("/portal/funds/").content.decode()
    assert "1,000.00" not in page and "You have no funds yet" in page
    rows = b"".join(web(alpha, people, "cleo").get("/portal/funds/statement.csv").streaming_content).decode()
    assert rows.count("\n") == 1


@pytest.mark.parametrize(("who", "expected"), [(None, 302), ("fiona", 403)])
def test_portal_funds_pages_are_for_clients(alpha, people, who, expected):
    browser = web(alpha, people, who)
    for url in ["/portal/funds/", "/portal/funds/statement.csv", "/portal/funds/convert/"]:
        assert browser.get(url).status_code == expected, url


def test_the_funds_page_links_to_what_the_client_can_do(alpha, people):
    page = web(alpha, people, "carl").get("/portal/funds/").content.decode()
    assert 'href="/portal/funds/convert/"' in page
    assert "Download CSV" in page
    assert 'href="/portal/funds/convert/"' not in web(alpha, people, "cleo").get("/portal/funds/").content.decode()


def test_a_deposits_transaction_links_to_the_deposit_and_back(alpha, people):
    from payments.deposits.services import deposit_confirm, deposit_start
    from payments.models import PaymentMethod

    with tenant_context(alpha):
        deposit = deposit_start(
            client=factories.kyc_approved(people["cleo"]),
            method=PaymentMethod.objects.get(code="bank-wire"),
            currency="USD",
            amount=D("250.00"),
            actor=None,
            return_url="/portal/funds/",
        )
        deposit = deposit_confirm(deposit, amount=D("250.00"), actor_label="test")
    page = web(alpha, people, "bea").get(f"/ops/payments/transactions/{deposit.transaction_id}/").content.decode()
    assert f'href="/ops/payments/deposits/{deposit.public_id}/"' in page
