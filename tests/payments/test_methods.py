"""Methods & policy in /ops/payments/methods/ and in the tenant admin: who may change what, validation, audit."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django_tenants.utils import tenant_context

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from payments.models import MethodCurrency, PaymentMethod, PaymentPolicy
from payments.wallets.services import CurrencyLimits, method_update, policy_update
from tests import factories
from tests.payments.wallets_support import people_make, user_of
from tests.tenants.web import tenant_web_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alpha, beta):
    return people_make(alpha, beta)


def web(alpha, people, who):
    return tenant_web_client(alpha, user_of(people, who) if who else None)


def card_form(**changes):
    """The card method's edit form as the page sends it (USD, EUR, GBP rows and an empty one)."""
    data = {
        "deposits_enabled": "on",
        "withdrawals_enabled": "on",
        "fee_percent": "2.5",
        "currencies-TOTAL_FORMS": "4",
        "currencies-INITIAL_FORMS": "3",
        "currencies-MIN_NUM_FORMS": "0",
        "currencies-MAX_NUM_FORMS": "1000",
    }
    for index, currency in enumerate(["EUR", "GBP", "USD"]):
        data |= {
            f"currencies-{index}-currency": currency,
            f"currencies-{index}-fee_fixed": "0.30",
            f"currencies-{index}-min_amount": "10",
            f"currencies-{index}-max_amount": "10000",
        }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def limits(code="card"):
    return {
        mc.currency: (mc.fee_fixed, mc.min_amount, mc.max_amount)
        for mc in MethodCurrency.objects.filter(method__code=code)
    }


@pytest.mark.parametrize(("who", "expected"), [(None, 302), ("carl", 403), ("sam", 403), ("bea", 403), ("fiona", 200)])
def test_only_payments_manage_opens_the_edit_pages(alpha, people, who, expected):
    browser = web(alpha, people, who)
    assert browser.get("/ops/payments/methods/card/").status_code == expected
    assert browser.get("/ops/payments/methods/policy/").status_code == expected
    assert browser.post("/ops/payments/methods/card/rotate-secret/").status_code == expected


def test_back_office_sees_methods_and_policy_without_edit_buttons_and_no_secret(alpha, people):
    with tenant_context(alpha):
        secret = PaymentMethod.objects.get(code="card").webhook_secret
    page = web(alpha, people, "bea").get("/ops/payments/methods/").content.decode()
    assert "Card" in page and "Bank wire" in page and "10,000.00" in page
    assert secret not in page and "••••" + secret[-4:] in page
    assert "/ops/payments/methods/card/" not in page and "Edit the policy" not in page
    assert "Edit the policy" in web(alpha, people, "fiona").get("/ops/payments/methods/").content.decode()


