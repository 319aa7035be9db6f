"""The client's own steps of the onboarding: the profile (personal data on crm.Client, the rest on
FinancialProfile), the appropriateness questionnaire and its risk warning. Each step writes in one
transaction, is audited, and ends in `kyc_evaluate`, which decides what the file's state is now.

Documents are uploaded through kyc.documents.document_upload (the portal view calls it directly).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from crm.models import Client, TimelineEvent
from crm.profile import client_update
from crm.timeline import timeline_record
from kyc.documents import document_upload
from kyc.models import Document, FinancialProfile, Questionnaire, QuestionnaireAnswer
from kyc.models.profiles import PERSONAL_FIELDS
from kyc.requirements import (
    MET,
    MISSING,
    SIDES_NEEDED,
    WAITING,
    Requirement,
    latest_answer,
    questionnaire_for,
)
from kyc.screening import screen_client
from kyc.workflow import kyc_evaluate

# Personal data lives on the CRM record (PERSONAL_FIELDS); all of it but the native-script name and the second
# address line is needed to verify a person.
PERSONAL_REQUIRED = ("first_name", "last_name", "date_of_birth", "nationality", "country", "address_line1", "city")
FINANCIAL_FIELDS = (
    "tax_residence",
    "tax_id",
    "us_person",
    "employment",
    "occupation",
    "industry",
    "employer",
    "annual_income",
    "net_worth",
    "source_of_funds",
    "source_of_funds_detail",
    "expected_yearly_deposit",
)
FINANCIAL_REQUIRED = (
    "tax_residence",
    "tax_id",
    "employment",
    "annual_income",
    "net_worth",
    "source_of_funds",
    "expected_yearly_deposit",
)
# Employed people say what they do and for whom; the self-employed say what they do.
WORKING = (FinancialProfile.Employment.EMPLOYED, FinancialProfile.Employment.SELF_EMPLOYED)
REQUIRED = "This field is required."
Side = Document.Side
MRZ_KINDS = (Document.Kind.PASSPORT, Document.Kind.ID_CARD)
# An upload in one of these no longer stands for its side of the document.
UNUSABLE = (
    Document.Status.FAILED,
    Document.Status.REJECTED,
    Document.Status.EXPIRED,
    Document.Status.REPLACED,
)


# Names as in the identity document's Latin (machine-readable) spelling; the native-script name
# has its own field. Any Latin letter, accented or not, and the marks names are written with.
NAME_MARKS = frozenset(" -'’.")
LATIN_NAME_MESSAGE = (
    "Use the Latin spelling from your passport or ID card; write your name in your own script in the field below."
)
OLDEST_BIRTH_YEAR = 1900
OLDEST_AGE = 120
TAX_ID = re.compile(r"[A-Za-z0-9 ./-]{4,30}")
TAX_ID_MESSAGE = "Use 4 to 30 characters: letters, digits, spaces, hyphens (-), slashes (/) and dots (.)."


def _latin_name(value: str) -> bool:
    for char in unicodedata.normalize("NFC", value):
        if char in NAME_MARKS or unicodedata.category(char) == "Mn":
            continue
        if not (char.isalpha() and unicodedata.name(char, "").startswith("LATIN")):
            return False
    return True


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _personal_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """What the portal asks beyond crm's checks: names in Latin letters and a plausible birth year."""
    errors: dict[str, list[str]] = {}
    for field in ("first_name", "last_name"):
        if values.get(field) and not _latin_name(values[field]):
            errors[field] = [LATIN_NAME_MESSAGE]
    born = values.get("date_of_birth")
    if isinstance(born, date) and (born.year < OLDEST_BIRTH_YEAR or _age(born, timezone.localdate()) > OLDEST_AGE):
        errors["date_of_birth"] = [
            f"Check the year: a date of birth must be in {OLDEST_BIRTH_YEAR} or later, for an age of at most "
            f"{OLDEST_AGE}."
        ]
    return errors


