"""What a client's KYC file holds against the tenant's verification levels: which requirements are
met, which wait for checks or a review, which are missing and why; the level that follows; and what
that level allows (payments reads `deposit_allowance` and `withdrawal_refusal`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse

from crm.models import Client
from kyc.models import (
    Document,
    FinancialProfile,
    Questionnaire,
    QuestionnaireAnswer,
    ScreeningHit,
    VerificationLevel,
)

MET, WAITING, MISSING = "met", "waiting", "missing"

# Identity documents with two sides need both; a passport is one page.
SIDES_NEEDED = {
    Document.Kind.PASSPORT: (Document.Side.SINGLE,),
    Document.Kind.ID_CARD: (Document.Side.FRONT, Document.Side.BACK),
    Document.Kind.DRIVING_LICENCE: (Document.Side.FRONT, Document.Side.BACK),
    Document.Kind.PROOF_OF_ADDRESS: (Document.Side.SINGLE,),
    Document.Kind.SELFIE: (Document.Side.SINGLE,),
}
WAITING_STATUSES = (Document.Status.CHECKING, Document.Status.NEEDS_REVIEW)


@dataclass(frozen=True)
class Requirement:
    code: str
    label: str
    state: str  # MET, WAITING or MISSING
    detail: str  # what the client should do, or what it waits for
    url: str = ""


def _latest_documents(client: Client) -> dict[tuple[str, str], Document]:
    """The newest upload of each kind and side that is not superseded."""
    latest: dict[tuple[str, str], Document] = {}
    for document in client.kyc_documents.exclude(status=Document.Status.REPLACED).order_by("-uploaded_at", "-id"):
        latest.setdefault((document.kind, document.side), document)
    return latest


def _document_state(latest: dict, kinds) -> tuple[str, str]:
    """MET if one of `kinds` has every side in a good status; WAITING if the best one is being
    checked or reviewed; MISSING otherwise, with the reason of a failed or rejected upload."""
    best_waiting, failures = "", []
    for kind in kinds:
        documents = [latest.get((kind, side)) for side in SIDES_NEEDED[kind]]
        label = Document.Kind(kind).label.lower()
        if all(d is not None and d.status in Document.GOOD for d in documents):
            return MET, f"{Document.Kind(kind).label} accepted"
        if all(d is not None and (d.status in Document.GOOD or d.status in WAITING_STATUSES) for d in documents):
            best_waiting = best_waiting or f"Your {label} is being checked"
        for document in documents:
            if document is not None and document.status in (
                Document.Status.FAILED,
                Document.Status.REJECTED,
                Document.Status.EXPIRED,
            ):
                why = document.rejection_reason or document.status_reason or document.get_status_display()
                failures.append(f"{document.get_kind_display()} ({document.get_side_display().lower()}): {why}")
    if best_waiting:
        return WAITING, best_waiting
    return MISSING, "; ".join(failures)


def latest_answer(client: Client) -> QuestionnaireAnswer | None:
    return client.questionnaire_answers.select_related("questionnaire").first()


def questionnaire_for(client: Client) -> Questionnaire | None:
    """The newest active version for the client's country of residence, else the default one."""
    active = Questionnaire.objects.filter(is_active=True).order_by("-version")
    country = str(client.country or "")
    return active.filter(jurisdiction=country).first() or active.filter(jurisdiction="").first()


def requirement_states(client: Client) -> dict[str, Requirement]:
    latest = _latest_documents(client)
    states: dict[str, Requirement] = {}
    profile = FinancialProfile.objects.filter(client=client).first()
    states["profile"] = (
        Requirement("profile", "Personal and financial profile", MET, "Complete")
        if profile and profile.completed_at
        else Requirement(
            "profile",
            "Personal and financial profile",
            MISSING,
            "Tell us about your address, tax residence, employment and source of funds.",
            reverse("portal:kyc_profile"),
        )
    )
    answer = latest_answer(client)
    if answer and (answer.passed or answer.warning_acknowledged_at):
        detail = "Passed" if answer.passed else "Completed; you acknowledged the risk warning"
        states["questionnaire"] = Requirement("questionnaire", "Appropriateness questionnaire", MET, detail)
    else:
        detail = (
            "Read the risk warning and acknowledge it to go on."
            if answer
            else "Answer a few questions about your trading knowledge and experience."
        )
        states["questionnaire"] = Requirement(
            "questionnaire", "Appropriateness questionnaire", MISSING, detail, reverse("portal:kyc_questionnaire")
        )
    documents_url = reverse("portal:kyc_documents")
    for code, label, kinds, ask in (
        (
            "identity",
            "Identity document",
            Document.IDENTITY_KINDS,
            "Upload a passport, or both sides of an identity card or driving licence.",
        ),
        (
            "address",
            "Proof of address",
            (Document.Kind.PROOF_OF_ADDRESS,),
            "Upload a utility bill or bank statement from the last months showing your name and address.",
        ),
        ("selfie", "Selfie", (Document.Kind.SELFIE,), "Upload a photo of yourself holding your identity document."),
    ):
        state, detail = _document_state(latest, kinds)
        if state == MISSING:
            detail = f"{detail}. {ask}" if detail else ask
        states[code] = Requirement(code, label, state, detail, documents_url if state != MET else "")
    if client.kyc_status == Client.KycStatus.APPROVED:
        states["approval"] = Requirement("approval", "Approval by compliance", MET, "Approved")
    elif client.kyc_status == Client.KycStatus.REJECTED:
        states["approval"] = Requirement(
            "approval", "Approval by compliance", MISSING, "Your application was declined."
        )
    else:
        states["approval"] = Requirement(
            "approval", "Approval by compliance", WAITING, "Our team reviews your file once everything above is in."
        )
    return states