def test_finance_changes_a_limit_removes_and_adds_a_currency_audited(alpha, people):
    form = card_form(
        **{
            "currencies-2-max_amount": "5000",  # USD max
            "currencies-1-DELETE": "on",  # GBP out
            "currencies-3-currency": "CHF",
            "currencies-3-fee_fixed": "0.50",
            "currencies-3-min_amount": "20",
            "currencies-3-max_amount": "8000",
            "withdrawals_enabled": None,
        }
    )
    response = web(alpha, people, "fiona").post("/ops/payments/methods/card/", form)
    assert response.status_code == 302
    with tenant_context(alpha):
        assert limits() == {
            "CHF": (D("0.50"), D("20"), D("8000")),
            "EUR": (D("0.30"), D("10"), D("10000")),
            "USD": (D("0.30"), D("10"), D("5000")),
        }
        assert PaymentMethod.objects.get(code="card").withdrawals_enabled is False
        record = AuditRecord.objects.get(action="payments.method.updated")
        assert record.actor_email == "fiona@alpha.test"
        assert record.before["currencies"]["USD"]["max"] == "10000.00000000"
        assert record.after["currencies"]["USD"]["max"] == "5000.00000000"
        assert "GBP" in record.before["currencies"] and "GBP" not in record.after["currencies"]
        assert record.after["withdrawals_enabled"] is False


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"currencies-2-min_amount": "20000"}, "Must be at least the minimum."),
        ({"currencies-2-min_amount": "0"}, "Ensure this value is greater than or equal to"),
        ({"currencies-2-fee_fixed": "-1"}, "Ensure this value is greater than or equal to 0"),
        ({"currencies-2-max_amount": "100.001"}, "At most 2 decimals in USD."),
        ({"currencies-1-currency": "EUR"}, "Listed twice."),
        ({"fee_percent": "100"}, "fee"),
        ({"currencies-3-currency": "JPY", "currencies-3-fee_fixed": "1", "currencies-3-min_amount": "0.5",
          "currencies-3-max_amount": "100"}, "At most 0 decimals in JPY."),
    ],
)  # fmt: skip
def test_bad_limits_are_explained_and_nothing_changes(alpha, people, changes, message):
    with tenant_context(alpha):
        before = limits()
    response = web(alpha, people, "fiona").post("/ops/payments/methods/card/", card_form(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_context(alpha):
        assert limits() == before
        assert not AuditRecord.objects.filter(action="payments.method.updated").exists()


def test_the_service_refuses_bad_limits_whoever_calls_it(in_alpha, alice):
    from payments.defaults import payment_defaults_ensure

    payment_defaults_ensure()
    card = PaymentMethod.objects.get(code="card")
    with pytest.raises(ApplicationError, match="USD"):
        method_update(
            method=card,
            deposits_enabled=True,
            withdrawals_enabled=True,
            fee_percent=D("1"),
            currencies=[CurrencyLimits("USD", D("0"), D("500"), D("100"))],
            actor=alice,
        )
    assert MethodCurrency.objects.filter(method=card).count() == 3


def test_rotating_the_secret_shows_the_new_one_once_and_audits_without_it(alpha, people):
    with tenant_context(alpha):
        old = PaymentMethod.objects.get(code="card").webhook_secret
    fiona = web(alpha, people, "fiona")
    response = fiona.post("/ops/payments/methods/card/rotate-secret/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    with tenant_context(alpha):
        new = PaymentMethod.objects.get(code="card").webhook_secret
        record = AuditRecord.objects.get(action="payments.method.secret_rotated")
    assert new != old and new.startswith("whsec_")
    assert new in response.content.decode()
    assert new not in fiona.get("/ops/payments/methods/card/").content.decode()
    assert new not in str(record.after) and old not in str(record.after)
    assert fiona.get("/ops/payments/methods/card/rotate-secret/").status_code == 405


def test_finance_edits_the_policy_audited(alpha, people):
    response = web(alpha, people, "fiona").post(
        "/ops/payments/methods/policy/",
        {
            "auto_approve_limit": "500",
            "four_eyes_threshold": "20000",
            "daily_withdrawal_limit": "30000",
            "fx_markup_percent": "0.75",
            "rate_feed": "manual",
        },
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        policy = PaymentPolicy.current()
        assert (policy.auto_approve_limit, policy.fx_markup_percent, policy.rate_feed) == (
            D("500"),
            D("0.75"),
            "manual",
        )
        record = AuditRecord.objects.get(action="payments.policy.updated")
        assert record.before["fx_markup_percent"] == "0.5000" and record.after["fx_markup_percent"] == "0.7500"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"auto_approve_limit": "20000", "four_eyes_threshold": "10000"}, "Cannot exceed the four-eyes threshold"),
        ({"auto_approve_limit": "600", "daily_withdrawal_limit": "500"}, "Cannot exceed the daily withdrawal limit"),
        ({"fx_markup_percent": "12"}, "From 0 to 10 percent"),
        ({"fx_markup_percent": "-1"}, "From 0 to 10 percent"),
        ({"daily_withdrawal_limit": "-5"}, "Not below zero"),
        ({"four_eyes_threshold": "100.001"}, "At most 2 decimals (USD)"),
        ({"rate_feed": "bloomberg"}, "Select a valid choice"),
    ],
)
def test_a_bad_policy_is_explained_and_not_saved(alpha, people, changes, message):
    values = {
        "auto_approve_limit": "0",
        "four_eyes_threshold": "10000",
        "daily_withdrawal_limit": "50000",
        "fx_markup_percent": "0.5",
        "rate_feed": "demo",
    } | changes
    response = web(alpha, people, "fiona").post("/ops/payments/methods/policy/", values)
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_context(alpha):
        assert not AuditRecord.objects.filter(action="payments.policy.updated").exists()


