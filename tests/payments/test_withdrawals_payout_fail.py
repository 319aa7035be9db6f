"""Finance ends a payout that will not be made: the bank returned the wire, or the PSP never answered.

Carl (client, 1,000.00 USD) has a bank-wire withdrawal sent for payment; Fiona (finance) marks it failed,
Bea (back office) may look but not do it.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django_tenants.utils import tenant_context

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from payments.adapters import registry
from payments.defaults import payment_defaults_ensure
from payments.models import LedgerAccount, PaymentMethod, Withdrawal
from payments.withdrawals import services
from tests import factories
from tests.payments.withdrawals_support import BANK, FakePayouts, client_with_kyc, finance, fund
from tests.tenants.web import api_client, tenant_web_client

pytestmark = pytest.mark.django_db
Status = Withdrawal.Status
NOTE = "Use when the bank returned the wire or the payout cannot be made: the funds go back to the client's wallet"


@pytest.fixture
def people(alpha, monkeypatch):
    FakePayouts.reset()
    monkeypatch.setitem(registry.ADAPTERS, FakePayouts.provider, FakePayouts)
    with tenant_context(alpha):
        payment_defaults_ensure()
        PaymentMethod.objects.update(provider=FakePayouts.provider)
        carl = client_with_kyc("carl@alpha.test")
        fund(carl, D("1000.00"))
        return {
            "carl": carl,
            "fiona": finance("fiona@alpha.test"),
            "frank": finance("frank@alpha.test"),
            "bea": factories.staff_user("bea@alpha.test", roles=["back_office"]),
        }


def wallet(alpha, client) -> LedgerAccount:
    with tenant_context(alpha):
        return LedgerAccount.objects.get(client=client, currency="USD")


def requested(alpha, people) -> Withdrawal:
    with tenant_context(alpha):
        return services.withdrawal_request(
            client=people["carl"],
            method=PaymentMethod.objects.get(code="bank-wire"),
            currency="USD",
            amount=D("250.00"),
            destination=BANK,
            actor=people["carl"].user,
        )


def processing(alpha, people) -> Withdrawal:
    """A bank-wire withdrawal approved by Frank and sent to the provider."""
    withdrawal = requested(alpha, people)
    with tenant_context(alpha):
        services.withdrawal_approve(withdrawal=withdrawal, actor=people["frank"])
        withdrawal = services.withdrawal_payout_send(withdrawal_id=withdrawal.pk)
    assert withdrawal.status == Status.PROCESSING
    return withdrawal


def reload(alpha, withdrawal) -> Withdrawal:
    with tenant_context(alpha):
        return Withdrawal.objects.select_related("hold").get(pk=withdrawal.pk)


def test_finance_fails_a_processing_payout_and_the_funds_come_back(alpha, people):
    before = wallet(alpha, people["carl"]).available
    withdrawal = processing(alpha, people)
    assert wallet(alpha, people["carl"]).available == before - D("250.00")
    with tenant_context(alpha):
        failed = services.withdrawal_payout_fail(
            withdrawal=withdrawal, actor=people["fiona"], reason="  Wire returned by the bank:  account closed "
        )
    assert (failed.status, failed.reason) == (Status.FAILED, "Wire returned by the bank: account closed")
    after = wallet(alpha, people["carl"])
    assert (after.available, after.held, after.balance) == (before, D("0"), D("1000.00"))
    assert reload(alpha, withdrawal).hold.status == "released"
    with tenant_context(alpha):
        record = AuditRecord.objects.get(action="payments.withdrawal.payout_failed")
        assert (record.actor_email, record.object_id) == ("fiona@alpha.test", str(withdrawal.pk))
        assert (record.before["status"], record.after["status"]) == ("processing", "failed")
        steps = {event.status: event for event in withdrawal.events.all()}
        assert steps["failed"].actor == people["fiona"] and steps["hold_released"].actor == people["fiona"]


def test_an_approved_payout_not_yet_sent_can_be_failed_too(alpha, people):
    withdrawal = requested(alpha, people)
    with tenant_context(alpha):
        services.withdrawal_approve(withdrawal=withdrawal, actor=people["frank"])
        services.withdrawal_payout_fail(withdrawal=withdrawal, actor=people["fiona"], reason="Beneficiary bank refused")
    assert reload(alpha, withdrawal).status == Status.FAILED
    assert wallet(alpha, people["carl"]).held == D("0")


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required(alpha, people, reason):
    withdrawal = processing(alpha, people)
    with tenant_context(alpha), pytest.raises(ApplicationError) as error:
        services.withdrawal_payout_fail(withdrawal=withdrawal, actor=people["fiona"], reason=reason)
    assert "reason" in error.value.fields
    assert reload(alpha, withdrawal).status == Status.PROCESSING
    assert wallet(alpha, people["carl"]).held == D("250.00")


def test_a_paid_withdrawal_cannot_be_failed(alpha, people):
    withdrawal = processing(alpha, people)
    with tenant_context(alpha):
        services.withdrawal_payout_settled(withdrawal, paid=True, actor_label="psp:fake_payouts")
        with pytest.raises(ApplicationError, match="paid; only an approved or processing"):
            services.withdrawal_payout_fail(withdrawal=withdrawal, actor=people["fiona"], reason="Returned")
        assert not AuditRecord.objects.filter(action="payments.withdrawal.payout_failed").exists()
    assert reload(alpha, withdrawal).status == Status.PAID
    assert wallet(alpha, people["carl"]).balance == D("750.00")


def test_a_withdrawal_waiting_for_review_cannot_be_failed(alpha, people):
    withdrawal = requested(alpha, people)
    with tenant_context(alpha), pytest.raises(ApplicationError):
        services.withdrawal_payout_fail(withdrawal=withdrawal, actor=people["fiona"], reason="Returned")
    assert reload(alpha, withdrawal).status == Status.PENDING_REVIEW


def test_the_service_needs_payments_approve(alpha, people):
    withdrawal = processing(alpha, people)
    with tenant_context(alpha), pytest.raises(PermissionDenied):
        services.withdrawal_payout_fail(withdrawal=withdrawal, actor=people["bea"], reason="Returned")


def test_finance_fails_a_payout_from_the_ops_page(alpha, people):
    withdrawal = processing(alpha, people)
    web = tenant_web_client(alpha, people["fiona"])
    url = f"/ops/payments/withdrawals/{withdrawal.public_id}/"
    assert NOTE in web.get(url).content.decode()
    refused = web.post(f"{url}fail/", {"reason": " "}, follow=True)
    assert "Say why the payout failed" in refused.content.decode()
    assert reload(alpha, withdrawal).status == Status.PROCESSING

    done = web.post(f"{url}fail/", {"reason": "Wire returned"}, follow=True)
    html = done.content.decode()
    assert "the funds are back in the client&#x27;s wallet" in html
    assert reload(alpha, withdrawal).status == Status.FAILED
    assert NOTE not in html and "Wire returned" in html
    assert wallet(alpha, people["carl"]).held == D("0")


def test_the_fail_form_is_shown_only_for_payouts_under_way(alpha, people):
    withdrawal = requested(alpha, people)
    web = tenant_web_client(alpha, people["fiona"])
    assert NOTE not in web.get(f"/ops/payments/withdrawals/{withdrawal.public_id}/").content.decode()


def test_without_payments_approve_the_page_and_api_refuse(alpha, people):
    withdrawal = processing(alpha, people)
    web = tenant_web_client(alpha, people["bea"])
    url = f"/ops/payments/withdrawals/{withdrawal.public_id}/"
    assert NOTE not in web.get(url).content.decode()
    assert web.post(f"{url}fail/", {"reason": "Returned"}).status_code == 403
    api = api_client(alpha, people["bea"])
    response = api.post(
        f"/api/v1/withdrawals/{withdrawal.public_id}/fail/", {"reason": "Returned"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert reload(alpha, withdrawal).status == Status.PROCESSING


def test_finance_fails_a_payout_through_the_api(alpha, people):
    withdrawal = processing(alpha, people)
    api = api_client(alpha, people["fiona"])
    url = f"/api/v1/withdrawals/{withdrawal.public_id}/fail/"
    missing = api.post(url, {}, content_type="application/json")
    assert missing.status_code == 400 and "reason" in missing.json()["error"]["fields"]
    done = api.post(url, {"reason": "No webhook after 10 days; PSP confirms not paid"}, content_type="application/json")
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["reason"]) == (
        "failed",
        "No webhook after 10 days; PSP confirms not paid",
    )
    assert wallet(alpha, people["carl"]).held == D("0")
    again = api.post(url, {"reason": "Again"}, content_type="application/json")
    assert again.status_code == 400