def _financial_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for field in FINANCIAL_REQUIRED:
        if values.get(field) in (None, ""):
            errors[field] = [REQUIRED]
    if values.get("tax_id") and not TAX_ID.fullmatch(values["tax_id"]):
        errors["tax_id"] = [TAX_ID_MESSAGE]
    choices = {
        "employment": FinancialProfile.Employment.values,
        "annual_income": FinancialProfile.Band.values,
        "net_worth": FinancialProfile.Band.values,
        "expected_yearly_deposit": FinancialProfile.Band.values,
        "source_of_funds": FinancialProfile.Funds.values,
    }
    for field, allowed in choices.items():
        if values.get(field) and values[field] not in allowed:
            errors[field] = ["Choose one of the listed options."]
    if values.get("employment") in WORKING and not values.get("occupation"):
        errors["occupation"] = ["Tell us what you do for a living."]
    if values.get("employment") == FinancialProfile.Employment.EMPLOYED and not values.get("employer"):
        errors["employer"] = ["Tell us who you work for."]
    if values.get("source_of_funds") == FinancialProfile.Funds.OTHER and not values.get("source_of_funds_detail"):
        errors["source_of_funds_detail"] = ["Describe where the money comes from."]
    return errors


def profile_submit(*, client: Client, actor, personal: dict[str, Any], financial: dict[str, Any]) -> FinancialProfile:
    """Save the client's personal data (through crm's client_update, which checks ages, countries
    and names; the names in Latin letters and a birth year from 1900 are checked here) and financial
    profile together, or nothing; then screen a newly completed profile and re-evaluate the file.

    Later edits re-screen through the "crm.client.updated" event when names, date of birth or
    nationality change (kyc.screening_hooks).
    """
    unknown = sorted((set(personal) - set(PERSONAL_FIELDS)) | (set(financial) - set(FINANCIAL_FIELDS)))
    if unknown:
        raise ApplicationError(f"These cannot be changed here: {', '.join(unknown)}.")
    personal = {name: (value.strip() if isinstance(value, str) else value) for name, value in personal.items()}
    financial = {name: (value.strip() if isinstance(value, str) else value) for name, value in financial.items()}
    if financial.get("source_of_funds") != FinancialProfile.Funds.OTHER:
        financial["source_of_funds_detail"] = ""
    for name in ("first_name", "last_name"):
        if isinstance(personal.get(name), str):
            personal[name] = unicodedata.normalize("NFC", personal[name])
    errors = {name: [REQUIRED] for name in PERSONAL_REQUIRED if personal.get(name) in (None, "")}
    errors.update(_personal_errors(personal))
    errors.update(_financial_errors(financial))

    with transaction.atomic():
        try:
            client = client_update(
                actor=actor, client=client, changes={k: v for k, v in personal.items() if k not in errors}
            )
        except ApplicationError as error:
            for name, messages in error.fields.items():
                errors.setdefault(name, messages)
            if not error.fields:
                raise
        if errors:
            raise ApplicationError("Some fields need fixing.", fields=errors)
        FinancialProfile.objects.get_or_create(client=client)
        profile = FinancialProfile.objects.select_for_update().get(client=client)
        before = {name: getattr(profile, name) for name in FINANCIAL_FIELDS}
        for name in FINANCIAL_FIELDS:
            setattr(profile, name, financial.get(name, "" if name != "us_person" else False))
        after = {name: getattr(profile, name) for name in FINANCIAL_FIELDS}
        first_time = profile.completed_at is None
        if first_time:
            profile.completed_at = timezone.now()
        profile.save()
        changed = {name: str(after[name]) for name in FINANCIAL_FIELDS if before[name] != after[name]}
        if first_time or changed:
            topic = "kyc.profile.completed" if first_time else "kyc.profile.updated"
            audit_log(
                actor=actor,
                obj=profile,
                action=topic,
                before={name: str(before[name]) for name in changed},
                after=changed,
            )
            timeline_record(
                client_id=client.pk,
                kind=TimelineEvent.Kind.KYC,
                topic=topic,
                title="Completed the KYC profile" if first_time else "Updated the financial profile",
                detail=", ".join(str(FinancialProfile._meta.get_field(name).verbose_name) for name in changed),
                actor=actor,
            )
    if first_time:
        screen_client(client, trigger="onboarding")
    kyc_evaluate(client.pk, trigger="profile")
    return profile


