"""The review page: everything a compliance officer needs to decide one KYC file, and the decisions."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_countries import countries

from brokerage.errors import ApplicationError
from brokerage.permissions import capability_required
from brokerage.roles import perm
from crm.links import client_url, person_label
from crm.models import Client
from kyc import documents as kyc_documents
from kyc.forms import DocumentRejectForm, HitDecisionForm, RejectForm, RequestDocumentsForm
from kyc.models import Document, FinancialProfile, KycSettings, Review, ScreeningHit
from kyc.requirements import latest_answer, requirement_states
from kyc.review import (
    approve_refusal,
    is_high_risk,
    review_approve,
    review_reject,
    review_request_documents,
    reviews_visible_to,
)
from kyc.screening import hit_decide

# Documents a person may still accept or reject (the others are replaced, expired or already decided).
DECIDABLE = (Document.Status.NEEDS_REVIEW, Document.Status.PASSED, Document.Status.FAILED)


def review_visible_or_404(user, review_id) -> Review:
    """The review if `user` may see its client (crm.visibility); a 404 otherwise."""
    try:
        return reviews_visible_to(user).get(pk=int(review_id))
    except (Review.DoesNotExist, TypeError, ValueError):
        raise Http404("No such review") from None


def _label(key) -> str:
    return str(key).replace("_", " ").strip().capitalize()


def _plain(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{_label(k)}: {_plain(v)}" for k, v in value.items())
    return str(value)


def readable_rows(data) -> list[tuple[str, str]]:
    """A check's evidence or a hit's explanation as (label, value) rows: one level of nesting becomes
    "outer › inner" labels, lists become comma-separated text."""
    if not isinstance(data, dict):
        return [("Value", _plain(data))] if data not in (None, "", [], {}) else []
    rows = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            rows.extend((f"{_label(key)} › {_label(inner)}", _plain(item)) for inner, item in value.items())
        else:
            rows.append((_label(key), _plain(value)))
    return rows


def _signed(points) -> str:
    return f"{points:+d}" if isinstance(points, int) else _plain(points)


def explanation_rows(explanation: dict) -> list[tuple[str, str]]:
    """A hit's explanation (watchlists.matching) in the order an officer reads it: which names matched,
    word by word, how date of birth and nationality moved the score, and the final score. Keys this
    page does not know are shown after, as they are."""
    data = dict(explanation) if isinstance(explanation, dict) else {"explanation": explanation}
    rows = []
    if "client_name" in data:
        rows.append(("Client name", _plain(data.pop("client_name"))))
    if "list_name" in data:
        kind = data.pop("list_name_type", "")
        rows.append(("Matched list name", _plain(data.pop("list_name")) + (f" ({kind})" if kind else "")))
    if "name_score" in data:
        rows.append(("Name score", _plain(data.pop("name_score"))))
    if isinstance(data.get("token_pairs"), list):
        words = [
            f"{pair.get('client')} ↔ {pair.get('list')} ({pair.get('score')}{', ' + pair['how'] if pair.get('how') else ''})"
            for pair in data.pop("token_pairs")
            if isinstance(pair, dict)
        ]
        rows.append(("Words", "; ".join(words) or "—"))
    for effect, note, label in (
        ("dob_effect", "dob_note", "Date of birth"),
        ("nationality_effect", "nationality_note", "Nationality"),
    ):
        if effect in data or note in data:
            points, why = data.pop(effect, None), data.pop(note, "")
            rows.append((label, f"{_signed(points)}{': ' + str(why) if why else ''}"))
    final = data.pop("final", None)
    rows.extend(readable_rows(data))
    if final is not None:
        rows.append(("Final score", _plain(final)))
    return rows


def _country(code) -> str:
    code = str(code or "")
    return f"{countries.name(code) or code} ({code})" if code else ""


def _documents(client: Client) -> tuple[list[Document], list[Document]]:
    documents = list(client.kyc_documents.prefetch_related("checks").select_related("reviewed_by"))
    for document in documents:
        document.check_rows = [(check, readable_rows(check.evidence)) for check in document.checks.all()]
        document.is_image = document.content_type.startswith("image/")
        document.decidable = document.status in DECIDABLE
    current = [d for d in documents if d.status != Document.Status.REPLACED]
    return current, [d for d in documents if d.status == Document.Status.REPLACED]


def _hits(client: Client) -> list[ScreeningHit]:
    hits = list(
        client.screening_hits.select_related("decided_by").order_by(
            Case(When(status=ScreeningHit.Status.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()),
            "-score",
            "-id",
        )
    )
    for hit in hits:
        hit.explanation_rows = explanation_rows(hit.explanation)
    return hits


def _questionnaire(client: Client):
    """The latest answers with each question's text, the chosen answer and its points."""
    answer = latest_answer(client)
    if answer is None:
        return None, []
    rows = []
    given = answer.answers if isinstance(answer.answers, dict) else {}
    for question in answer.questionnaire.questions:
        code = given.get(question.get("code"))
        chosen = next((c for c in question.get("choices", []) if c.get("code") == code), None)
        rows.append(
            {
                "text": question.get("text", question.get("code")),
                "answer": chosen["text"] if chosen else _plain(code),
                "points": chosen.get("points") if chosen else None,
            }
        )
    return answer, rows


