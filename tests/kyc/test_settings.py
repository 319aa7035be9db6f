"""KYC settings pages: who may use them, the policy and vendor secrets, verification levels,
questionnaire versions, and the audit trail of each change.

Personas: in alpha, Alice is the owner, Cora a compliance officer, Sam a sales agent and Carl a
client; in beta, Bob is the owner. Nothing of alpha's settings may show on beta.
"""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brokerage.errors import ApplicationError
from brokerage.fields import decrypt
from brokerage.models import AuditRecord
from crm.models import Client
from kyc import settings_services as services
from kyc.defaults import QUESTIONS
from kyc.models import KycSettings, Questionnaire, VerificationLevel
from tests import factories
from tests.conftest import tenant_client

pytestmark = pytest.mark.django_db

SECRET = "whsec-3f9a8b7c6d5e4f3a2b1c"
TOKEN = "prd:api-token-0099887766"


@pytest.fixture
def cora(alpha):
    with tenant_context(alpha):
        return factories.staff_user("cora@alpha.test", roles=["compliance"])


@pytest.fixture
def sam(alpha):
    with tenant_context(alpha):
        return factories.staff_user("sam@alpha.test", roles=["sales"])


def policy_post(**overrides) -> dict:
    data = {
        "provider": "builtin",
        "auto_approve": "on",
        "review_sla_hours": "24",
        "address_max_age_months": "3",
        "expiry_notice_days": "30",
        "screening_threshold": "85",
        "webhook_secret": "",
        "api_token": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def level_post(level: VerificationLevel, **overrides) -> dict:
    data = {
        "number": str(level.number),
        "name": level.name,
        "requirements": list(level.requirements),
        "deposit_limit": "" if level.deposit_limit is None else str(level.deposit_limit),
        "limit_currency": level.limit_currency,
        "allows_deposits": "on" if level.allows_deposits else None,
        "allows_withdrawals": "on" if level.allows_withdrawals else None,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def level(number: int) -> VerificationLevel:
    return VerificationLevel.objects.get(number=number)


def level_input(base: VerificationLevel, **changes) -> services.LevelInput:
    data = services.LevelInput(
        base.number,
        base.name,
        list(base.requirements),
        base.deposit_limit,
        base.limit_currency,
        base.allows_deposits,
        base.allows_withdrawals,
    )
    for name, value in changes.items():
        setattr(data, name, value)
    return data


# Who may open the pages --------------------------------------------------------------------------

PAGES = [
    "ops:kyc_settings",
    "ops:kyc_settings_levels",
    "ops:kyc_settings_level_new",
    "ops:kyc_settings_questionnaires",
    "ops:kyc_settings_questionnaire_new",
]


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(alpha, name):
    response = tenant_client(alpha).get(reverse(name))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("name", PAGES)
def test_staff_without_kyc_manage_and_clients_are_refused(alpha, sam, carl, name):
    for user in (sam, carl):
        assert tenant_client(alpha, user).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_owner_and_compliance_open_every_page(alpha, alice, cora, name):
    for user in (alice, cora):
        assert tenant_client(alpha, user).get(reverse(name)).status_code == 200


def test_a_sales_agent_cannot_change_a_level(alpha, sam):
    with tenant_context(alpha):
        basic = level(1)
    response = tenant_client(alpha, sam).post(
        reverse("ops:kyc_settings_level", args=[basic.pk]), level_post(basic, deposit_limit="1.00")
    )
    assert response.status_code == 403
    with tenant_context(alpha):
        assert level(1).deposit_limit == D("5000.00")


# Policy and vendor secrets -----------------------------------------------------------------------


def test_policy_is_saved_and_audited_with_before_and_after(alpha, alice):
    response = tenant_client(alpha, alice).post(
        reverse("ops:kyc_settings"), policy_post(auto_approve="on", review_sla_hours="48", screening_threshold="90")
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        settings_row = KycSettings.current()
        assert (settings_row.auto_approve, settings_row.review_sla_hours, settings_row.screening_threshold) == (
            True,
            48,
            90,
        )
        record = AuditRecord.objects.get(action="kyc.settings.updated")
        assert record.actor_email == "alice@alpha.test"
        assert record.before["review_sla_hours"] == 24 and record.after["review_sla_hours"] == 48
        assert record.before["auto_approve"] is False and record.after["auto_approve"] is True


def test_vendor_secrets_are_stored_encrypted_and_shown_masked(alpha, alice):
    web = tenant_client(alpha, alice)
    response = web.post(
        reverse("ops:kyc_settings"), policy_post(provider="sumsub", webhook_secret=SECRET, api_token=TOKEN)
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        row = KycSettings.current()
        assert SECRET not in row.vendor_webhook_secret and TOKEN not in row.vendor_api_token
        assert decrypt(row.vendor_webhook_secret) == SECRET
        assert services.vendor_credentials() == services.VendorCredentials(SECRET, TOKEN)
        record = AuditRecord.objects.get(action="kyc.settings.updated")
        assert SECRET not in json.dumps(record.after) and TOKEN not in json.dumps(record.after)
        assert record.after["credentials_replaced"] == ["webhook secret", "API token"]
    html = web.get(reverse("ops:kyc_settings")).content.decode()
    assert SECRET not in html and TOKEN not in html
    assert f"••••{SECRET[-4:]}" in html and f"••••{TOKEN[-4:]}" in html
    assert "http://alpha.localhost/kyc/webhooks/sumsub/" in html


def test_an_empty_secret_keeps_the_stored_one(alpha, alice):
    web = tenant_client(alpha, alice)
    web.post(reverse("ops:kyc_settings"), policy_post(provider="onfido", webhook_secret=SECRET))
    with tenant_context(alpha):
        stored = KycSettings.current().vendor_webhook_secret
    response = web.post(reverse("ops:kyc_settings"), policy_post(provider="onfido", review_sla_hours="12"))
    assert response.status_code == 302
    with tenant_context(alpha):
        row = KycSettings.current()
        assert row.vendor_webhook_secret == stored and row.review_sla_hours == 12


def test_a_vendor_without_a_webhook_secret_is_refused(alpha, alice):
    response = tenant_client(alpha, alice).post(reverse("ops:kyc_settings"), policy_post(provider="sumsub"))
    assert response.status_code == 400
    assert "A vendor needs its webhook secret" in response.content.decode()
    with tenant_context(alpha):
        assert KycSettings.current().provider == "builtin"
        assert not AuditRecord.objects.filter(action="kyc.settings.updated").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("screening_threshold", "30", "Between 60 and 100."),
        ("review_sla_hours", "0", "Between 1 and 720 hours."),
        ("address_max_age_months", "60", "Between 1 and 24 months."),
        ("webhook_secret", "short", "Between 8 and 500 characters"),
    ],
)
def test_policy_values_out_of_range_are_refused(alpha, alice, field, value, message):
    response = tenant_client(alpha, alice).post(reverse("ops:kyc_settings"), policy_post(**{field: value}))
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_context(alpha):
        assert not AuditRecord.objects.filter(action="kyc.settings.updated").exists()


def test_clearing_credentials_goes_back_to_the_builtin_checks(alpha, alice):
    web = tenant_client(alpha, alice)
    web.post(reverse("ops:kyc_settings"), policy_post(provider="sumsub", webhook_secret=SECRET))
    web.post(reverse("ops:kyc_settings_credentials_clear"))
    with tenant_context(alpha):
        row = KycSettings.current()
        assert (row.provider, row.vendor_webhook_secret, row.vendor_api_token) == ("builtin", "", "")
        assert AuditRecord.objects.filter(action="kyc.settings.credentials_cleared").exists()


def test_beta_does_not_see_alphas_settings(alpha, beta, alice, bob):
    tenant_client(alpha, alice).post(
        reverse("ops:kyc_settings"), policy_post(provider="sumsub", webhook_secret=SECRET, review_sla_hours="7")
    )
    html = tenant_client(beta, bob).get(reverse("ops:kyc_settings")).content.decode()
    assert f"••••{SECRET[-4:]}" not in html
    with tenant_context(beta):
        assert KycSettings.current().review_sla_hours == 24
    # Alice's session does not open beta's pages.
    response = tenant_client(alpha, alice).get(reverse("ops:kyc_settings"), HTTP_HOST="beta.localhost")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# Verification levels ----------------------------------------------------------------------------


def test_owner_changes_a_levels_limit_and_the_change_is_audited(alpha, alice):
    with tenant_context(alpha):
        basic = level(1)
    response = tenant_client(alpha, alice).post(
        reverse("ops:kyc_settings_level", args=[basic.pk]),
        level_post(basic, deposit_limit="2500.50", limit_currency="EUR"),
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        basic.refresh_from_db()
        assert (basic.deposit_limit, basic.limit_currency) == (D("2500.50"), "EUR")
        record = AuditRecord.objects.get(action="kyc.level.updated")
        assert record.before["deposit_limit"] == "5000.00" and record.after["deposit_limit"] == "2500.50"
        assert record.after["limit_currency"] == "EUR"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"deposit_limit": "-1"}, "An amount of 0 or more"),
        ({"deposit_limit": "ten"}, "An amount of 0 or more"),
        ({"deposit_limit": "10.001"}, "At most two decimals"),
        ({"name": "   "}, "Give the level a name"),
        ({"number": "2"}, "Level 2 exists already"),
        ({"requirements": ["profile"]}, "Level 1 must also require what level 0 requires"),
        ({"allows_deposits": None}, ""),
    ],
)
def test_bad_level_edits_are_refused_with_a_clear_message(alpha, alice, changes, message):
    with tenant_context(alpha):
        basic = level(1)
        if changes == {"requirements": ["profile"]}:
            # Level 0 asks for the profile and the questionnaire: level 1 may not drop one.
            VerificationLevel.objects.filter(number=0).update(requirements=["profile", "questionnaire"])
        if changes == {"allows_deposits": None}:
            VerificationLevel.objects.filter(number=0).update(allows_deposits=True)
            message = "Level 0 allows deposits, so level 1 must too."
    response = tenant_client(alpha, alice).post(
        reverse("ops:kyc_settings_level", args=[basic.pk]), level_post(basic, **changes)
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_context(alpha):
        assert level(1).deposit_limit == D("5000.00") and level(1).name == "Basic"
        assert not AuditRecord.objects.filter(action__startswith="kyc.level.").exists()


def test_a_higher_level_may_not_have_a_lower_limit_in_the_same_currency(in_alpha, alice):
    with pytest.raises(ApplicationError) as error:
        services.level_update(level=level(2), data=level_input(level(2), deposit_limit=D("100.00")), actor=alice)
    assert "must not be below level 1's" in str(error.value)


def test_a_level_is_added_and_removed(alpha, alice):
    web = tenant_client(alpha, alice)
    html = web.get(reverse("ops:kyc_settings_level_new")).content.decode()
    assert 'value="3"' in html  # the next number is proposed
    response = web.post(
        reverse("ops:kyc_settings_level_new"),
        {
            "number": "3",
            "name": "Premium",
            "requirements": ["profile", "questionnaire", "identity", "address", "selfie", "approval"],
            "deposit_limit": "",
            "limit_currency": "USD",
            "allows_deposits": "on",
            "allows_withdrawals": "on",
        },
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        premium = level(3)
        assert premium.requirements == ["profile", "questionnaire", "identity", "address", "selfie", "approval"]
        assert AuditRecord.objects.filter(action="kyc.level.created").exists()
    response = web.post(reverse("ops:kyc_settings_level_delete", args=[premium.pk]))
    assert response.status_code == 302
    with tenant_context(alpha):
        assert not VerificationLevel.objects.filter(number=3).exists()
        record = AuditRecord.objects.get(action="kyc.level.deleted")
        assert record.before["name"] == "Premium" and record.after is None


def test_the_last_level_cannot_be_removed(in_alpha, alice):
    VerificationLevel.objects.exclude(number=2).delete()
    with pytest.raises(ApplicationError, match="Keep at least one verification level"):
        services.level_delete(level=level(2), actor=alice)
    assert VerificationLevel.objects.count() == 1


REQUIREMENT_CODES = list(VerificationLevel.REQUIREMENTS)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.lists(st.sampled_from(REQUIREMENT_CODES), unique=True), st.booleans(), st.booleans()),
        min_size=1,
        max_size=4,
    )
)
def test_every_accepted_ladder_is_cumulative(in_alpha, alice, ladder):
    """Whatever edits are tried, the stored levels always build on each other."""
    for number, (requirements, deposits, withdrawals) in enumerate(ladder, start=3):
        data = services.LevelInput(number, f"L{number}", requirements, None, "USD", deposits, withdrawals)
        with contextlib.suppress(ApplicationError):
            services.level_create(data=data, actor=alice)
    stored = list(VerificationLevel.objects.order_by("number"))
    for lower, higher in zip(stored, stored[1:], strict=False):
        assert set(lower.requirements) <= set(higher.requirements)
        assert higher.allows_deposits >= lower.allows_deposits
        assert higher.allows_withdrawals >= lower.allows_withdrawals
    VerificationLevel.objects.filter(number__gte=3).delete()


