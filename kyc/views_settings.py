"""KYC settings pages (/ops/kyc/settings/, capability kyc_manage): policy and vendor, verification
levels, questionnaire versions. Forms parse; kyc.settings_services validates and writes."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.db import connection
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_countries import countries

from brokerage.errors import ApplicationError
from brokerage.money import CURRENCY_CHOICES
from brokerage.permissions import capability_required
from kyc import settings_services as services
from kyc.models import KycSettings, Questionnaire, VerificationLevel

# Policy ----------------------------------------------------------------------------------------


class PolicyForm(forms.Form):
    provider = forms.ChoiceField(label="Verification provider", choices=KycSettings.Provider.choices)
    webhook_secret = forms.CharField(
        label="Vendor webhook secret",
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Sumsub: the webhook secret key. Onfido: the webhook token. Leave empty to keep the stored one.",
    )
    api_token = forms.CharField(
        label="Vendor API token",
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the stored one.",
    )
    auto_approve = forms.BooleanField(
        label="Approve clean files automatically",
        required=False,
        help_text="Files that pass every automatic check, with clean screening and a risk below high, are "
        "approved without a person; everything else waits in the review queue. The built-in checks compare "
        "what the client typed from a document (the MRZ lines, a bill's text), not the image itself: turn "
        "this on only when an OCR step or a KYC vendor reads the documents.",
    )
    review_sla_hours = forms.IntegerField(
        label="Review SLA (hours)", help_text="Files waiting longer are shown as late in the review queue."
    )
    address_max_age_months = forms.IntegerField(
        label="Proof of address: at most this many months old",
        help_text="A utility bill or bank statement issued earlier is refused.",
    )
    expiry_notice_days = forms.IntegerField(label="Ask for a new document this many days before it expires")
    screening_threshold = forms.IntegerField(
        label="Screening threshold (60-100)",
        help_text="How alike a client and a watchlist entry must be (0-100, names, date of birth and nationality "
        "together) before the match becomes a hit a compliance officer must decide. Lower catches more "
        "spelling variants and raises more false positives; 100 means exact matches only.",
    )


def _webhook_urls(request) -> dict[str, str]:
    """Where each vendor must send its webhooks: this tenant's own domain."""
    domain = getattr(connection.tenant, "primary_domain", "") or request.get_host()
    return {
        provider: f"{request.scheme}://{domain}/kyc/webhooks/{provider}/"
        for provider in (KycSettings.Provider.SUMSUB, KycSettings.Provider.ONFIDO)
    }


@capability_required("kyc_manage")
def settings_policy(request):
    settings = KycSettings.current()
    initial = {name: getattr(settings, name) for name in services.POLICY_FIELDS}
    form = PolicyForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.kyc_settings_update(
                    actor=request.user,
                    values={name: data[name] for name in services.POLICY_FIELDS},
                    webhook_secret=data["webhook_secret"],
                    api_token=data["api_token"],
                )
            except ApplicationError as error:
                error.add_to_form(form)
            else:
                messages.success(request, "KYC settings saved.")
                return redirect("ops:kyc_settings")
        status = 400
    context = {
        "tab": "policy",
        "form": form,
        "stored": services.vendor_credentials_masked(settings),
        "webhook_urls": _webhook_urls(request),
        "settings": settings,
    }
    return render(request, "kyc/settings/policy.html", context, status=status)


@require_POST
@capability_required("kyc_manage")
def settings_credentials_clear(request):
    services.vendor_credentials_clear(actor=request.user)
    messages.success(request, "The vendor credentials are removed; the built-in checks are in use.")
    return redirect("ops:kyc_settings")


# Verification levels ---------------------------------------------------------------------------


class LevelForm(forms.Form):
    number = forms.IntegerField(min_value=0, max_value=99, help_text="Clients climb the levels in this order.")
    name = forms.CharField(max_length=60, required=False)  # the service says what a name is for
    requirements = forms.MultipleChoiceField(
        choices=list(VerificationLevel.REQUIREMENTS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="A level must require at least what the level below it requires.",
    )
    deposit_limit = forms.CharField(
        label="Deposit limit",
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "No limit"}),
        help_text="All the client's deposits together (completed and on their way). Empty: no limit.",
    )
    limit_currency = forms.ChoiceField(label="Limit currency", choices=CURRENCY_CHOICES)
    allows_deposits = forms.BooleanField(label="Allows deposits", required=False)
    allows_withdrawals = forms.BooleanField(label="Allows withdrawals", required=False)

    def level_input(self) -> services.LevelInput:
        data = self.cleaned_data
        return services.LevelInput(
            number=data["number"],
            name=data["name"],
            requirements=list(data["requirements"]),
            deposit_limit=services.decimal_or_none(data["deposit_limit"]),
            limit_currency=data["limit_currency"],
            allows_deposits=data["allows_deposits"],
            allows_withdrawals=data["allows_withdrawals"],
        )


