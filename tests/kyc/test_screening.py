"""Screening one client: hits with their explanation, remembered false positives, changed entries,
names in other scripts, dates of birth, and the officer's decision.

Personas in alpha: Cora is a compliance officer (decides hits), Sam sells, Sue supports; clients are
made per test. The watchlist is written straight into the shared tables (tests.kyc.screening_support).
"""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from hypothesis import given
from hypothesis import strategies as st

from brokerage.errors import ApplicationError
from brokerage.models import AuditRecord
from crm.models import Client, Notification, TimelineEvent
from crm.profile import client_update
from kyc.models import KycSettings, Review, ScreeningHit, ScreeningRun
from kyc.screening import Subject, hit_decide, screen_client
from tests import factories
from tests.kyc.screening_support import Listed, compliance_officer, file_complete, person, watchlist_load

pytestmark = pytest.mark.django_db

MARIA = Listed(
    "OFAC-1001",
    "GARCIA LOPEZ, Maria Elena",
    aliases=("Maria Garcia",),
    dates_of_birth=("1961-04-12",),
    nationalities=("VE",),
    programs=("VENEZUELA-EO13850",),
)


@pytest.fixture
def cora(in_alpha):
    return compliance_officer()


@pytest.fixture
def maria(in_alpha):
    return person("Maria", "Garcia", date_of_birth=date(1961, 4, 12), nationality="VE", country="ES")


def test_a_client_matching_a_listed_person_gets_an_open_hit_with_the_explanation(maria, cora):
    version = watchlist_load(MARIA)
    sam = factories.staff_user("sam@alpha.test", roles=["sales"], mfa=False)

    run = screen_client(maria, trigger="onboarding")

    assert (run.trigger, run.candidates, run.new_hits) == ("onboarding", 1, 1)
    assert run.names_screened == ["Maria Garcia"]
    assert run.list_versions == [{"id": version.pk, "source": "ofac_sdn"}]
    hit = ScreeningHit.objects.get(client=maria)
    assert (hit.source, hit.entry_id, hit.status, hit.trigger) == ("ofac_sdn", "OFAC-1001", "open", "onboarding")
    assert hit.entry_hash == version.entries.get().content_hash
    assert hit.entry["name"] == "GARCIA LOPEZ, Maria Elena"
    assert hit.entry["programs"] == ["VENEZUELA-EO13850"]
    assert hit.score >= KycSettings.current().screening_threshold
    assert hit.explanation["client_name"] == "Maria Garcia"
    assert hit.explanation["final"] == hit.score
    # Compliance hears of it, sales does not; the trail and the timeline say so.
    assert Notification.objects.filter(user=cora, message__contains="Watchlist hit on Maria Garcia").count() == 1
    assert not Notification.objects.filter(user=sam).exists()
    assert AuditRecord.objects.filter(action="kyc.screening.hit_raised", object_id=str(hit.pk)).count() == 1
    assert TimelineEvent.objects.filter(client=maria, topic="kyc.screening.hit").count() == 1
    # The open hit weighs on the risk score at once.
    maria.refresh_from_db()
    assert "Open sanctions hit" in str(maria.risk_assessments.first().reasons)


def test_a_client_nobody_lists_is_screened_and_clear(in_alpha, cora):
    watchlist_load(MARIA)
    john = person("John", "Smith", date_of_birth=date(1985, 1, 1), nationality="GB")

    run = screen_client(john, trigger="manual")

    assert (run.candidates, run.new_hits) == (0, 0)
    assert not ScreeningHit.objects.exists()
    assert not Notification.objects.exists()


def test_a_false_positive_stays_decided_when_the_same_entry_matches_again(maria, cora):
    watchlist_load(MARIA)
    screen_client(maria, trigger="onboarding")
    hit = ScreeningHit.objects.get()
    hit_decide(hit, actor=cora, decision="false_positive", note="Different person: passport shows another birthplace")

    run = screen_client(maria, trigger="manual")

    assert (run.candidates, run.new_hits) == (1, 0)
    assert list(ScreeningHit.objects.values_list("status", flat=True)) == ["false_positive"]
    assert Notification.objects.filter(user=cora).count() == 1  # only the first hit


def test_a_changed_entry_raises_a_new_hit_after_a_false_positive(maria, cora):
    watchlist_load(MARIA)
    screen_client(maria, trigger="onboarding")
    first = ScreeningHit.objects.get()
    hit_decide(first, actor=cora, decision="false_positive", note="Not her")
    changed = Listed(
        MARIA.entry_id,
        MARIA.name,
        aliases=(*MARIA.aliases, "Maria E. Garcia"),
        dates_of_birth=MARIA.dates_of_birth,
        nationalities=MARIA.nationalities,
        programs=MARIA.programs,
    )
    watchlist_load(changed)

    run = screen_client(maria, trigger="manual")

    assert run.new_hits == 1
    second = ScreeningHit.objects.exclude(pk=first.pk).get()
    assert (second.entry_id, second.status) == ("OFAC-1001", "open")
    assert second.entry_hash != first.entry_hash
    assert "Maria E. Garcia" in second.entry["aliases"]
    first.refresh_from_db()
    assert first.status == "false_positive"