# Questionnaires ---------------------------------------------------------------------------------


def publish_post(questions, **overrides) -> dict:
    data = {
        "jurisdiction": "",
        "title": "Appropriateness test for CFDs",
        "pass_score": "9",
        "warning_text": "CFDs may not be appropriate for you.",
        "questions_json": json.dumps(questions),
        "source": "json",
    }
    data.update(overrides)
    return data


def test_the_new_version_page_starts_from_the_latest_version(alpha, alice):
    html = tenant_client(alpha, alice).get(reverse("ops:kyc_settings_questionnaire_new")).content.decode()
    assert "Starting from Appropriateness test for CFDs v1" in html
    assert 'value="experience"' in html and 'name="q6_code" value="purpose"' in html


def test_publishing_from_json_makes_version_2_the_one_in_use_and_keeps_version_1(alpha, alice):
    questions = [*QUESTIONS[:5], {**QUESTIONS[5], "text": "Why do you want to trade CFDs?"}]
    response = tenant_client(alpha, alice).post(reverse("ops:kyc_settings_questionnaire_new"), publish_post(questions))
    assert response.status_code == 302
    with tenant_context(alpha):
        first, second = Questionnaire.objects.filter(jurisdiction="").order_by("version")
        assert (first.version, first.is_active, first.questions) == (1, False, QUESTIONS)
        assert (second.version, second.is_active) == (2, True)
        assert second.questions[5]["text"] == "Why do you want to trade CFDs?"
        assert second.created_by == alice
        record = AuditRecord.objects.get(action="kyc.questionnaire.published")
        assert record.before == {"active_versions": [1]}
        assert record.after["version"] == 2 and record.after["max_score"] == 17