def _level_initial(level: VerificationLevel) -> dict:
    return {
        "number": level.number,
        "name": level.name,
        "requirements": level.requirements,
        "deposit_limit": "" if level.deposit_limit is None else f"{level.deposit_limit:f}",
        "limit_currency": level.limit_currency,
        "allows_deposits": level.allows_deposits,
        "allows_withdrawals": level.allows_withdrawals,
    }


@capability_required("kyc_manage")
def settings_levels(request):
    levels = list(VerificationLevel.objects.order_by("number"))
    context = {"tab": "levels", "levels": levels, "labels": VerificationLevel.REQUIREMENTS}
    return render(request, "kyc/settings/levels.html", context)


def _level_page(request, level: VerificationLevel | None):
    if level is None:
        top = VerificationLevel.objects.order_by("-number").first()
        initial = _level_initial(top) if top else {"limit_currency": "USD", "allows_deposits": True}
        initial.update(number=top.number + 1 if top else 0, name="")
    else:
        initial = _level_initial(level)
    form = LevelForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                if level is None:
                    saved = services.level_create(data=form.level_input(), actor=request.user)
                else:
                    saved = services.level_update(level=level, data=form.level_input(), actor=request.user)
            except ApplicationError as error:
                error.add_to_form(form)
            else:
                messages.success(request, f"Level {saved.number} ({saved.name}) saved.")
                return redirect("ops:kyc_settings_levels")
        status = 400
    context = {"tab": "levels", "form": form, "level": level}
    return render(request, "kyc/settings/level_edit.html", context, status=status)


@capability_required("kyc_manage")
def settings_level_new(request):
    return _level_page(request, None)


@capability_required("kyc_manage")
def settings_level_edit(request, pk: int):
    return _level_page(request, get_object_or_404(VerificationLevel, pk=pk))