def test_policy_update_refuses_what_the_form_would(in_alpha, alice):
    with pytest.raises(ApplicationError) as error:
        policy_update(
            auto_approve_limit=D("5"),
            four_eyes_threshold=D("1"),
            daily_withdrawal_limit=D("0"),
            fx_markup_percent=D("0.5"),
            rate_feed="demo",
            actor=alice,
        )
    assert "auto_approve_limit" in error.value.fields


# The tenant admin ------------------------------------------------------------------------------


@pytest.fixture
def owner(alpha, people):
    with tenant_context(alpha):
        return factories.staff_user("olive@alpha.test", roles=["owner"])


def test_the_admin_shows_money_records_read_only_and_never_the_secret(alpha, people, owner):
    admin = tenant_web_client(alpha, owner)
    with tenant_context(alpha):
        secret = PaymentMethod.objects.get(code="card").webhook_secret
        method_pk = PaymentMethod.objects.get(code="card").pk
        from payments.models import LedgerTransaction

        txn = LedgerTransaction.objects.first()
    page = admin.get(f"/admin/payments/ledgertransaction/{txn.pk}/change/")
    assert page.status_code == 200 and b'name="reference"' not in page.content
    assert admin.get("/admin/payments/ledgertransaction/add/").status_code == 403
    assert admin.post(f"/admin/payments/ledgertransaction/{txn.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin.get("/admin/payments/deposit/").status_code == 200
    method_page = admin.get(f"/admin/payments/paymentmethod/{method_pk}/change/").content.decode()
    assert secret not in method_page and "webhook_secret" not in method_page


def test_an_admin_change_to_a_method_is_validated_and_audited(alpha, people, owner):
    admin = tenant_web_client(alpha, owner)
    with tenant_context(alpha):
        card = PaymentMethod.objects.get(code="card")
        rows = list(card.currencies.order_by("currency"))
    data = {
        "name": "Card",
        "deposits_enabled": "on",
        "withdrawals_enabled": "on",
        "fee_percent": "3",
        "sort_order": "0",
        "settings": "{}",
        "currencies-TOTAL_FORMS": str(len(rows)),
        "currencies-INITIAL_FORMS": str(len(rows)),
        "currencies-MIN_NUM_FORMS": "0",
        "currencies-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data |= {
            f"currencies-{index}-id": str(row.pk),
            f"currencies-{index}-method": str(card.pk),
            f"currencies-{index}-currency": row.currency,
            f"currencies-{index}-fee_fixed": "0.30",
            f"currencies-{index}-min_amount": "10",
            f"currencies-{index}-max_amount": "10000",
        }
    bad = admin.post(f"/admin/payments/paymentmethod/{card.pk}/change/", data | {"currencies-0-max_amount": "5"})
    assert bad.status_code == 200 and "Must be at least the minimum." in bad.content.decode()
    good = admin.post(f"/admin/payments/paymentmethod/{card.pk}/change/", data | {"currencies-0-max_amount": "9000"})
    assert good.status_code == 302
    with tenant_context(alpha):
        card.refresh_from_db()
        assert card.fee_percent == D("3")
        assert card.webhook_secret  # untouched by a form that never showed it
        assert AuditRecord.objects.filter(action="admin.payments.paymentmethod.updated").exists()
        changed = AuditRecord.objects.get(action="admin.payments.methodcurrency.changed")
        assert changed.after["currencies"]["EUR"]["max"] == "9000.00000000"