def test_a_client_named_in_cyrillic_matches_the_transliterated_entry(in_alpha, cora):
    watchlist_load(Listed("UN-77", "VOLKOV, Dmitriy Sergeyevich", dates_of_birth=("1970",), nationalities=("RU",)))
    dmitriy = person("Дмитрий", "Волков", date_of_birth=date(1970, 6, 1), nationality="RU", country="CY")

    run = screen_client(dmitriy, trigger="onboarding")

    assert run.new_hits == 1
    hit = ScreeningHit.objects.get(client=dmitriy)
    assert hit.entry_id == "UN-77"
    assert hit.explanation["client_name"] == "Дмитрий Волков"


def test_the_name_in_its_own_script_is_screened_besides_the_latin_one(in_alpha, cora):
    watchlist_load(Listed("EU-5", "Wang Wei", dates_of_birth=("1975-02-03",), nationalities=("CN",)))
    client = person("William", "Wong", native_name="王伟", date_of_birth=date(1975, 2, 3), nationality="CN")

    run = screen_client(client, trigger="onboarding")

    assert run.names_screened == ["William Wong", "王伟"]
    assert ScreeningHit.objects.get(client=client).explanation["client_name"] == "王伟"


def test_a_company_is_screened_by_its_name(in_alpha, cora):
    watchlist_load(Listed("OFAC-9", "GOLDEN SANDS TRADING LLC", kind="organisation", nationalities=("AE",)))
    company = person("Omar", "Haddad", kind="company", company_name="Golden Sands Trading LLC", country="AE")

    run = screen_client(company, trigger="onboarding")

    assert run.names_screened == ["Golden Sands Trading LLC", "Omar Haddad"]
    assert ScreeningHit.objects.get(client=company).entry_id == "OFAC-9"


def test_a_different_date_of_birth_keeps_a_namesake_below_the_threshold(in_alpha, cora):
    watchlist_load(MARIA)
    namesake = person("Maria", "Garcia", date_of_birth=date(1994, 9, 30), nationality="ES", country="ES")
    same = person("Maria", "Garcia", date_of_birth=date(1961, 4, 12), nationality="ES", country="ES")

    assert screen_client(namesake, trigger="onboarding").new_hits == 0
    assert screen_client(same, trigger="onboarding").new_hits == 1
    assert list(ScreeningHit.objects.values_list("client_id", flat=True)) == [same.pk]


# Deciding a hit -------------------------------------------------------------------------------------------


@pytest.fixture
def open_hit(maria, cora):
    watchlist_load(MARIA)
    screen_client(maria, trigger="onboarding")
    return ScreeningHit.objects.get()


@pytest.mark.parametrize("role", ["sales", "support", "back_office", "finance"])
def test_staff_without_compliance_rights_cannot_decide_a_hit(open_hit, role):
    someone = factories.staff_user(f"{role}@alpha.test", roles=[role], mfa=False)

    with pytest.raises(PermissionDenied):
        hit_decide(open_hit, actor=someone, decision="false_positive", note="Looks fine to me")

    open_hit.refresh_from_db()
    assert (open_hit.status, open_hit.decided_by, open_hit.decision_note) == ("open", None, "")
    assert not AuditRecord.objects.filter(action="kyc.screening.hit_decided").exists()


def test_nobody_signed_in_cannot_decide_a_hit(open_hit):
    with pytest.raises(PermissionDenied):
        hit_decide(open_hit, actor=None, decision="confirmed", note="")
    assert ScreeningHit.objects.get().status == "open"


def test_a_false_positive_needs_a_note(open_hit, cora):
    with pytest.raises(ApplicationError) as error:
        hit_decide(open_hit, actor=cora, decision="false_positive", note="   ")
    assert "note" in error.value.fields
    assert ScreeningHit.objects.get().status == "open"


@pytest.mark.parametrize(
    ("decision", "note", "field"),
    [("dismissed", "Not her", "decision"), ("", "Not her", "decision"), ("confirmed", "x" * 501, "note")],
)
def test_a_decision_the_hit_cannot_take_is_refused(open_hit, cora, decision, note, field):
    with pytest.raises(ApplicationError) as error:
        hit_decide(open_hit, actor=cora, decision=decision, note=note)
    assert field in error.value.fields
    assert ScreeningHit.objects.get().status == "open"


def test_a_hit_is_decided_once(open_hit, cora):
    hit_decide(open_hit, actor=cora, decision="false_positive", note="Not her")

    with pytest.raises(ApplicationError) as error:
        hit_decide(open_hit, actor=cora, decision="confirmed", note="")

    assert error.value.code == "already_decided"
    assert ScreeningHit.objects.get().status == "false_positive"
    assert AuditRecord.objects.filter(action="kyc.screening.hit_decided").count() == 1