def test_publishing_from_the_structured_form(alpha, alice):
    data = {
        "jurisdiction": "DE",
        "title": "Angemessenheitstest",
        "pass_score": "3",
        "warning_text": "CFDs sind komplex.",
        "source": "form",
        "question_rows": "2",
        "q1_code": "experience",
        "q1_text": "Have you traded CFDs?",
        "q1_choice_rows": "3",
        "q1_c1_code": "no",
        "q1_c1_text": "No",
        "q1_c1_points": "0",
        "q1_c2_code": "yes",
        "q1_c2_text": "Yes",
        "q1_c2_points": "3",
        "q2_choice_rows": "2",
    }
    response = tenant_client(alpha, alice).post(reverse("ops:kyc_settings_questionnaire_new"), data)
    assert response.status_code == 302, response.content.decode()
    with tenant_context(alpha):
        german = Questionnaire.objects.get(jurisdiction="DE")
        assert german.version == 1 and german.max_score == 3
        assert german.questions == [
            {
                "code": "experience",
                "text": "Have you traded CFDs?",
                "choices": [
                    {"code": "no", "text": "No", "points": 0},
                    {"code": "yes", "text": "Yes", "points": 3},
                ],
            }
        ]
        # The default questionnaire is untouched.
        assert Questionnaire.objects.get(jurisdiction="", version=1).is_active


