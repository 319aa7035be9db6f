"""The client's onboarding through the portal's pages: profile, questionnaire, status, and who may
use them. Personas: Carl is a client of alpha, Dora another; Alice is alpha's owner (staff only);
Bob is beta's owner."""

from __future__ import annotations

import io
import random
from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from brokerage.models import AuditRecord
from crm.models import Client
from kyc.defaults import QUESTIONS
from kyc.models import (
    Document,
    DocumentRequest,
    FinancialProfile,
    Questionnaire,
    QuestionnaireAnswer,
    Review,
    ScreeningRun,
)
from kyc.onboarding import questionnaire_submit
from kyc.requirements import latest_answer, requirement_states
from tests import factories
from tests.conftest import tenant_client

# With the first choice elsewhere: 3 + 3 + 3 + 3 + 0 + 1 = 13 points (9 to pass); failing: 1.
PASSING = {"experience": "weekly", "leverage": "30", "stop_out": "closed", "loss": "no"}
FAILING = {code: question["choices"][0]["code"] for code, question in ((q["code"], q) for q in QUESTIONS)}

# The tenant's domain, the session, the user, its two permission reads, the client and the documents:
# seven statements, each after django-tenants' search_path, however many documents there are.
QUERIES_PER_POLL = 14
PAGES = ("kyc_status", "kyc_profile", "kyc_questionnaire", "kyc_documents")


def url(name: str) -> str:
    return reverse(f"portal:{name}")


def profile_data(**overrides) -> dict:
    data = {
        "first_name": "Carl",
        "last_name": "Jensen",
        "native_name": "",
        "date_of_birth": "1985-04-12",
        "nationality": "GB",
        "country": "GB",
        "address_line1": "12 Harbour Street",
        "address_line2": "",
        "city": "Leeds",
        "postal_code": "LS1 4AB",
        "tax_residence": "GB",
        "tax_id": "QQ123456C",
        "employment": "employed",
        "occupation": "Engineer",
        "industry": "Information technology",
        "employer": "Acme Ltd",
        "annual_income": "25k_100k",
        "net_worth": "25k_100k",
        "source_of_funds": "salary",
        "source_of_funds_detail": "",
        "expected_yearly_deposit": "under_25k",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def answers_for(questionnaire: Questionnaire, chosen: dict[str, str]) -> dict:
    """Every question answered: `chosen` where given, the first choice elsewhere."""
    data = {"questionnaire": questionnaire.pk}
    for question in questionnaire.questions:
        data[question["code"]] = chosen.get(question["code"], question["choices"][0]["code"])
    return data


def jpeg(width: int = 320, height: int = 220) -> io.BytesIO:
    """A real JPEG with noise in it, so it is well above the smallest size accepted."""
    rng = random.Random(width * height)
    image = Image.new("RGB", (width, height))
    image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(width * height)])
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    buffer.seek(0)
    return buffer


