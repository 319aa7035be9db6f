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
# Only in the staff wording: a document no verification level asks for, not on file.
OPTIONAL = "optional"

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
    state: str  # MET, WAITING or MISSING (OPTIONAL in the staff wording)
    detail: str  # what the client should do, or what it waits for
    url: str = ""


def _latest_documents(client: Client) -> dict[tuple[str, str], list[Document]]:
    """The uploads of each kind and side that are not superseded, newest first: a good one that is
    still in force and, after it, at most a newer one that failed or waits (kyc.documents)."""
    latest: dict[tuple[str, str], list[Document]] = {}
    for document in client.kyc_documents.exclude(status=Document.Status.REPLACED).order_by("-uploaded_at", "-id"):
        latest.setdefault((document.kind, document.side), []).append(document)
    return latest


def _document_state(latest: dict, kinds, *, audience: str = "client") -> tuple[str, str]:
    """MET if one of `kinds` has a good document for every side (a newer failed upload does not
    take it away, but its reason is still shown, as what to fix); WAITING if every side has one good
    or being checked or reviewed; MISSING otherwise, with the reason of the newest failed or
    rejected upload of each side. `audience` "staff" words it for the review page."""
    staff = audience == "staff"
    best_waiting, failures = "", []
    for kind in kinds:
        sides = [latest.get((kind, side), []) for side in SIDES_NEEDED[kind]]
        label = Document.Kind(kind).label
        kind_failures = []
        for documents in sides:
            newest = documents[0] if documents else None
            if newest is not None and newest.status in (
                Document.Status.FAILED,
                Document.Status.REJECTED,
                Document.Status.EXPIRED,
            ):
                why = newest.rejection_reason or newest.status_reason or newest.get_status_display()
                kind_failures.append(f"{newest.get_kind_display()} ({newest.get_side_display().lower()}): {why}")
        if all(any(d.status in Document.GOOD for d in documents) for documents in sides):
            detail = f"{label} accepted"
            if kind_failures:
                newer = "a newer upload failed" if staff else "your newer upload was not accepted"
                detail = f"{detail}; {newer}: " + "; ".join(kind_failures)
            return MET, detail
        usable = (*Document.GOOD, *WAITING_STATUSES)
        if not best_waiting and all(any(d.status in usable for d in documents) for documents in sides):
            if not staff:
                best_waiting = f"Your {label.lower()} is being checked"
            elif any(d.status == Document.Status.NEEDS_REVIEW for documents in sides for d in documents):
                best_waiting = f"{label}: waiting for a review by staff"
            else:
                best_waiting = f"{label}: the automatic checks are running"
        failures.extend(kind_failures)
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


def requirement_states(client: Client, *, audience: str = "client") -> dict[str, Requirement]:
    """Each requirement's state, worded for the client (what to do, with a link to the portal page) or,
    with `audience="staff"`, for staff (what the file holds; a document no level asks for is
    OPTIONAL rather than missing)."""
    staff = audience == "staff"
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
            "Not completed by the client yet."
            if staff
            else "Tell us about your address, tax residence, employment and source of funds.",
            "" if staff else reverse("portal:kyc_profile"),
        )
    )
    answer = latest_answer(client)
    if answer and (answer.passed or answer.warning_acknowledged_at):
        acknowledged = "the client" if staff else "you"
        detail = "Passed" if answer.passed else f"Completed; {acknowledged} acknowledged the risk warning"
        states["questionnaire"] = Requirement("questionnaire", "Appropriateness questionnaire", MET, detail)
    else:
        if staff:
            detail = "Not passed; the risk warning is not acknowledged yet." if answer else "Not answered yet."
        elif answer:
            detail = "Read the risk warning and acknowledge it to go on."
        else:
            detail = "Answer a few questions about your trading knowledge and experience."
        states["questionnaire"] = Requirement(
            "questionnaire",
            "Appropriateness questionnaire",
            MISSING,
            detail,
            "" if staff else reverse("portal:kyc_questionnaire"),
        )
    documents_url = "" if staff else reverse("portal:kyc_documents")
    required = {code for level in levels() for code in level.requirements} if staff else set()
    for code, label, kinds, ask, staff_ask in (
        (
            "identity",
            "Identity document",
            Document.IDENTITY_KINDS,
            "Upload a passport, or both sides of an identity card or driving licence.",
            "No usable passport, identity card or driving licence on file.",
        ),
        (
            "address",
            "Proof of address",
            (Document.Kind.PROOF_OF_ADDRESS,),
            "Upload a utility bill or bank statement from the last months showing your name and address.",
            "No usable proof of address on file.",
        ),
        (
            "selfie",
            "Selfie",
            (Document.Kind.SELFIE,),
            "Upload a photo of yourself holding your identity document.",
            "No selfie on file.",
        ),
    ):
        state, detail = _document_state(latest, kinds, audience=audience)
        if state == MISSING:
            ask = staff_ask if staff else ask
            if detail:
                # One sentence per failed upload ("Passport (photo page): too blurry."), then what to do.
                sentences = []
                for reason in detail.split("; "):
                    reason = reason.strip().rstrip(";").rstrip()
                    sentences.append(reason if reason.endswith((".", "!", "?")) else f"{reason}.")
                if not staff:
                    uploads = "your upload" if len(sentences) == 1 else "your uploads"
                    sentences.insert(0, f"We could not accept {uploads}.")
                detail = " ".join([*sentences, ask])
            else:
                detail = ask
            if staff and code not in required:
                state, detail = OPTIONAL, f"Optional: no verification level asks for it. {detail}"
        states[code] = Requirement(code, label, state, detail, documents_url if state != MET else "")
    if client.kyc_status == Client.KycStatus.APPROVED:
        states["approval"] = Requirement("approval", "Approval by our compliance team", MET, "Approved")
    elif client.kyc_status == Client.KycStatus.REJECTED:
        states["approval"] = Requirement(
            "approval",
            "Approval by our compliance team",
            MISSING,
            "The application was declined." if staff else "Your application was declined.",
        )
    else:
        states["approval"] = Requirement(
            "approval",
            "Approval by our compliance team",
            WAITING,
            "Waiting for a decision by compliance."
            if staff
            else "Our team reviews your file once everything above is in.",
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


# The requirements as they read inside a sentence ("once you complete your profile, ...").
IN_A_SENTENCE = {
    "profile": "your profile",
    "questionnaire": "the questionnaire",
    "identity": "an identity document",
    "address": "a proof of address",
    "selfie": "a selfie",
}


def _deposits_open_when(codes) -> str:
    """ "Deposits open once you complete your profile, the questionnaire and an identity document." """
    parts = [IN_A_SENTENCE[code] for code in codes if code in IN_A_SENTENCE]
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)
    if "approval" in codes:
        approved = "our compliance team has approved your file"
        return (
            f"Deposits open once you complete {listed} and {approved}." if listed else f"Deposits open once {approved}."
        )
    return f"Deposits open once you complete {listed or 'your verification'}."


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
            _deposits_open_when(upgrade.requirements if upgrade else []),
        )
    return DepositAllowance(True, level.deposit_limit, level.limit_currency, level, "")


def withdrawal_refusal(client: Client) -> str:
    """Why the client may not withdraw yet, or "" when their level allows it."""
    level = client_level(client)
    if level is not None and level.allows_withdrawals:
        return ""
    status = client.get_kyc_status_display().lower()
    return f"Withdrawals open once your identity is verified (KYC: {status})."