def test_a_confirmed_match_makes_the_client_high_risk_and_sends_the_file_to_review(maria, cora):
    file_complete(maria)
    watchlist_load(MARIA)
    screen_client(maria, trigger="onboarding")
    hit = ScreeningHit.objects.get()

    hit_decide(hit, actor=cora, decision="confirmed", note="Same passport number as the listing")

    maria.refresh_from_db()
    assert (maria.risk_level, maria.kyc_status) == ("high", "pending")
    review = Review.objects.get(client=maria, status__in=Review.OPEN_STATUSES)
    assert "A confirmed watchlist match" in review.reasons
    hit.refresh_from_db()
    assert (hit.status, hit.decided_by, hit.decision_note) == ("confirmed", cora, "Same passport number as the listing")
    record = AuditRecord.objects.get(action="kyc.screening.hit_decided")
    assert (record.actor_id, record.after["status"]) == (cora.pk, "confirmed")
    assert TimelineEvent.objects.filter(client=maria, topic="kyc.screening.hit_decided").exists()


def test_a_false_positive_leaves_the_approval_to_the_officer_who_cleared_it(maria, cora):
    from kyc.review import approve_refusal, review_approve

    file_complete(maria)
    watchlist_load(MARIA)
    screen_client(maria, trigger="onboarding")
    maria.refresh_from_db()
    assert maria.kyc_status == "pending"  # waits for the hit

    hit_decide(ScreeningHit.objects.get(), actor=cora, decision="false_positive", note="Born in Madrid, not Caracas")

    maria.refresh_from_db()
    review = Review.objects.get(client=maria, status__in=Review.OPEN_STATUSES)
    assert maria.kyc_status == "pending"  # the machine does not close a file a person was asked about
    assert approve_refusal(review, cora) == ""
    review_approve(review, actor=cora)
    maria.refresh_from_db()
    assert maria.kyc_status == "approved"


# Profile changes ------------------------------------------------------------------------------------------


def test_a_profile_change_to_the_name_screens_the_client_again(in_alpha, cora, django_capture_on_commit_callbacks):
    watchlist_load(MARIA)
    client = person("Maria", "Fernandez", date_of_birth=date(1961, 4, 12), nationality="VE", country="ES")
    staff = factories.staff_user("bo@alpha.test", roles=["back_office"], mfa=False)

    with django_capture_on_commit_callbacks(execute=True):
        client_update(actor=staff, client=client, changes={"last_name": "Garcia"})

    run = ScreeningRun.objects.get(client=client)
    assert (run.trigger, run.names_screened, run.new_hits) == ("profile_change", ["Maria Garcia"], 1)
    assert ScreeningHit.objects.get(client=client).trigger == "profile_change"


def test_a_change_screening_does_not_read_leaves_screening_alone(in_alpha, django_capture_on_commit_callbacks):
    watchlist_load(MARIA)
    client = person("Maria", "Garcia", date_of_birth=date(1961, 4, 12), nationality="VE", country="ES")
    staff = factories.staff_user("bo@alpha.test", roles=["back_office"], mfa=False)

    with django_capture_on_commit_callbacks(execute=True):
        client_update(actor=staff, client=client, changes={"city": "Valencia", "language": "es"})

    assert not ScreeningRun.objects.exists()


def test_a_lead_is_not_screened_on_a_profile_change(in_alpha, django_capture_on_commit_callbacks):
    watchlist_load(MARIA)
    lead = person("Maria", "Fernandez", status=Client.Status.LEAD)
    staff = factories.staff_user("bo@alpha.test", roles=["back_office"], mfa=False)

    with django_capture_on_commit_callbacks(execute=True):
        client_update(actor=staff, client=lead, changes={"last_name": "Garcia"})

    assert not ScreeningRun.objects.exists()


# What is screened ------------------------------------------------------------------------------------------

_text = st.text(st.sampled_from("aZ éЖ王 \t\n-"), max_size=12)


@given(kind=st.sampled_from(["person", "company"]), first=_text, last=_text, native=_text, company=_text)
def test_every_name_is_screened_once_tidied_and_against_the_right_kind(kind, first, last, native, company):
    subject = Subject(1, kind, first, last, native, company, None, "", "")

    names = subject.names

    def tidy(text: str) -> str:
        return " ".join(text.split())

    assert all(name and name == tidy(name) for name in names)
    assert len({name.casefold() for name in names}) == len(names)
    fields = [f"{first} {last}", native] + ([company] if kind == "company" else [])
    assert {name.casefold() for name in names} == {tidy(field).casefold() for field in fields if tidy(field)}
    groups = dict(subject.name_groups)
    if kind == "person":
        assert set(groups) <= {"person"}
    elif tidy(company):
        assert groups["company"][0] == tidy(company)