def _profile_rows(profile: FinancialProfile | None) -> list[tuple[str, str]]:
    if profile is None:
        return []
    source = profile.get_source_of_funds_display()
    if profile.source_of_funds_detail:
        source = f"{source}: {profile.source_of_funds_detail}" if source else profile.source_of_funds_detail
    return [
        ("Tax residence", _country(profile.tax_residence)),
        ("Tax id", profile.tax_id),
        ("US person", "yes" if profile.us_person else "no"),
        ("Employment", profile.get_employment_display()),
        ("Occupation", profile.occupation),
        ("Industry", profile.industry),
        ("Employer", profile.employer),
        ("Annual income", profile.get_annual_income_display()),
        ("Net worth", profile.get_net_worth_display()),
        ("Source of funds", source),
        ("Expected yearly deposits", profile.get_expected_yearly_deposit_display()),
        ("Completed", f"{profile.completed_at:%Y-%m-%d %H:%M}" if profile.completed_at else "not yet"),
    ]


@capability_required("kyc_review")
def kyc_review_detail(request, review_id):
    review = review_visible_or_404(request.user, review_id)
    client = review.client
    current, replaced = _documents(client)
    answer, answer_rows = _questionnaire(client)
    is_open = review.status in Review.OPEN_STATUSES
    refusal = approve_refusal(review, request.user) if is_open else ""
    context = {
        "review": review,
        "client": client,
        "client_url": client_url(client),
        "nationality": _country(client.nationality),
        "residence": _country(client.country),
        "requirements": list(requirement_states(client).values()),
        "documents": current,
        "replaced_documents": replaced,
        "hits": _hits(client),
        "assessment": client.risk_assessments.first(),
        "answer": answer,
        "answer_rows": answer_rows,
        "profile_rows": _profile_rows(FinancialProfile.objects.filter(client=client).first()),
        "requests": client.kyc_document_requests.select_related("requested_by")[:10],
        "history": client.kyc_reviews.exclude(pk=review.pk).select_related("decided_by")[:10],
        "sla_hours": KycSettings.current().review_sla_hours,
        "is_open": is_open,
        "is_high_risk": is_high_risk(review),
        "approve_refusal": refusal,
        "first_approver": person_label(review.first_approver) if review.first_approver_id else "",
        "decided_by": person_label(review.decided_by) if review.decided_at else "",
        "may_decide_hits": request.user.has_perm(perm("kyc_compliance")),
        "reject_form": RejectForm(),
        "request_form": RequestDocumentsForm(),
        "document_reject_form": DocumentRejectForm(),
    }
    return render(request, "kyc/review.html", context)


def _done(request, review: Review):
    return redirect("ops:kyc_review", review_id=review.pk)


def _form_errors(form) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


@require_POST
@capability_required("kyc_review")
def kyc_review_approve(request, review_id):
    review = review_visible_or_404(request.user, review_id)
    seen = request.POST.get("seen_status") or None
    try:
        review = review_approve(review, actor=request.user, seen_status=seen)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if review.status == Review.Status.AWAITING_SECOND:
            messages.success(request, "First approval recorded: a second compliance officer must approve.")
        else:
            messages.success(request, f"Approved: {review.client} is verified.")
    return _done(request, review)


@require_POST
@capability_required("kyc_review")
def kyc_review_reject(request, review_id):
    review = review_visible_or_404(request.user, review_id)
    try:
        review_reject(review, actor=request.user, reason=request.POST.get("reason", ""))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Rejected: the client was told why.")
    return _done(request, review)


@require_POST
@capability_required("kyc_review")
def kyc_review_request_documents(request, review_id):
    review = review_visible_or_404(request.user, review_id)
    form = RequestDocumentsForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing was requested. {_form_errors(form)}")
        return _done(request, review)
    try:
        review_request_documents(
            review, actor=request.user, kinds=form.cleaned_data["kinds"], message=form.cleaned_data["message"]
        )
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Documents requested: the client was told what to upload and why.")
    return _done(request, review)


def _document_of(review: Review, document_id) -> Document:
    return get_object_or_404(review.client.kyc_documents, pk=document_id)


@require_POST
@capability_required("kyc_review")
def kyc_document_accept(request, review_id, document_id):
    review = review_visible_or_404(request.user, review_id)
    document = _document_of(review, document_id)
    try:
        kyc_documents.document_accept(document, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{document.get_kind_display()} accepted.")
    return _done(request, review)


@require_POST
@capability_required("kyc_review")
def kyc_document_reject(request, review_id, document_id):
    review = review_visible_or_404(request.user, review_id)
    document = _document_of(review, document_id)
    form = DocumentRejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"The document was not rejected. {_form_errors(form)}")
        return _done(request, review)
    try:
        kyc_documents.document_reject(document, actor=request.user, reason=form.cleaned_data["reason"])
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{document.get_kind_display()} rejected: the client was told why.")
    return _done(request, review)


@require_POST
@capability_required("kyc_review")
def kyc_hit_decide(request, review_id, hit_id):
    """False positive (with a note) or confirmed match: compliance officers only."""
    if not request.user.has_perm(perm("kyc_compliance")):
        raise PermissionDenied
    review = review_visible_or_404(request.user, review_id)
    hit = get_object_or_404(review.client.screening_hits, pk=hit_id)
    form = HitDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"The hit was not decided. {_form_errors(form)}")
        return _done(request, review)
    decision = form.cleaned_data["decision"]
    try:
        hit_decide(hit, actor=request.user, decision=decision, note=form.cleaned_data["note"])
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        name = hit.entry.get("name") or hit.entry_id
        if decision == "false_positive":
            messages.success(request, f"{name}: marked as a false positive. It will not be raised again.")
        else:
            messages.success(request, f"{name}: confirmed as a match; the risk score counts it.")
    return _done(request, review)