def questionnaire_submit(
    *, client: Client, actor, questionnaire: Questionnaire, answers: dict[str, str]
) -> QuestionnaireAnswer:
    """Score the answers against the version the client was shown. A retake is a new row; the
    newest counts. Answers to a version that is no longer the client's, or choices the version
    does not have, are refused."""
    current = questionnaire_for(client)
    if current is None or current.pk != questionnaire.pk:
        raise ApplicationError(
            "The questionnaire was updated while you answered it. Please answer the current version.",
            code="stale_version",
        )
    questions = {question["code"]: question for question in questionnaire.questions}
    unknown = sorted(set(answers) - set(questions))
    if unknown:
        raise ApplicationError(f"These are not questions of this questionnaire: {', '.join(unknown)}.")
    errors: dict[str, list[str]] = {}
    points = {}
    for code, question in questions.items():
        choice = answers.get(code, "")
        allowed = {option["code"]: option["points"] for option in question["choices"]}
        if not choice:
            errors[code] = ["Choose an answer."]
        elif choice not in allowed:
            errors[code] = ["That is not one of the answers to this question."]
        else:
            points[code] = allowed[choice]
    if errors:
        raise ApplicationError("Please answer every question.", fields=errors)
    score = sum(points.values())
    with transaction.atomic():
        answer = QuestionnaireAnswer.objects.create(
            client=client,
            questionnaire=questionnaire,
            answers={code: answers[code] for code in questions},
            score=score,
            passed=score >= questionnaire.pass_score,
        )
        audit_log(
            actor=actor,
            action="kyc.questionnaire.answered",
            obj=answer,
            after={"questionnaire": str(questionnaire), "score": score, "passed": answer.passed},
        )
        timeline_record(
            client_id=client.pk,
            kind=TimelineEvent.Kind.KYC,
            topic="kyc.questionnaire.answered",
            title=(
                f"{'Passed' if answer.passed else 'Failed'} the appropriateness test "
                f"({score} of {questionnaire.max_score} points; {questionnaire.pass_score} to pass)"
            ),
            detail=f"{questionnaire.title}, version {questionnaire.version} ({questionnaire.jurisdiction or 'default'})",
            actor=actor,
        )
    kyc_evaluate(client.pk, trigger="questionnaire")
    return answer


def warning_acknowledge(*, client: Client, actor, answer: QuestionnaireAnswer) -> QuestionnaireAnswer:
    """The client read the risk warning of their failed test and goes on; only their newest answer
    counts, and acknowledging twice changes nothing."""
    if answer.client_id != client.pk or latest_answer(client) != answer:
        raise ApplicationError("Only your latest answers can be acknowledged.", code="not_latest")
    if answer.passed:
        raise ApplicationError("You passed the test: there is no warning to acknowledge.", code="passed")
    now = timezone.now()
    with transaction.atomic():
        updated = QuestionnaireAnswer.objects.filter(pk=answer.pk, warning_acknowledged_at__isnull=True).update(
            warning_acknowledged_at=now
        )
        if not updated:
            answer.refresh_from_db()
            return answer
        answer.warning_acknowledged_at = now
        audit_log(
            actor=actor,
            action="kyc.questionnaire.warning_acknowledged",
            obj=answer,
            after={"acknowledged_at": now.isoformat()},
        )
        timeline_record(
            client_id=client.pk,
            kind=TimelineEvent.Kind.KYC,
            topic="kyc.questionnaire.warning_acknowledged",
            title="Acknowledged the risk warning of the appropriateness test",
            actor=actor,
        )
    kyc_evaluate(client.pk, trigger="questionnaire")
    return answer


