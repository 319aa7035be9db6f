"""The client's verification pages: status, profile, questionnaire, documents.

Every view works on the signed-in person's own client record; no client id ever comes from the
request, and a document or answer named in a request is looked up among the client's own rows.
"""

from __future__ import annotations

import logging
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from brokerage.errors import ApplicationError
from brokerage.permissions import capability_required
from crm.models import Client
from kyc import onboarding
from kyc.adapters.base import VendorError
from kyc.adapters.registry import VENDORS
from kyc.adapters.services import started_applicant, verification_start
from kyc.forms_portal import DocumentUploadForm, ProfileForm, QuestionnaireForm
from kyc.models import Document, DocumentRequest, FinancialProfile, KycSettings, Review, VerificationLevel
from kyc.requirements import (
    MISSING,
    WAITING,
    client_level,
    deposit_allowance,
    latest_answer,
    missing,
    next_level,
    questionnaire_for,
    requirement_states,
    submission_complete,
    withdrawal_refusal,
)

DOCUMENT_CODES = ("identity", "address", "selfie")
logger = logging.getLogger(__name__)


def client_required(view):
    """The client portal's capability and a client record behind the sign-in; the view gets it."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        client = Client.objects.filter(user=request.user).first()
        if client is None:
            if request.method != "GET":
                raise Http404("No client record")
            return render(request, "kyc/portal/no_client.html", status=404)
        return view(request, client, *args, **kwargs)

    return capability_required("portal_access")(wrapper)


def _needed_codes() -> list[str]:
    """Requirement codes some level asks for, in the order of requirement_states."""
    codes: set[str] = set()
    for level in VerificationLevel.objects.all():
        codes.update(level.requirements)
    return [code for code in VerificationLevel.REQUIREMENTS if code in codes]


def _documents(client: Client) -> list[Document]:
    return list(client.kyc_documents.all()[:40])


def _documents_settling(documents: list[Document]) -> bool:
    return any(document.status == Document.Status.CHECKING for document in documents)


# Status -------------------------------------------------------------------------------------------


@client_required
def kyc_status(request, client: Client):
    states = requirement_states(client)
    needed = _needed_codes()
    level = client_level(client, states)
    documents = _documents(client)
    to_do = missing(client, states)
    levels = list(VerificationLevel.objects.order_by("number"))
    rejection = ""
    if client.kyc_status == Client.KycStatus.REJECTED:
        review = client.kyc_reviews.filter(status=Review.Status.REJECTED).order_by("-decided_at", "-id").first()
        rejection = review.client_message if review else ""
    context = {
        "client": client,
        "states": [(state, state.code in needed) for state in states.values()],
        "to_do": [r for r in to_do if r.state == MISSING],
        "being_checked": [r for r in to_do if r.state == WAITING and r.code != "approval"],
        "submitted": submission_complete(client, states),
        "started": any(r.state != MISSING for r in states.values() if r.code != "approval"),
        "steps": onboarding.onboarding_steps(client, states, [c for c in DOCUMENT_CODES if c in needed]),
        "level": level,
        "next_level": next_level(client, states),
        "levels": [
            (each, [VerificationLevel.REQUIREMENTS.get(code, code) for code in each.requirements]) for each in levels
        ],
        "withdrawals_from": next((each for each in levels if each.allows_withdrawals), None),
        "deposits": deposit_allowance(client),
        "withdrawal_refusal": withdrawal_refusal(client),
        "requests": _open_requests(client),
        "rejection": rejection,
        "documents": documents,
        "settling": _documents_settling(documents),
    }
    return render(request, "kyc/portal/status.html", context)


def _open_requests(client: Client) -> list[dict]:
    requests = DocumentRequest.objects.filter(client=client, fulfilled_at__isnull=True).order_by("-created_at")
    return [
        {
            "kinds": [Document.Kind(kind).label if kind in Document.Kind.values else kind for kind in request.kinds],
            "message": request.message,
            "created_at": request.created_at,
        }
        for request in requests
    ]


# Profile ------------------------------------------------------------------------------------------


def _profile_initial(client: Client) -> dict:
    initial = {name: getattr(client, name) for name in ProfileForm.PERSONAL}
    profile = FinancialProfile.objects.filter(client=client).first()
    if profile is not None:
        initial.update({name: getattr(profile, name) for name in onboarding.FINANCIAL_FIELDS})
        initial["tax_residence"] = str(profile.tax_residence or "")
    else:
        # Most people pay taxes where they live.
        initial["tax_residence"] = client.country
    return initial


@client_required
def kyc_profile(request, client: Client):
    profile = FinancialProfile.objects.filter(client=client).first()
    form = ProfileForm(request.POST or None, initial=_profile_initial(client))
    if request.method == "POST" and form.is_valid():
        try:
            onboarding.profile_submit(
                client=client, actor=request.user, personal=form.personal(), financial=form.financial()
            )
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            first_time = profile is None or profile.completed_at is None
            messages.success(request, "Your profile is saved." + (" Next: a few questions." if first_time else ""))
            return redirect("portal:kyc_questionnaire" if first_time else "portal:kyc_status")
    status = 400 if request.method == "POST" else 200
    context = {"client": client, "form": form, "completed": bool(profile and profile.completed_at)}
    return render(request, "kyc/portal/profile.html", context, status=status)


# Questionnaire ------------------------------------------------------------------------------------


def _profile_done(client: Client) -> bool:
    return FinancialProfile.objects.filter(client=client, completed_at__isnull=False).exists()


@client_required
def kyc_questionnaire(request, client: Client):
    if not _profile_done(client):
        messages.info(request, "Please complete your profile first: the questions follow it.")
        return redirect("portal:kyc_profile")
    questionnaire = questionnaire_for(client)
    if questionnaire is None:
        return render(request, "kyc/portal/questionnaire.html", {"client": client, "questionnaire": None})
    answer = latest_answer(client)
    form = None
    if request.method == "POST":
        form = QuestionnaireForm(request.POST, questionnaire=questionnaire)
        if form.is_valid():
            try:
                if form.cleaned_data["questionnaire"] != questionnaire.pk:
                    raise ApplicationError(
                        "The questionnaire was updated while you answered it. Please answer the current version.",
                        code="stale_version",
                    )
                answer = onboarding.questionnaire_submit(
                    client=client, actor=request.user, questionnaire=questionnaire, answers=form.answers()
                )
            except ApplicationError as error:
                error.add_to_form(form)
            else:
                if answer.passed:
                    messages.success(request, "You passed. Next: your documents.")
                    return redirect("portal:kyc_documents")
                return redirect("portal:kyc_questionnaire")
    elif answer is None or request.GET.get("retake"):
        form = QuestionnaireForm(questionnaire=questionnaire)
    context = {
        "client": client,
        "questionnaire": questionnaire,
        "form": form,
        "answer": answer,
        # An answer to an older version stands until the client retakes the test.
        "answer_outdated": answer is not None and answer.questionnaire_id != questionnaire.pk,
    }
    status = 400 if form is not None and form.errors else 200
    return render(request, "kyc/portal/questionnaire.html", context, status=status)


@require_POST
@client_required
def kyc_warning_acknowledge(request, client: Client):
    answer = client.questionnaire_answers.filter(pk=_post_id(request, "answer")).first()
    if answer is None:
        raise Http404("No such answer")
    if request.POST.get("understood") != "on":
        messages.error(request, "Tick the box to confirm you read and understood the warning.")
        return redirect("portal:kyc_questionnaire")
    try:
        onboarding.warning_acknowledge(client=client, actor=request.user, answer=answer)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("portal:kyc_questionnaire")
    messages.success(request, "Thank you. Next: your documents.")
    return redirect("portal:kyc_documents")


def _post_id(request, name: str) -> int:
    value = request.POST.get(name, "")
    if not value.isdigit():
        raise Http404("Bad id")
    return int(value)


# Documents ----------------------------------------------------------------------------------------


def _documents_page(request, client: Client, *, bound: DocumentUploadForm | None = None, status: int = 200):
    forms = [
        bound if bound is not None and bound.document_kind == kind else DocumentUploadForm(kind=kind)
        for kind in DocumentUploadForm.KIND_FIELDS
    ]
    documents = _documents(client)
    states = requirement_states(client)
    needed = _needed_codes()
    months = KycSettings.current().address_max_age_months
    hints = {
        Document.Kind.PASSPORT: "The photo page, with all four corners in view and no glare.",
        Document.Kind.ID_CARD: "Both sides of your national identity card.",
        Document.Kind.DRIVING_LICENCE: "Both sides of a photo driving licence.",
        Document.Kind.PROOF_OF_ADDRESS: (
            f"A utility bill, bank statement or tax letter from the last {months} months "
            "that shows your name and home address."
        ),
        Document.Kind.SELFIE: "A clear photo of your face, holding your identity document next to it.",
    }
    vendor = _identity_vendor(client)
    context = {
        "client": client,
        "vendor": vendor,
        "vendor_started": bool(vendor and started_applicant(vendor.provider, client)),
        "forms": [(form, Document.Kind(form.document_kind).label, hints[form.document_kind]) for form in forms],
        "open_kind": bound.document_kind if bound is not None else request.GET.get("kind", ""),
        "documents": documents,
        "settling": _documents_settling(documents),
        "document_states": [states[code] for code in DOCUMENT_CODES if code in needed],
        "requests": _open_requests(client),
    }
    return render(request, "kyc/portal/documents.html", context, status=status)


@client_required
def kyc_documents(request, client: Client):
    return _documents_page(request, client)


@require_POST
@client_required
def kyc_document_upload(request, client: Client):
    form = DocumentUploadForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            uploaded = onboarding.documents_submit(
                client=client,
                actor=request.user,
                kind=data["kind"],
                files=form.files_by_side(),
                mrz_text=data["mrz_text"],
                issued_on=data["issued_on"],
                address_text=data["address_text"],
                expires_on=data["expires_on"],
            )
        except ApplicationError as error:
            error.add_to_form(form)
        else:
            label = Document.Kind(data["kind"]).label
            # Re-read: where the checks run inline (no broker) they are done by now.
            checking = Document.objects.filter(
                pk__in=[document.pk for document in uploaded], status=Document.Status.CHECKING
            ).exists()
            messages.success(
                request,
                f"{label} uploaded ({len(uploaded)} file{'s' if len(uploaded) > 1 else ''})."
                + (" We are checking it now; this page updates by itself." if checking else ""),
            )
            return redirect("portal:kyc_documents")
    return _documents_page(request, client, bound=form, status=400)


def _identity_vendor(client: Client):
    """The tenant's identity-verification vendor class when the client has a verification with it to
    do (a vendor is configured; the file is neither approved nor rejected), else None."""
    vendor = VENDORS.get(KycSettings.current().provider)
    if vendor is None or not vendor.uses_webhooks:
        return None
    if client.kyc_status in (Client.KycStatus.APPROVED, Client.KycStatus.REJECTED):
        return None
    return vendor


@require_POST
@client_required
def kyc_vendor_start(request, client: Client):
    """Open (or continue) the client's verification at the tenant's vendor: off to its hosted page
    (Sumsub's WebSDK link), or its SDK in our page (Onfido's token). The vendor's verdict arrives
    later by webhook."""
    vendor = _identity_vendor(client)
    if vendor is None:
        messages.info(request, "There is no separate identity check to do: the documents below are all we need.")
        return redirect("portal:kyc_documents")
    try:
        start = verification_start(client=client, actor=request.user)
    except VendorError:
        logger.warning("KYC: %s could not start client %s's verification", vendor.provider, client.pk, exc_info=True)
        start = None
    except ImproperlyConfigured:
        logger.exception("KYC: the %s credentials of this tenant cannot be decrypted", vendor.provider)
        start = None
    if start is not None and start.url.startswith("https://"):
        return redirect(start.url)
    if start is not None and start.sdk_token:
        context = {"client": client, "vendor": vendor, "token": start.sdk_token}
        return render(request, "kyc/portal/vendor_sdk.html", context)
    if start is not None:
        logger.warning("KYC: %s gave neither an https link nor an SDK token", vendor.provider)
    messages.error(
        request,
        f"We could not start your identity check with {vendor.label}, our verification provider, just now. "
        "Please try again in a few minutes; your documents and answers are saved.",
    )
    return redirect("portal:kyc_documents")


@client_required
def kyc_documents_list(request, client: Client):
    """HTMX: the uploads and their statuses, polled while a check runs; once every check has
    settled the page reloads so the requirements above follow."""
    documents = _documents(client)
    settling = _documents_settling(documents)
    if request.htmx and not settling and request.GET.get("was") == "settling":
        return HttpResponseClientRefresh()
    return render(request, "kyc/portal/_documents.html", {"documents": documents, "settling": settling})
