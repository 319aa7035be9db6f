"""KYC deposit limits: a deposit starts only when the client's verification level allows it, and all
the client's deposits (completed, and open ones that may still complete) stay within the level's
limit, converted to the limit's currency at today's rate. Money that arrives is always credited.

Default levels (kyc.defaults): 0 Registered (no deposits), 1 Basic (profile, questionnaire, identity;
up to 5,000 USD), 2 Verified (no limit; an approved client holds the top level).
"""

from __future__ import annotations

import itertools
from decimal import Decimal as D

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brokerage.errors import ApplicationError
from crm.models import Client
from kyc.models import Document, FinancialProfile, Questionnaire, QuestionnaireAnswer, VerificationLevel
from payments.deposits import services
from payments.models import Deposit, PaymentMethod
from payments.rates import NewRate, amount_in, rates_record
from payments.withdrawals.policy import kyc_check
from tests import factories
from tests.concurrency import race_each
from tests.conftest import tenant_client
from tests.payments.deposit_helpers import methods
from tests.tenants.web import api_client

pytestmark = pytest.mark.django_db


def at_level_1(client: Client) -> Client:
    """Profile complete, questionnaire passed, passport accepted: level 1 (Basic)."""
    FinancialProfile.objects.create(client=client, completed_at=timezone.now())
    QuestionnaireAnswer.objects.create(
        client=client,
        questionnaire=Questionnaire.objects.get(jurisdiction="", version=1),
        answers={},
        score=12,
        passed=True,
    )
    Document.objects.create(
        client=client,
        kind=Document.Kind.PASSPORT,
        side=Document.Side.SINGLE,
        file="test/passport.enc",
        original_name="passport.jpg",
        content_type="image/jpeg",
        size=1000,
        sha256="0" * 64,
        status=Document.Status.ACCEPTED,
    )
    return client


def new_client(email: str) -> Client:
    return Client.objects.get(user=factories.client_user(email))


def wire(client: Client, amount: D, currency: str = "USD") -> Deposit:
    return services.deposit_start(
        client=client,
        method=PaymentMethod.objects.get(code="bank-wire"),
        currency=currency,
        amount=amount,
        actor=client.user,
    )


def completed(client: Client, amount: D, currency: str = "USD") -> Deposit:
    deposit = wire(client, amount, currency)
    return services.deposit_confirm(deposit, amount=amount, actor_label="bank statement")


def eur_usd(rate: str = "1.25") -> None:
    rates_record([NewRate("EUR", "USD", D(rate), timezone.now())], source="manual")


@pytest.fixture
def setup(in_alpha):
    methods()
    eur_usd()


def refused(client: Client, amount: D, currency: str = "USD") -> ApplicationError:
    before = Deposit.objects.count()
    with pytest.raises(ApplicationError) as error:
        wire(client, amount, currency)
    assert error.value.code == "kyc_limit"
    assert Deposit.objects.count() == before  # nothing half-written
    return error.value


def test_a_registered_client_cannot_deposit_and_is_told_what_opens_deposits(setup):
    dora = new_client("dora@alpha.test")
    error = refused(dora, D("100.00"))
    assert error.message == (
        "Deposits are not open at your verification stage yet. Deposits open once you complete your profile, "
        "the questionnaire and an identity document."
    )
    assert error.fields == {"amount": [error.message]}