def documents_submit(
    *,
    client: Client,
    actor,
    kind: str,
    files: dict[str, UploadedFile],
    mrz_text: str = "",
    issued_on: date | None = None,
    address_text: str = "",
    expires_on: date | None = None,
) -> list[Document]:
    """Upload one document from the portal: a single page, or one or both sides of a card. Both
    sides go in together or not at all; a single side only when the other is already on file.

    `files` maps a side ("single", "front", "back") to its file. Errors name the form field: the
    side's, "issued_on", "expires_on", "mrz_text" or "address_text". `expires_on` is read off a
    driving licence, which has no machine-readable zone.
    """
    if kind not in Document.Kind.values:
        raise ApplicationError("Choose the kind of document.", fields={"kind": ["Unknown kind of document."]})
    sides = [str(side) for side in SIDES_NEEDED[kind]]
    files = {side: upload for side, upload in files.items() if upload}
    errors: dict[str, list[str]] = {}
    if set(files) - set(sides):
        raise ApplicationError("This document does not have that side.", fields={"kind": ["Wrong side."]})
    if not files:
        for side in sides:
            errors[side] = ["Choose a file to upload."]
    elif len(files) < len(sides):
        missing_side = next(side for side in sides if side not in files)
        on_file = client.kyc_documents.filter(kind=kind, side=missing_side).exclude(status__in=UNUSABLE).exists()
        if not on_file:
            label = Document.Side(missing_side).label.lower()
            errors[missing_side] = [f"Upload the {label} side too: we need both sides."]
    if kind == Document.Kind.PROOF_OF_ADDRESS:
        if issued_on is None:
            errors["issued_on"] = ["Enter the date printed on the document."]
        elif issued_on > timezone.localdate():
            errors["issued_on"] = ["This date is in the future."]
    if kind == Document.Kind.DRIVING_LICENCE and expires_on is not None and expires_on <= timezone.localdate():
        errors["expires_on"] = ["This licence has expired: upload a valid document."]
    if errors:
        raise ApplicationError("Some fields need fixing.", fields=errors)
    text_field = "address_text" if kind == Document.Kind.PROOF_OF_ADDRESS else "mrz_text"
    # The machine-readable zone is on the photo page of a passport and on the back of an ID card.
    mrz_side = Side.BACK if kind == Document.Kind.ID_CARD and Side.BACK in files else next(iter(files))
    uploaded = []
    with transaction.atomic():
        for side in sides:
            if side not in files:
                continue
            try:
                document = document_upload(
                    client=client,
                    kind=kind,
                    side=side,
                    upload=files[side],
                    actor=actor,
                    mrz_text=mrz_text if side == mrz_side and kind in MRZ_KINDS else "",
                    issued_on=issued_on if kind == Document.Kind.PROOF_OF_ADDRESS else None,
                    address_text=address_text if kind == Document.Kind.PROOF_OF_ADDRESS else "",
                    expires_on=expires_on if kind == Document.Kind.DRIVING_LICENCE else None,
                )
            except ApplicationError as error:
                names = {"upload": side, "text": text_field}
                fields = {names.get(name, name): messages for name, messages in error.fields.items()}
                raise ApplicationError(error.message, fields=fields or {side: [error.message]}) from error
            uploaded.append(document)
    return uploaded


# The status page's stepper ------------------------------------------------------------------------

DONE, CURRENT, TODO, BLOCKED = "done", "current", "todo", "blocked"


@dataclass(frozen=True)
class Step:
    label: str
    state: str  # DONE, CURRENT (the client's turn or being worked on), TODO, BLOCKED
    detail: str
    url: str = ""


def onboarding_steps(client: Client, states: dict[str, Requirement], document_codes: list[str]) -> list[Step]:
    """Registration -> Profile -> Questionnaire -> Documents -> Review, each with what it waits for.
    `document_codes` are the document requirements the tenant's levels ask for."""
    steps = [Step("Registration", DONE, "Your account is open")]
    for code, label in (("profile", "Profile"), ("questionnaire", "Questionnaire")):
        requirement = states[code]
        steps.append(Step(label, DONE if requirement.state == MET else TODO, requirement.detail, requirement.url))
    documents = [states[code] for code in document_codes]
    if all(r.state == MET for r in documents):
        steps.append(Step("Documents", DONE, "Checked and accepted"))
    elif any(r.state == MISSING for r in documents):
        steps.append(Step("Documents", TODO, "Some documents are missing", reverse("portal:kyc_documents")))
    else:
        steps.append(Step("Documents", CURRENT, "Being checked", reverse("portal:kyc_documents")))
    status = client.kyc_status
    if status == Client.KycStatus.APPROVED:
        steps.append(Step("Review", DONE, "Approved"))
    elif status == Client.KycStatus.REJECTED:
        steps.append(Step("Review", BLOCKED, "Declined"))
    elif status == Client.KycStatus.DOCUMENTS_REQUESTED:
        steps.append(Step("Review", BLOCKED, "We need more documents", reverse("portal:kyc_documents")))
    elif status == Client.KycStatus.PENDING or (
        states["approval"].state == WAITING and all(step.state == DONE for step in steps)
    ):
        steps.append(Step("Review", CURRENT, "With our team"))
    else:
        steps.append(Step("Review", TODO, "Once everything is in"))
    # The first step not done is where the client is; if it waits for them, it is their turn.
    index, step = next(((i, s) for i, s in enumerate(steps) if s.state != DONE), (None, None))
    if step is not None and step.state == TODO:
        steps[index] = Step(step.label, CURRENT, step.detail, step.url)
    return steps