@pytest.mark.parametrize(
    ("questions", "pass_score", "message"),
    [
        ("[1, 2", "1", "The JSON has an error at line 1, column 6"),
        ([], "1", "Give a list with at least one question."),
        (
            [{"code": "q", "text": "Q?", "choices": [{"code": "a", "text": "A", "points": 1}]}],
            "1",
            "Question 1 (q): needs at least two choices.",
        ),
        (
            [
                {
                    "code": "q",
                    "text": "Q?",
                    "choices": [{"code": "a", "text": "A", "points": 1}, {"code": "b", "text": "B", "points": "2"}],
                }
            ],
            "1",
            "Question 1 (q), choice 2: points must be a whole number",
        ),
        (
            [
                {
                    "code": "q",
                    "text": "Q?",
                    "choices": [{"code": "a", "text": "A", "points": 1.5}, {"code": "b", "text": "B", "points": 2}],
                }
            ],
            "1",
            "Question 1 (q), choice 1: points must be a whole number",
        ),
        (
            [
                {
                    "text": "Q?",
                    "choices": [{"code": "a", "text": "A", "points": 1}, {"code": "b", "text": "B", "points": 2}],
                }
            ],
            "1",
            "Question 1: needs a code.",
        ),
        (
            [
                {
                    "code": "q",
                    "choices": [{"code": "a", "text": "A", "points": 1}, {"code": "b", "text": "B", "points": 2}],
                }
            ],
            "1",
            "Question 1 (q): needs a text.",
        ),
        (
            [
                {
                    "code": "q",
                    "text": "Q?",
                    "choices": [{"code": "a", "text": "A", "points": 1}, {"code": "b", "text": "B", "points": 2}],
                }
            ],
            "3",
            "At most the highest score a client can reach (2)",
        ),
        ({"code": "q"}, "1", "Give a list with at least one question."),
    ],
)
def test_bad_questionnaires_are_refused_and_nothing_is_published(alpha, alice, questions, pass_score, message):
    data = publish_post(questions, pass_score=pass_score)
    if isinstance(questions, str):
        data["questions_json"] = questions
    response = tenant_client(alpha, alice).post(reverse("ops:kyc_settings_questionnaire_new"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_context(alpha):
        assert Questionnaire.objects.count() == 1
        assert not AuditRecord.objects.filter(action="kyc.questionnaire.published").exists()


def test_every_problem_of_a_questionnaire_is_named_at_once(in_alpha, alice):
    bad = [
        {"code": "a", "text": "", "choices": []},
        {
            "code": "a",
            "text": "Again?",
            "choices": [{"code": "x", "text": "X", "points": True}, {"code": "x", "text": "", "points": 1}],
        },
    ]
    with pytest.raises(ApplicationError) as error:
        services.questions_clean(bad)
    assert error.value.fields["questions"] == [
        "Question 1 (a): needs a text.",
        "Question 1 (a): needs at least two choices.",
        "Question 2 (a): the code 'a' is used by another question.",
        "Question 2 (a), choice 1: points must be a whole number from 0 to 1000.",
        "Question 2 (a), choice 2: the code 'x' is used twice.",
        "Question 2 (a), choice 2: needs a text.",
    ]


def test_a_version_is_deactivated_and_another_activated(alpha, alice):
    web = tenant_client(alpha, alice)
    web.post(reverse("ops:kyc_settings_questionnaire_new"), publish_post(QUESTIONS))
    with tenant_context(alpha):
        first = Questionnaire.objects.get(jurisdiction="", version=1)
    web.post(reverse("ops:kyc_settings_questionnaire_active", args=[first.pk]), {"active": "1"})
    with tenant_context(alpha):
        assert list(Questionnaire.objects.filter(is_active=True).values_list("version", flat=True)) == [1]
        record = AuditRecord.objects.get(action="kyc.questionnaire.activated")
        assert record.before == {"active_versions": [2]} and record.after == {"active_versions": [1]}


def test_the_default_questionnaire_keeps_an_active_version(alpha, alice):
    with tenant_context(alpha):
        only = Questionnaire.objects.get(jurisdiction="", version=1)
    response = tenant_client(alpha, alice).post(
        reverse("ops:kyc_settings_questionnaire_active", args=[only.pk]), {"active": "0"}, follow=True
    )
    assert "The default questionnaire needs an active version" in response.content.decode()
    with tenant_context(alpha):
        assert Questionnaire.objects.get(pk=only.pk).is_active


def test_a_country_version_can_be_taken_out_of_use(in_alpha, alice):
    german = services.questionnaire_publish(
        actor=alice, jurisdiction="de", title="DE", questions=QUESTIONS, pass_score=5, warning_text="Careful."
    )
    assert german.jurisdiction == "DE"
    services.questionnaire_set_active(questionnaire=german, is_active=False, actor=alice)
    german.refresh_from_db()
    assert not german.is_active


def test_the_questionnaire_list_and_detail_pages(alpha, alice):
    web = tenant_client(alpha, alice)
    with tenant_context(alpha):
        first = Questionnaire.objects.get(jurisdiction="", version=1)
    html = web.get(reverse("ops:kyc_settings_questionnaires")).content.decode()
    assert "Default (every other country)" in html and "v1" in html and "9 / 17" in html
    html = web.get(reverse("ops:kyc_settings_questionnaire", args=[first.pk])).content.decode()
    assert "What happens when your margin level falls below the stop-out level?" in html
    assert "Answered 0 times" in html


def test_beta_cannot_open_alphas_questionnaire_version(alpha, beta, alice, bob):
    with tenant_context(alpha):
        german = services.questionnaire_publish(
            actor=alice, jurisdiction="DE", title="Alpha DE", questions=QUESTIONS, pass_score=5, warning_text="W"
        )
    response = tenant_client(beta, bob).get(reverse("ops:kyc_settings_questionnaire", args=[german.pk]))
    assert response.status_code == 404


# The admin ---------------------------------------------------------------------------------------


def test_the_admin_shows_kyc_status_and_risk_level_but_does_not_let_them_be_edited(alpha, alice, carl):
    with tenant_context(alpha):
        client = Client.objects.get(user=carl)
    html = tenant_client(alpha, alice).get(f"/admin/crm/client/{client.pk}/change/").content.decode()
    assert 'name="first_name"' in html
    assert 'name="kyc_status"' not in html and 'name="risk_level"' not in html
    assert "Not started" in html and "Medium" in html


def test_a_tampered_structured_form_is_refused_not_a_crash(alpha, alice):
    data = {**publish_post([]), "source": "form", "question_rows": "lots", "q1_code": "x"}
    response = tenant_client(alpha, alice).post(reverse("ops:kyc_settings_questionnaire_new"), data)
    assert response.status_code == 400
    assert "Give a list with at least one question." in response.content.decode()


@pytest.mark.parametrize("code", ["questionnaire", "csrfmiddlewaretoken"])
def test_a_question_code_the_portal_form_uses_itself_is_refused(alpha, alice, code):
    """The code names the question's field in the portal form: "questionnaire" would replace the
    version id the form sends along, so no client could submit an answer."""
    questions = [{**QUESTIONS[0], "code": code}, *QUESTIONS[1:]]
    response = tenant_client(alpha, alice).post(reverse("ops:kyc_settings_questionnaire_new"), publish_post(questions))
    assert response.status_code == 400
    assert f"Question 1 ({code}): the code &#x27;{code}&#x27; is reserved by the portal&#x27;s form" in (
        response.content.decode()
    )
    with tenant_context(alpha):
        assert Questionnaire.objects.count() == 1