@require_POST
@capability_required("kyc_manage")
def settings_level_delete(request, pk: int):
    level = get_object_or_404(VerificationLevel, pk=pk)
    try:
        services.level_delete(level=level, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Level {level.number} ({level.name}) removed.")
    return redirect("ops:kyc_settings_levels")


# Questionnaires --------------------------------------------------------------------------------

# Blank rows the structured editor adds: one more question, two more choices per question.
EXTRA_QUESTIONS, EXTRA_CHOICES = 1, 2


class PublishForm(forms.Form):
    jurisdiction = forms.ChoiceField(
        label="Jurisdiction",
        required=False,
        choices=[("", "Default (every other country)"), *countries],
    )
    title = forms.CharField(max_length=120)
    pass_score = forms.IntegerField(min_value=0, help_text="Clients scoring less see the warning below.")
    warning_text = forms.CharField(label="Warning for clients who fail", widget=forms.Textarea(attrs={"rows": 4}))
    questions_json = forms.CharField(
        label="Questions as JSON", required=False, widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"})
    )


def _row_count(value) -> int:
    """A row count the page posted back; anything else (a tampered form) counts as none."""
    value = str(value or "")
    return min(int(value), 200) if value.isdigit() else 0


def _rows_from_post(post) -> list[dict]:
    """The structured editor's fields (q1_code, q1_c2_points, ...) as the questions' raw list.

    Wholly blank rows are the editor's spare rows and are skipped; anything else goes to
    questions_clean, which names every problem.
    """
    questions = []
    for index in range(1, _row_count(post.get("question_rows")) + 1):
        prefix = f"q{index}"
        if post.get(f"{prefix}_remove"):
            continue
        choices = []
        for number in range(1, _row_count(post.get(f"{prefix}_choice_rows")) + 1):
            fields = {key: post.get(f"{prefix}_c{number}_{key}", "").strip() for key in ("code", "text", "points")}
            if not any(fields.values()):
                continue
            points: object = fields["points"]
            if fields["points"].lstrip("-").isdigit():
                points = int(fields["points"])
            choices.append({**fields, "points": points})
        code, text = post.get(f"{prefix}_code", "").strip(), post.get(f"{prefix}_text", "").strip()
        if code or text or choices:
            questions.append({"code": code, "text": text, "choices": choices})
    return questions


def _editor_rows(questions: list) -> list[dict]:
    """Rows for the structured editor: the questions with spare blank rows to add to."""
    rows = []
    for question in [*questions, *([{}] * EXTRA_QUESTIONS)]:
        question = question if isinstance(question, dict) else {}
        choices = question.get("choices") if isinstance(question.get("choices"), list) else []
        rows.append(
            {
                "code": question.get("code", ""),
                "text": question.get("text", ""),
                "choices": [c if isinstance(c, dict) else {} for c in choices] + [{}] * EXTRA_CHOICES,
            }
        )
    return rows


@capability_required("kyc_manage")
def settings_questionnaires(request):
    versions = Questionnaire.objects.select_related("created_by").order_by("jurisdiction", "-version")
    groups: dict[str, list[Questionnaire]] = {}
    for version in versions:
        groups.setdefault(version.jurisdiction, []).append(version)
    names = dict(countries)
    context = {
        "tab": "questionnaires",
        "groups": [(code, names.get(code, "") if code else "Default", items) for code, items in groups.items()],
    }
    return render(request, "kyc/settings/questionnaires.html", context)


@capability_required("kyc_manage")
def settings_questionnaire(request, pk: int):
    questionnaire = get_object_or_404(Questionnaire.objects.select_related("created_by"), pk=pk)
    context = {
        "tab": "questionnaires",
        "questionnaire": questionnaire,
        "answer_count": questionnaire.answers.count(),
    }
    return render(request, "kyc/settings/questionnaire_detail.html", context)


@capability_required("kyc_manage")
def settings_questionnaire_new(request):
    """Publish a new version, starting from a copy of the latest one of the jurisdiction."""
    jurisdiction = (
        request.POST.get("jurisdiction") if request.method == "POST" else request.GET.get("jurisdiction")
    ) or ""
    base = services.questionnaire_latest(jurisdiction.upper())
    initial = {"jurisdiction": jurisdiction.upper()}
    questions: list = base.questions if base else []
    if base:
        initial.update(title=base.title, pass_score=base.pass_score, warning_text=base.warning_text)
    initial["questions_json"] = json.dumps(questions, indent=2, ensure_ascii=False)
    form = PublishForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        from_json = request.POST.get("source") == "json"
        try:
            questions = (
                services.questions_parse_json(request.POST.get("questions_json", ""))
                if from_json
                else _rows_from_post(request.POST)
            )
        except ApplicationError as error:
            error.add_to_form(form)
            questions = []
        if form.is_valid():
            data = form.cleaned_data
            try:
                published = services.questionnaire_publish(
                    actor=request.user,
                    jurisdiction=data["jurisdiction"],
                    title=data["title"],
                    questions=questions,
                    pass_score=data["pass_score"],
                    warning_text=data["warning_text"],
                )
            except ApplicationError as error:
                error.add_to_form(form)
            else:
                messages.success(request, f"Version {published.version} is published and in use.")
                return redirect("ops:kyc_settings_questionnaire", pk=published.pk)
        status = 400
        if not from_json:
            form.data = form.data.copy()
            form.data["questions_json"] = json.dumps(questions, indent=2, ensure_ascii=False)
    context = {
        "tab": "questionnaires",
        "form": form,
        "base": base,
        "rows": _editor_rows(questions if isinstance(questions, list) else []),
        "json_open": request.POST.get("source") == "json",
    }
    return render(request, "kyc/settings/questionnaire_new.html", context, status=status)


@require_POST
@capability_required("kyc_manage")
def settings_questionnaire_active(request, pk: int):
    questionnaire = get_object_or_404(Questionnaire, pk=pk)
    is_active = request.POST.get("active") == "1"
    try:
        services.questionnaire_set_active(questionnaire=questionnaire, is_active=is_active, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Version {questionnaire.version} is {'in use' if is_active else 'no longer used'}.")
    return redirect("ops:kyc_settings_questionnaire", pk=questionnaire.pk)