def upload(name: str = "passport.jpg", data: io.BytesIO | bytes | None = None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = data.getvalue() if isinstance(data, io.BytesIO) else (data if data is not None else jpeg().getvalue())
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


@pytest.fixture
def carl_client(alpha, carl):
    with tenant_context(alpha):
        return Client.objects.get(user=carl)


@pytest.fixture
def http(alpha, carl):
    return tenant_client(alpha, carl)


def profile_done(client: Client) -> FinancialProfile:
    """Carl's profile as if he had saved it (without screening)."""
    Client.objects.filter(pk=client.pk).update(
        first_name="Carl", last_name="Jensen", date_of_birth=date(1985, 4, 12), nationality="GB", country="GB"
    )
    return FinancialProfile.objects.create(
        client=client,
        tax_residence="GB",
        tax_id="QQ123456C",
        employment="employed",
        occupation="Engineer",
        employer="Acme",
        annual_income="25k_100k",
        net_worth="25k_100k",
        source_of_funds="salary",
        expected_yearly_deposit="under_25k",
        completed_at=timezone.now(),
    )


# Who may use the pages ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(alpha, name):
    response = tenant_client(alpha).get(url(name))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("name", PAGES)
def test_staff_without_the_client_role_are_refused(alpha, alice, name):
    assert tenant_client(alpha, alice).get(url(name)).status_code == 403


def test_staff_cannot_post_a_profile_and_nothing_is_written(alpha, alice):
    response = tenant_client(alpha, alice).post(url("kyc_profile"), profile_data())
    assert response.status_code == 403
    with tenant_context(alpha):
        assert not FinancialProfile.objects.exists()


def test_partners_are_refused(alpha):
    with tenant_context(alpha):
        partner = factories.partner_user("pat@alpha.test")
    assert tenant_client(alpha, partner).get(url("kyc_status")).status_code == 403


def test_a_client_sign_in_without_a_client_record_gets_not_found(alpha):
    with tenant_context(alpha):
        orphan = factories.UserFactory(email="orphan@alpha.test", roles=["client"])
    http = tenant_client(alpha, orphan)
    response = http.get(url("kyc_status"))
    assert response.status_code == 404
    assert "No client profile is linked" in response.content.decode()
    assert http.post(url("kyc_profile"), profile_data()).status_code == 404


def test_another_tenants_host_does_not_know_the_client(alpha, beta, carl):
    """Sessions live in the tenant's schema: carl's sign-in means nothing on beta."""
    http = tenant_client(alpha, carl)
    http.defaults["HTTP_HOST"] = "beta.localhost"
    response = http.get(url("kyc_status"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_beta_owner_is_refused_on_beta_portal_pages(beta, bob):
    assert tenant_client(beta, bob).get(url("kyc_profile")).status_code == 403


# Profile ------------------------------------------------------------------------------------------


def test_profile_saves_personal_and_financial_data_screens_and_goes_on(alpha, http, carl_client):
    response = http.post(url("kyc_profile"), profile_data(native_name="Карл Йенсен"))

    assert response.status_code == 302
    assert response["Location"] == url("kyc_questionnaire")
    with tenant_context(alpha):
        client = Client.objects.get(pk=carl_client.pk)
        assert (client.first_name, client.last_name, client.native_name) == ("Carl", "Jensen", "Карл Йенсен")
        assert client.date_of_birth == date(1985, 4, 12)
        assert (client.nationality, client.country, client.city, client.postal_code) == ("GB", "GB", "Leeds", "LS1 4AB")
        profile = FinancialProfile.objects.get(client=client)
        assert str(profile.tax_residence) == "GB"
        assert (profile.tax_id, profile.employment, profile.employer) == ("QQ123456C", "employed", "Acme Ltd")
        assert profile.industry == "Information technology"
        assert profile.completed_at is not None
        assert ScreeningRun.objects.filter(client=client, trigger="onboarding").count() == 1
        assert AuditRecord.objects.filter(action="kyc.profile.completed").count() == 1
        # Evaluated: risk scored with a complete profile.
        assessment = client.risk_assessments.first()
        assert assessment is not None
        assert "profile" not in [reason["factor"] for reason in assessment.reasons]


def test_profile_shows_every_field_error_and_writes_nothing(alpha, http, carl_client):
    first_name = carl_client.first_name
    under_age = timezone.localdate().replace(year=timezone.localdate().year - 17).isoformat()
    response = http.post(
        url("kyc_profile"),
        profile_data(
            first_name="Changed",
            last_name="",
            date_of_birth=under_age,
            employer="",
            source_of_funds="other",
            source_of_funds_detail="",
            annual_income="",
        ),
    )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["last_name"] == ["This field is required."]
    assert errors["date_of_birth"] == ["You must be at least 18 to open an account."]
    assert errors["employer"] == ["Tell us who you work for."]
    assert errors["source_of_funds_detail"] == ["Describe where the money comes from."]
    assert errors["annual_income"] == ["This field is required."]
    assert "Some fields need fixing" in response.content.decode()
    with tenant_context(alpha):
        # The valid first name was not saved either.
        assert Client.objects.get(pk=carl_client.pk).first_name == first_name
        assert not FinancialProfile.objects.filter(client=carl_client).exists()
        assert not ScreeningRun.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("nationality", "XX", "Select a valid choice. XX is not one of the available choices."),
        ("date_of_birth", "1985-13-45", "Enter a valid date."),
        ("date_of_birth", "2999-01-01", "Must be in the past."),
        ("employment", "astronaut", "Select a valid choice. astronaut is not one of the available choices."),
        ("tax_id", "", "This field is required."),
    ],
)
def test_profile_refuses_bad_values_with_a_field_message(alpha, http, carl_client, field, value, message):
    response = http.post(url("kyc_profile"), profile_data(**{field: value}))
    assert response.status_code == 400
    assert message in response.context["form"].errors[field]
    with tenant_context(alpha):
        assert not FinancialProfile.objects.filter(client=carl_client).exists()


LATIN_ONLY = (
    "Use the Latin spelling from your passport or ID card; write your name in your own script in the field below."
)
TAX_ID_RULE = "Use 4 to 30 characters: letters, digits, spaces, hyphens (-), slashes (/) and dots (.)."
TOO_OLD = "Check the year: a date of birth must be in 1900 or later, for an age of at most 120."


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("date_of_birth", "1899-12-31", TOO_OLD),
        ("date_of_birth", "0001-01-01", TOO_OLD),
        ("first_name", "Юлия", LATIN_ONLY),
        ("last_name", "Щукина", LATIN_ONLY),
        ("last_name", "王", LATIN_ONLY),
        ("first_name", "Carl2", LATIN_ONLY),
        ("last_name", "Jensen <b>", LATIN_ONLY),
        ("tax_id", "QQ1", TAX_ID_RULE),
        ("tax_id", "Q" * 31, TAX_ID_RULE),
        ("tax_id", "QQ12;DROP", TAX_ID_RULE),
        ("tax_id", "ИНН 770412", TAX_ID_RULE),
    ],
)
def test_profile_refuses_implausible_birth_dates_non_latin_names_and_odd_tax_ids(
    alpha, http, carl_client, field, value, message
):
    response = http.post(url("kyc_profile"), profile_data(**{field: value}))
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    with tenant_context(alpha):
        assert not FinancialProfile.objects.filter(client=carl_client).exists()