def levels() -> list[VerificationLevel]:
    return list(VerificationLevel.objects.order_by("number"))


def client_level(client: Client, states: dict[str, Requirement] | None = None) -> VerificationLevel | None:
    """The highest level whose requirements, and those of every level below it, are met. An approved
    client holds the top level: compliance approved the file as a whole."""
    if client.kyc_status == Client.KycStatus.APPROVED:
        return VerificationLevel.objects.order_by("-number").first()
    states = states if states is not None else requirement_states(client)
    reached = None
    for level in levels():
        if any(states[code].state != MET for code in level.requirements if code in states):
            break
        reached = level
    return reached


def next_level(client: Client, states: dict[str, Requirement] | None = None) -> VerificationLevel | None:
    current = client_level(client, states)
    number = current.number if current else -1
    return VerificationLevel.objects.filter(number__gt=number).order_by("number").first()


def missing(client: Client, states: dict[str, Requirement] | None = None) -> list[Requirement]:
    """What stands between the client and the top level, in the order the onboarding asks for it."""
    states = states if states is not None else requirement_states(client)
    top = VerificationLevel.objects.order_by("-number").first()
    needed = top.requirements if top else []
    return [states[code] for code in states if code in needed and states[code].state != MET]


def submission_complete(client: Client, states: dict[str, Requirement] | None = None) -> bool:
    """Everything the top level asks of the client is in (met, or waiting for checks or a person)."""
    states = states if states is not None else requirement_states(client)
    return all(r.state != MISSING for r in missing(client, states) if r.code != "approval")


@dataclass(frozen=True)
class DepositAllowance:
    allowed: bool
    limit: Decimal | None  # None: no limit
    currency: str
    level: VerificationLevel | None
    reason: str


def deposit_allowance(client: Client) -> DepositAllowance:
    """What the client's level lets them deposit in all (completed deposits count against the limit;
    payments converts and compares)."""
    level = client_level(client)
    if client.kyc_status == Client.KycStatus.REJECTED:
        return DepositAllowance(
            False, Decimal("0"), "USD", level, "Deposits are closed: your application was declined."
        )
    hits = client.screening_hits.exclude(status=ScreeningHit.Status.FALSE_POSITIVE)
    if hits.filter(status=ScreeningHit.Status.CONFIRMED).exists() or hits.filter(is_pep=False).exists():
        # A possible or confirmed sanctions match: no money in until compliance has decided.
        return DepositAllowance(
            False, Decimal("0"), "USD", level, "Deposits are paused while our compliance team reviews your file."
        )
    if level is None or not level.allows_deposits:
        upgrade = next_level(client)
        return DepositAllowance(
            False,
            Decimal("0"),
            level.limit_currency if level else "USD",
            level,
            "Deposits open once you complete "
            + (
                ", ".join(VerificationLevel.REQUIREMENTS[c].lower() for c in upgrade.requirements)
                if upgrade
                else "verification"
            )
            + ".",
        )
    return DepositAllowance(True, level.deposit_limit, level.limit_currency, level, "")


def withdrawal_refusal(client: Client) -> str:
    """Why the client may not withdraw yet, or "" when their level allows it."""
    level = client_level(client)
    if level is not None and level.allows_withdrawals:
        return ""
    status = client.get_kyc_status_display().lower()
    return f"Withdrawals open once your identity is verified (KYC: {status})."