def test_level_1_counts_deposits_in_other_currencies_at_todays_rate_and_allows_the_exact_limit(setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    completed(lena, D("2000.00"), "EUR")  # 2,500.00 USD at 1.25
    deposit = wire(lena, D("2000.00"), "EUR")  # 2,500.00 USD more: exactly the limit
    assert deposit.status == Deposit.Status.PENDING
    room = services.deposit_room(lena)
    assert (room.limit, room.currency, room.completed, room.open, room.remaining) == (
        D("5000.00"),
        "USD",
        D("2500.00"),
        D("2500.00"),
        D("0.00"),
    )


def test_one_cent_over_the_limit_is_refused_with_the_limit_what_was_deposited_and_how_to_raise_it(setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    completed(lena, D("2000.00"), "EUR")
    error = refused(lena, D("2500.01"))
    assert error.message == (
        "This deposit (2,500.01 USD) would take you over your deposit limit of 5,000.00 USD at verification "
        "level 1 (Basic). You have deposited 2,500.00 USD so far, so at most 2,500.00 USD more. "
        "Complete your verification (Verification in the portal) to raise it."
    )
    wire(lena, D("2500.00"))


def test_a_deposit_in_another_currency_is_converted_before_the_comparison(setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    completed(lena, D("2500.00"))
    # 2,000.01 EUR is 2,500.0125 USD: 2,500.01 USD, one cent over.
    assert "This deposit (2,500.01 USD)" in refused(lena, D("2000.01"), "EUR").message
    wire(lena, D("2000.00"), "EUR")


def test_open_deposits_count_until_they_fail(setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    pending = wire(lena, D("3000.00"))
    error = refused(lena, D("2500.00"))
    assert "You have deposited 3,000.00 USD so far (of which 3,000.00 USD is still on its way)" in error.message
    services.deposit_fail(pending, reason="The client cancelled.", actor_label="client")
    assert wire(lena, D("2500.00")).status == Deposit.Status.PENDING


def test_money_that_arrives_above_the_limit_is_still_credited(setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    deposit = wire(lena, D("1000.00"))
    done = services.deposit_confirm(deposit, amount=D("6000.00"), actor_label="bank statement")
    assert (done.status, done.amount) == (Deposit.Status.COMPLETED, D("6000.00"))
    error = refused(lena, D("100.00"))
    assert "You have deposited 6,000.00 USD so far, so at most 0.00 USD more." in error.message


def test_an_approved_client_has_no_limit(setup):
    vera = factories.kyc_approved(new_client("vera@alpha.test"))
    completed(vera, D("400000.00"))
    assert wire(vera, D("600000.00"), "EUR").status == Deposit.Status.PENDING
    assert services.deposit_room(vera).remaining is None


def test_a_currency_no_rate_converts_cannot_be_checked_against_the_limit(setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    error = refused(lena, D("100.00"), "GBP")
    assert "no exchange rate converts GBP to USD right now" in error.message
    assert wire(lena, D("100.00")).status == Deposit.Status.PENDING


def test_a_limit_changed_in_the_settings_applies_to_the_next_deposit(setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    VerificationLevel.objects.filter(number=1).update(deposit_limit=D("1000.00"), limit_currency="EUR")
    error = refused(lena, D("1250.01"))  # 1,000.008 EUR
    assert "deposit limit of 1,000.00 EUR" in error.message
    wire(lena, D("1250.00"))


def test_a_double_submitted_form_returns_the_first_deposit_even_at_the_limit(setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    kwargs = {"client": lena, "method": PaymentMethod.objects.get(code="bank-wire"), "currency": "USD"}
    first = services.deposit_start(**kwargs, amount=D("5000.00"), actor=lena.user, request_token="form-1")
    again = services.deposit_start(**kwargs, amount=D("5000.00"), actor=lena.user, request_token="form-1")
    assert again.pk == first.pk and Deposit.objects.count() == 1


EMAILS = itertools.count()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.decimals(min_value=100, max_value=3000, places=2), min_size=1, max_size=6))
def test_accepted_deposits_never_add_up_to_more_than_the_limit(setup, amounts):
    """Whatever a level-1 client tries, a deposit is refused exactly when it would pass 5,000 USD."""
    client = at_level_1(new_client(f"try{next(EMAILS)}@alpha.test"))
    accepted = D(0)
    for amount in amounts:
        if accepted + amount <= D("5000.00"):
            wire(client, amount)
            accepted += amount
        else:
            with pytest.raises(ApplicationError) as error:
                wire(client, amount)
            assert error.value.code == "kyc_limit"
    assert services.deposit_room(client).used == accepted <= D("5000.00")


@pytest.mark.django_db(transaction=True)
def test_two_deposits_racing_near_the_limit_cannot_both_pass(alpha):
    """Each alone fits (3,000 of 5,000); together they do not. The client row lock makes the second
    start wait for the first and count it."""
    with tenant_context(alpha):
        methods()
        lena = at_level_1(new_client("lena@alpha.test"))
    results = race_each(alpha, [lambda: wire(lena, D("3000.00")), lambda: wire(lena, D("3000.00"))])
    started = [r for r in results if isinstance(r, Deposit)]
    errors = [r for r in results if isinstance(r, ApplicationError)]
    assert len(started) == 1 and len(errors) == 1, results
    assert errors[0].code == "kyc_limit"
    with tenant_context(alpha):
        assert Deposit.objects.filter(client=lena).count() == 1


# What the client sees ---------------------------------------------------------------------------


def test_the_deposit_page_sends_an_unverified_client_to_the_verification_page(alpha, setup):
    dora = new_client("dora@alpha.test")
    html = tenant_client(alpha, dora.user).get("/portal/funds/deposit/").content.decode()
    assert "Verify your identity to deposit" in html
    assert 'href="/portal/verification/"' in html
    assert 'id="deposit-form"' not in html


def test_the_deposit_page_shows_the_limit_and_what_is_left(alpha, setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    completed(lena, D("1000.00"), "EUR")
    html = tenant_client(alpha, lena.user).get("/portal/funds/deposit/").content.decode()
    assert "At verification level 1 (Basic) you can deposit up to <strong>5,000.00 USD</strong>" in html
    assert "You have deposited 1,250.00 USD" in html and "<strong>3,750.00 USD</strong> left" in html
    assert 'id="deposit-form"' in html


def test_a_refused_deposit_shows_the_reason_on_the_form(alpha, setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    web = tenant_client(alpha, lena.user)
    method = PaymentMethod.objects.get(code="bank-wire")
    data = {"method": method.pk, "currency": "USD", "amount": "5000.01", "token": "t-1", "confirm": "1"}
    response = web.post("/portal/funds/deposit/", data)
    html = response.content.decode()
    assert "would take you over your deposit limit of 5,000.00 USD" in html
    assert not Deposit.objects.exists()


def test_the_api_refuses_with_the_kyc_limit_code_and_the_field(alpha, setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    body = {"method": "bank-wire", "currency": "USD", "amount": "5000.01"}
    response = api_client(alpha, lena.user).post(
        "/api/v1/deposits/", body, content_type="application/json", headers={"Idempotency-Key": "k-1"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "kyc_limit"
    assert error["message"].startswith("This deposit (5,000.01 USD) would take you over your deposit limit")
    assert error["fields"] == {"amount": [error["message"]]}
    assert not Deposit.objects.exists()


def test_withdrawals_keep_reading_the_kyc_status_and_point_to_the_verification_page(setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    with pytest.raises(ApplicationError) as error:
        kyc_check(lena)
    assert error.value.code == "kyc_required"
    assert error.value.message == (
        "Withdrawals open once your identity is verified (KYC: not started). "
        "See what is missing on the Verification page (/portal/verification/)."
    )
    kyc_check(factories.kyc_approved(lena))


VERIFICATION_LINK = '<a href="/portal/verification/">Complete your verification</a> to raise it.'


def test_the_amount_step_refuses_an_amount_above_the_limit_before_any_confirmation(alpha, setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    completed(lena, D("1000.00"), "EUR")  # 1,250.00 USD: 3,750.00 USD left
    web = tenant_client(alpha, lena.user)
    card = PaymentMethod.objects.get(code="card")
    data = {"method": card.pk, "currency": "USD", "amount": "3750.01", "token": "t-1"}

    html = web.post("/portal/funds/deposit/", data).content.decode()

    assert "Confirm your deposit" not in html
    assert (
        "This deposit (3,750.01 USD) would take you over your deposit limit of 5,000.00 USD at verification level 1 "
        "(Basic). You have deposited 1,250.00 USD so far, so at most 3,750.00 USD more. " + VERIFICATION_LINK
    ) in html
    assert "(Verification in the portal)" not in html
    assert html.count("would take you over") == 1  # on the field, not again in the preview
    assert Deposit.objects.count() == 1
    # What is left passes to the confirmation page.
    review = web.post("/portal/funds/deposit/", {**data, "amount": "3750.00"}).content.decode()
    assert "Confirm your deposit" in review


def test_the_live_preview_refuses_above_the_limit_with_the_link(alpha, setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    card = PaymentMethod.objects.get(code="card")
    web = tenant_client(alpha, lena.user)
    html = web.get(
        "/portal/funds/deposit/preview/", {"method": card.pk, "currency": "USD", "amount": "5000.01"}
    ).content.decode()
    assert "would take you over your deposit limit of 5,000.00 USD" in html and VERIFICATION_LINK in html
    assert "To your wallet" not in html


def test_the_method_limits_show_the_lower_of_the_method_maximum_and_what_the_level_leaves(alpha, setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    completed(lena, D("1000.00"), "EUR")  # 3,750.00 USD left, 3,000.00 EUR at 1.25
    web = tenant_client(alpha, lena.user)
    card = PaymentMethod.objects.get(code="card")

    page = web.get("/portal/funds/deposit/").content.decode()
    assert "Limits: 10.00 USD to 3,750.00 USD (what your deposit limit leaves)." in page
    eur = web.get("/portal/funds/deposit/preview/", {"method": card.pk, "currency": "EUR"}).content.decode()
    assert "Limits: 10.00 EUR to 3,000.00 EUR (what your deposit limit leaves)." in eur

    # Without a limit, the method's own maximum.
    factories.kyc_approved(lena)
    page = web.get("/portal/funds/deposit/").content.decode()
    assert "Limits: 10.00 USD to 10,000.00 USD." in page


def test_the_limits_line_says_when_the_limit_leaves_less_than_the_methods_minimum(alpha, setup):
    lena = at_level_1(new_client("lena@alpha.test"))
    completed(lena, D("4995.00"))
    page = tenant_client(alpha, lena.user).get("/portal/funds/deposit/").content.decode()
    assert "Your deposit limit leaves 5.00 USD, less than this method's smallest deposit of 10.00 USD." in page


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    left=st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2),
    rate=st.decimals(min_value=D("0.5"), max_value=D("2"), places=4),
)
def test_the_shown_maximum_always_passes_the_limit_check_and_one_cent_more_does_not(setup, left, rate):
    room = services.DepositRoom(True, D("5000.00"), "USD", "level 1 (Basic)", "", completed=D("5000.00") - left)
    rates_record([NewRate("EUR", "USD", rate, timezone.now())], source="manual")
    highest = services.deposit_max(room, currency="EUR", method_max=D("1000000"))
    assert amount_in(highest, "EUR", "USD") <= left
    assert amount_in(highest + D("0.01"), "EUR", "USD") > left


def test_the_funds_page_at_level_0_asks_to_verify_before_the_first_deposit(alpha, setup):
    dora = new_client("dora@alpha.test")
    html = tenant_client(alpha, dora.user).get("/portal/funds/").content.decode()
    assert "Make a deposit to start" not in html
    assert '<a href="/portal/verification/">Verify your identity to make your first deposit</a>' in html

    lena = at_level_1(new_client("lena@alpha.test"))
    html = tenant_client(alpha, lena.user).get("/portal/funds/").content.decode()
    assert "You have no funds yet. Make a deposit to start." in html