def test_an_age_over_120_is_refused_and_120_is_accepted(alpha, http, carl_client):
    today = timezone.localdate()
    too_old = date(today.year - 121, 1, 1)
    response = http.post(url("kyc_profile"), profile_data(date_of_birth=too_old.isoformat()))
    assert response.context["form"].errors["date_of_birth"] == [TOO_OLD]
    oldest = date(today.year - 120, 1, 1)
    assert http.post(url("kyc_profile"), profile_data(date_of_birth=oldest.isoformat())).status_code == 302
    with tenant_context(alpha):
        assert Client.objects.get(pk=carl_client.pk).date_of_birth == oldest


def test_accented_latin_names_and_a_native_script_name_are_saved(alpha, http, carl_client):
    response = http.post(
        url("kyc_profile"),
        profile_data(
            first_name="Zoë Ångström-D'Arcy",
            last_name="Đặng O’Neill Jr.",
            native_name="Юлия Щукина",
            tax_id="12/345.678-90 A",
        ),
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        client = Client.objects.get(pk=carl_client.pk)
        assert (client.first_name, client.last_name) == ("Zoë Ångström-D'Arcy", "Đặng O’Neill Jr.")
        assert client.native_name == "Юлия Щукина"
        assert FinancialProfile.objects.get(client=client).tax_id == "12/345.678-90 A"


def test_a_name_with_combining_accents_is_stored_composed(alpha, http, carl_client):
    response = http.post(url("kyc_profile"), profile_data(first_name="Rene\u0301e"))
    assert response.status_code == 302
    with tenant_context(alpha):
        assert Client.objects.get(pk=carl_client.pk).first_name == "Renée"


def test_a_retired_client_needs_no_occupation_or_employer(alpha, http, carl_client):
    response = http.post(url("kyc_profile"), profile_data(employment="retired", occupation="", employer=""))
    assert response.status_code == 302
    with tenant_context(alpha):
        assert FinancialProfile.objects.get(client=carl_client).employment == "retired"


def test_editing_the_profile_later_keeps_its_completion_and_returns_to_the_status(alpha, http, carl_client):
    http.post(url("kyc_profile"), profile_data())
    with tenant_context(alpha):
        completed_at = FinancialProfile.objects.get(client=carl_client).completed_at

    page = http.get(url("kyc_profile"))
    assert page.context["form"].initial["tax_id"] == "QQ123456C"
    response = http.post(url("kyc_profile"), profile_data(tax_id="QQ999999C", city="York"))

    assert response["Location"] == url("kyc_status")
    with tenant_context(alpha):
        profile = FinancialProfile.objects.get(client=carl_client)
        assert profile.tax_id == "QQ999999C"
        assert profile.completed_at == completed_at
        assert Client.objects.get(pk=carl_client.pk).city == "York"
        assert AuditRecord.objects.filter(action="kyc.profile.updated").count() == 1
    # Saving it again unchanged records nothing new.
    http.post(url("kyc_profile"), profile_data(tax_id="QQ999999C", city="York"))
    with tenant_context(alpha):
        assert AuditRecord.objects.filter(action="kyc.profile.updated").count() == 1


# Questionnaire ------------------------------------------------------------------------------------


def default_questionnaire() -> Questionnaire:
    return Questionnaire.objects.get(jurisdiction="", version=1)


def test_the_questionnaire_waits_for_the_profile(alpha, http):
    response = http.get(url("kyc_questionnaire"))
    assert response.status_code == 302
    assert response["Location"] == url("kyc_profile")


def test_passing_the_questionnaire_scores_it_and_goes_to_documents(alpha, http, carl_client):
    with tenant_context(alpha):
        profile_done(carl_client)
        questionnaire = default_questionnaire()
    page = http.get(url("kyc_questionnaire"))
    assert page.status_code == 200
    assert QUESTIONS[1]["text"] in page.content.decode()

    response = http.post(url("kyc_questionnaire"), answers_for(questionnaire, PASSING))

    assert response["Location"] == url("kyc_documents")
    with tenant_context(alpha):
        answer = QuestionnaireAnswer.objects.get(client=carl_client)
        assert (answer.score, answer.passed, answer.questionnaire_id) == (13, True, questionnaire.pk)
        assert answer.answers["leverage"] == "30"
    status = http.get(url("kyc_status")).content.decode()
    assert 'id="requirement-questionnaire" data-state="met"' in status


def test_failing_shows_the_warning_until_the_client_acknowledges_it(alpha, http, carl_client):
    with tenant_context(alpha):
        profile_done(carl_client)
        questionnaire = default_questionnaire()

    response = http.post(url("kyc_questionnaire"), answers_for(questionnaire, FAILING))
    assert response["Location"] == url("kyc_questionnaire")
    page = http.get(url("kyc_questionnaire")).content.decode()
    assert questionnaire.warning_text in page
    assert "Acknowledge and continue" in page
    status = http.get(url("kyc_status")).content.decode()
    assert 'id="requirement-questionnaire" data-state="missing"' in status
    assert "Read the risk warning and acknowledge it to go on." in status

    with tenant_context(alpha):
        answer = QuestionnaireAnswer.objects.get(client=carl_client)
        assert (answer.passed, answer.score) == (False, 1)
    unticked = http.post(url("kyc_warning_acknowledge"), {"answer": answer.pk}, follow=True)
    assert "Tick the box to confirm" in unticked.content.decode()
    with tenant_context(alpha):
        assert QuestionnaireAnswer.objects.get(pk=answer.pk).warning_acknowledged_at is None

    ticked = http.post(url("kyc_warning_acknowledge"), {"answer": answer.pk, "understood": "on"})
    assert ticked["Location"] == url("kyc_documents")
    with tenant_context(alpha):
        assert QuestionnaireAnswer.objects.get(pk=answer.pk).warning_acknowledged_at is not None
        assert AuditRecord.objects.filter(action="kyc.questionnaire.warning_acknowledged").count() == 1
    status = http.get(url("kyc_status")).content.decode()
    assert 'id="requirement-questionnaire" data-state="met"' in status


def test_a_retake_counts_instead_of_the_earlier_answers(alpha, http, carl_client):
    with tenant_context(alpha):
        profile_done(carl_client)
        questionnaire = default_questionnaire()
    http.post(url("kyc_questionnaire"), answers_for(questionnaire, FAILING))
    assert "take the test again" in http.get(url("kyc_questionnaire")).content.decode()
    retake = http.get(url("kyc_questionnaire") + "?retake=1")
    assert "Submit answers" in retake.content.decode()

    http.post(url("kyc_questionnaire"), answers_for(questionnaire, PASSING))

    with tenant_context(alpha):
        assert list(QuestionnaireAnswer.objects.filter(client=carl_client).values_list("passed", flat=True)) == [
            True,
            False,
        ]
    assert "You passed" in http.get(url("kyc_questionnaire")).content.decode()


def test_unanswered_questions_are_named_and_nothing_is_stored(alpha, http, carl_client):
    with tenant_context(alpha):
        profile_done(carl_client)
        questionnaire = default_questionnaire()
    data = answers_for(questionnaire, PASSING)
    del data["stop_out"], data["purpose"]

    response = http.post(url("kyc_questionnaire"), data)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["stop_out"] == ["Choose an answer."]
    assert errors["purpose"] == ["Choose an answer."]
    with tenant_context(alpha):
        assert not QuestionnaireAnswer.objects.exists()


def test_a_choice_the_version_does_not_have_is_refused(alpha, http, carl_client):
    with tenant_context(alpha):
        profile_done(carl_client)
        questionnaire = default_questionnaire()

    response = http.post(url("kyc_questionnaire"), {**answers_for(questionnaire, PASSING), "leverage": "100"})

    assert response.status_code == 400
    assert response.context["form"].errors["leverage"] == ["That is not one of the answers to this question."]
    with tenant_context(alpha):
        assert not QuestionnaireAnswer.objects.exists()


def test_answers_to_a_version_replaced_meanwhile_are_refused(alpha, http, carl_client):
    with tenant_context(alpha):
        profile_done(carl_client)
        old = default_questionnaire()
        Questionnaire.objects.create(
            jurisdiction="", version=2, title="Test v2", questions=QUESTIONS, pass_score=9, warning_text="Careful."
        )

    response = http.post(url("kyc_questionnaire"), answers_for(old, PASSING))

    assert response.status_code == 400
    assert "The questionnaire was updated while you answered it" in response.content.decode()
    with tenant_context(alpha):
        assert not QuestionnaireAnswer.objects.exists()


GERMAN = [
    {
        "code": "erfahrung",
        "text": "Wie oft haben Sie in den letzten drei Jahren mit CFDs gehandelt?",
        "choices": [{"code": "nie", "text": "Nie", "points": 0}, {"code": "oft", "text": "Oft", "points": 5}],
    }
]


def test_a_german_client_gets_the_german_version_and_others_the_default(alpha, http, carl_client):
    with tenant_context(alpha):
        german = Questionnaire.objects.create(
            jurisdiction="DE", version=1, title="Angemessenheitstest", questions=GERMAN, pass_score=5,
            warning_text="CFDs sind für Sie möglicherweise nicht geeignet.",
        )  # fmt: skip
        profile_done(carl_client)
        Client.objects.filter(pk=carl_client.pk).update(country="DE")
        dora = factories.client_user("dora@alpha.test")

    page = http.get(url("kyc_questionnaire")).content.decode()
    assert "Wie oft haben Sie" in page
    assert QUESTIONS[0]["text"] not in page
    # The default version's answers are not answers to the German one.
    refused = http.post(url("kyc_questionnaire"), answers_for(default_questionnaire_in(alpha), PASSING))
    assert refused.status_code == 400

    response = http.post(url("kyc_questionnaire"), {"questionnaire": german.pk, "erfahrung": "nie"})

    assert response["Location"] == url("kyc_questionnaire")
    with tenant_context(alpha):
        answer = QuestionnaireAnswer.objects.get(client=carl_client)
        assert (answer.questionnaire_id, answer.passed) == (german.pk, False)
        profile_done(Client.objects.get(user=dora))
    assert "CFDs sind für Sie möglicherweise nicht geeignet." in http.get(url("kyc_questionnaire")).content.decode()
    dora_page = tenant_client(alpha, dora).get(url("kyc_questionnaire")).content.decode()
    assert QUESTIONS[0]["text"] in dora_page
    assert "Wie oft haben Sie" not in dora_page


def default_questionnaire_in(tenant) -> Questionnaire:
    with tenant_context(tenant):
        return default_questionnaire()


def test_a_client_cannot_acknowledge_another_clients_answer(alpha, http, carl_client):
    with tenant_context(alpha):
        dora = factories.client_user("dora@alpha.test")
        dora_client = Client.objects.get(user=dora)
        answer = QuestionnaireAnswer.objects.create(
            client=dora_client, questionnaire=default_questionnaire(), answers={}, score=0, passed=False
        )

    response = http.post(url("kyc_warning_acknowledge"), {"answer": answer.pk, "understood": "on"})

    assert response.status_code == 404
    with tenant_context(alpha):
        assert QuestionnaireAnswer.objects.get(pk=answer.pk).warning_acknowledged_at is None


def test_only_the_latest_failed_answer_can_be_acknowledged(alpha, http, carl_client):
    with tenant_context(alpha):
        profile_done(carl_client)
        questionnaire = default_questionnaire()
        older = QuestionnaireAnswer.objects.create(
            client=carl_client, questionnaire=questionnaire, answers={}, score=0, passed=False
        )
        QuestionnaireAnswer.objects.create(
            client=carl_client, questionnaire=questionnaire, answers={}, score=1, passed=False
        )

    response = http.post(url("kyc_warning_acknowledge"), {"answer": older.pk, "understood": "on"}, follow=True)

    assert "Only your latest answers can be acknowledged." in response.content.decode()
    with tenant_context(alpha):
        assert not QuestionnaireAnswer.objects.filter(warning_acknowledged_at__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_two_acknowledgements_at_once_record_one(alpha):
    from kyc.onboarding import warning_acknowledge
    from tests.concurrency import race

    with tenant_context(alpha):
        user = factories.client_user("carl@alpha.test")
        client = Client.objects.get(user=user)
        profile_done(client)
        answer = QuestionnaireAnswer.objects.create(
            client=client, questionnaire=default_questionnaire(), answers={}, score=0, passed=False
        )

    results = race(alpha, lambda _: warning_acknowledge(client=client, actor=user, answer=answer), count=4)

    assert not [result for result in results if isinstance(result, Exception)]
    with tenant_context(alpha):
        assert AuditRecord.objects.filter(action="kyc.questionnaire.warning_acknowledged").count() == 1
        assert len({r.warning_acknowledged_at for r in results}) == 1


# Status page --------------------------------------------------------------------------------------


def test_a_new_client_sees_everything_that_is_missing(alpha, http):
    response = http.get(url("kyc_status"))
    page = response.content.decode()

    assert response.status_code == 200
    assert [r.code for r in response.context["to_do"]] == ["profile", "questionnaire", "identity", "address"]
    assert "What is missing" in page
    assert f'href="{url("kyc_profile")}"' in page
    assert "Upload a passport, or both sides of an identity card or driving licence." in page
    assert 'id="requirement-selfie" data-state="missing"' in page  # asked by no level: optional
    assert ">Optional<" in page
    assert ">After the rest<" in page  # approval: not "being checked" before anything is in
    assert ">Not started<" in page
    steps = [(step.label, step.state) for step in response.context["steps"]]
    assert steps == [
        ("Registration", "done"),
        ("Profile", "current"),
        ("Questionnaire", "todo"),
        ("Documents", "todo"),
        ("Review", "todo"),
    ]
    assert "Level 0: Registered" in page
    assert "Deposits open once you complete" in page
    assert "Not yet: they open at level 2, Verified." in page


def test_status_shows_staffs_requests_and_documents_with_their_reasons(alpha, http, carl_client):
    with tenant_context(alpha):
        DocumentRequest.objects.create(
            client=carl_client, kinds=["proof_of_address"], message="Your bill is older than three months."
        )
        Document.objects.create(
            client=carl_client, kind="passport", file="x", original_name="passport.jpg", content_type="image/jpeg",
            size=2000, sha256="0" * 64, status="failed",
            status_reason="The date of birth in the document (1985-04-21) differs from your profile (1985-04-12).",
        )  # fmt: skip

    page = http.get(url("kyc_status")).content.decode()

    assert "Our team asked you for more documents" in page
    assert "Proof of address" in page and "Your bill is older than three months." in page
    assert "Failed the automatic checks" in page
    assert "differs from your profile (1985-04-12)." in page
    assert "Upload a new one" in page
    assert 'id="requirement-identity" data-state="missing"' in page


def requirement_html(page: str, code: str) -> str:
    start = page.index(f'id="requirement-{code}"')
    return page[start : page.index("</li>", start)]


def section_html(page: str, section_id: str) -> str:
    start = page.index(f'id="{section_id}"')
    return page[start : page.index("</section>", start)]


def test_failed_uploads_read_as_sentences_with_action_needed_not_missing(alpha, http, carl_client):
    with tenant_context(alpha):
        for side, reason in (
            ("front", "The photo is too blurry to read."),
            ("back", "The machine-readable lines do not match the document."),
        ):
            Document.objects.create(
                client=carl_client, kind="id_card", side=side, file="x", original_name=f"{side}.jpg",
                content_type="image/jpeg", size=2000, sha256=side[0] * 64, status="failed", status_reason=reason,
            )  # fmt: skip
        detail = requirement_states(carl_client)["identity"].detail

    assert detail == (
        "We could not accept your uploads. Identity card (front): The photo is too blurry to read. Identity card "
        "(back): The machine-readable lines do not match the document. Upload a passport, or both sides of an "
        "identity card or driving licence."
    )
    page = http.get(url("kyc_status")).content.decode()
    identity = requirement_html(page, "identity")
    assert "Action needed" in identity and "Missing" not in identity
    assert detail in identity
    assert ".;" not in page and ".." not in page.replace("…", "")
    # The call to action is short; the reasons are in "Your file" only.
    missing = section_html(page, "kyc-missing")
    assert "Upload an identity document" in missing
    assert "too blurry" not in missing and page.count("too blurry") == 2  # the file, and the uploads table


def test_a_single_failed_upload_is_one_sentence_before_what_to_do(in_alpha, carl_client):
    Document.objects.create(
        client=carl_client, kind="proof_of_address", file="x", original_name="bill.pdf",
        content_type="application/pdf", size=2000, sha256="b" * 64, status="rejected",
        rejection_reason="The bill is older than three months",
    )  # fmt: skip
    assert requirement_states(carl_client)["address"].detail == (
        "We could not accept your upload. Proof of address (single page): The bill is older than three months. "
        "Upload a utility bill or bank statement from the last months showing your name and address."
    )


def test_the_deposit_sentence_and_level_table_read_naturally(alpha, http):
    response = http.get(url("kyc_status"))
    page = response.content.decode()
    assert "Deposits open once you complete your profile, the questionnaire and an identity document." in page
    assert "checked" not in section_html(page, "kyc-level")
    assert "Identity document, checked" not in page


def test_a_rejected_client_reads_why(alpha, http, carl_client):
    with tenant_context(alpha):
        Client.objects.filter(pk=carl_client.pk).update(kyc_status="rejected")
        Review.objects.create(
            client=carl_client, status="rejected", decided_at=timezone.now(), client_message="The documents are forged."
        )

    response = http.get(url("kyc_status"))

    assert "We could not verify your account." in response.content.decode()
    assert "The documents are forged." in response.content.decode()
    assert ("Review", "blocked") in [(s.label, s.state) for s in response.context["steps"]]


def test_an_approved_client_holds_the_top_level(alpha, http, carl_client):
    with tenant_context(alpha):
        Client.objects.filter(pk=carl_client.pk).update(kyc_status="approved")

    page = http.get(url("kyc_status")).content.decode()

    assert "You are verified" in page
    assert "Level 2: Verified" in page
    assert "No limit" in page


def test_the_portal_home_says_what_is_missing_with_a_button(alpha, http):
    page = http.get(reverse("portal:home")).content.decode()

    assert 'id="kyc-home-card"' in page
    assert "Verify your account" in page
    assert "Personal and financial profile" in page
    assert "Start verification" in page
    assert f'href="{url("kyc_profile")}"' in page


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_score_is_the_sum_of_the_chosen_points_and_the_latest_answer_counts(in_alpha, carl, data):
    client = Client.objects.get(user=carl)
    questionnaire = default_questionnaire()
    chosen = {q["code"]: data.draw(st.sampled_from(q["choices"])) for q in questionnaire.questions}

    answer = questionnaire_submit(
        client=client,
        actor=carl,
        questionnaire=questionnaire,
        answers={code: choice["code"] for code, choice in chosen.items()},
    )

    points = sum(choice["points"] for choice in chosen.values())
    assert answer.score == points
    assert answer.passed == (points >= questionnaire.pass_score)
    assert latest_answer(client) == answer
    state = requirement_states(client)["questionnaire"].state
    assert state == ("met" if answer.passed else "missing")


def test_the_polled_upload_list_reads_a_fixed_number_of_rows(alpha, http, carl_client, django_assert_num_queries):
    with tenant_context(alpha):
        for number in range(5):
            Document.objects.create(
                client=carl_client, kind="selfie", file="x", original_name=f"me{number}.jpg",
                content_type="image/jpeg", size=2000, sha256="0" * 64,
            )  # fmt: skip
    with django_assert_num_queries(QUERIES_PER_POLL):
        response = http.get(url("kyc_documents_list"), HTTP_HX_REQUEST="true")
    assert response.content.decode().count("me") >= 5
