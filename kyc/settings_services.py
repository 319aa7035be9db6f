"""Writes of the KYC settings pages: the tenant's policy and vendor credentials, the verification
levels, and new questionnaire versions. Each is transactional and audited with before/after.

Vendor secrets are stored encrypted (brokerage.fields.encrypt) in KycSettings' text columns; read
them with `vendor_credentials()`. A published questionnaire is never edited: a change is a new
version, so every stored answer keeps the questions it answered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from brokerage.audit import audit_log, snapshot
from brokerage.errors import ApplicationError
from brokerage.fields import decrypt, encrypt, mask
from brokerage.money import MINOR_UNITS
from kyc.forms_portal import QuestionnaireForm
from kyc.models import KycSettings, Questionnaire, VerificationLevel

POLICY_FIELDS = [
    "provider",
    "auto_approve",
    "review_sla_hours",
    "address_max_age_months",
    "expiry_notice_days",
    "screening_threshold",
]
# Bounds of the numeric policy fields: (smallest, largest, unit for the message).
POLICY_BOUNDS = {
    "review_sla_hours": (1, 720, "hours"),
    "address_max_age_months": (1, 24, "months"),
    "expiry_notice_days": (1, 365, "days"),
    # Below 60 nearly every common name becomes a hit and the queue floods; 100 means exact matches only.
    "screening_threshold": (60, 100, ""),
}
# A question's code is its field's name in the portal's questionnaire form: it must not be one of the
# form's own fields (the version id) nor the CSRF token, or the answer would overwrite them.
RESERVED_QUESTION_CODES = frozenset(QuestionnaireForm.base_fields) | {"csrfmiddlewaretoken"}
LEVEL_FIELDS = [
    "number",
    "name",
    "requirements",
    "deposit_limit",
    "limit_currency",
    "allows_deposits",
    "allows_withdrawals",
]


# Policy and vendor -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VendorCredentials:
    webhook_secret: str
    api_token: str


def vendor_credentials(settings: KycSettings | None = None) -> VendorCredentials:
    """The vendor's webhook secret and API token in plain text (for the adapters; never for a page)."""
    settings = settings or KycSettings.current()
    return VendorCredentials(
        decrypt(settings.vendor_webhook_secret) if settings.vendor_webhook_secret else "",
        decrypt(settings.vendor_api_token) if settings.vendor_api_token else "",
    )


def vendor_credentials_masked(settings: KycSettings) -> dict[str, str]:
    """What the page may show of the stored secrets: the last four characters, or "" when none."""
    plain = vendor_credentials(settings)
    return {
        "webhook_secret": mask(plain.webhook_secret) if plain.webhook_secret else "",
        "api_token": mask(plain.api_token) if plain.api_token else "",
    }


def kyc_settings_update(*, actor, values: dict[str, Any], webhook_secret: str = "", api_token: str = "") -> KycSettings:
    """Save the policy; a non-empty `webhook_secret` / `api_token` replaces the stored one (encrypted),
    an empty one keeps it."""
    errors: dict[str, list[str]] = {}
    if values.get("provider") not in KycSettings.Provider.values:
        errors["provider"] = ["Choose a provider from the list."]
    for name, (low, high, unit) in POLICY_BOUNDS.items():
        value = values.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors[name] = [f"Between {low} and {high}{' ' + unit if unit else ''}."]
    webhook_secret, api_token = webhook_secret.strip(), api_token.strip()
    for name, secret in (("webhook_secret", webhook_secret), ("api_token", api_token)):
        if secret and (len(secret) < 8 or len(secret) > 500):
            errors[name] = ["Between 8 and 500 characters: paste it exactly as the vendor shows it."]
    with transaction.atomic():
        settings = KycSettings.current()
        settings = KycSettings.objects.select_for_update().get(pk=settings.pk)
        if (
            values.get("provider") not in (None, KycSettings.Provider.BUILTIN)
            and not webhook_secret
            and not settings.vendor_webhook_secret
        ):
            errors.setdefault("webhook_secret", []).append(
                "A vendor needs its webhook secret: without it no webhook can be verified."
            )
        if errors:
            raise ApplicationError("Some settings are not valid.", fields=errors)
        before = snapshot(settings, POLICY_FIELDS)
        for name in POLICY_FIELDS:
            setattr(settings, name, values[name])
        replaced = []
        if webhook_secret:
            settings.vendor_webhook_secret = encrypt(webhook_secret)
            replaced.append("webhook secret")
        if api_token:
            settings.vendor_api_token = encrypt(api_token)
            replaced.append("API token")
        settings.save()
        # The audit masks fields named like secrets; it records only which credentials were replaced.
        audit_log(
            actor=actor,
            action="kyc.settings.updated",
            obj=settings,
            before=before,
            after={**snapshot(settings, POLICY_FIELDS), "credentials_replaced": replaced},
        )
    return settings


def vendor_credentials_clear(*, actor) -> KycSettings:
    """Forget the stored vendor credentials and go back to the built-in checks."""
    with transaction.atomic():
        settings = KycSettings.objects.select_for_update().get(pk=KycSettings.current().pk)
        before = snapshot(settings, ["provider"])
        settings.provider = KycSettings.Provider.BUILTIN
        settings.vendor_webhook_secret = settings.vendor_api_token = ""
        settings.save()
        audit_log(
            actor=actor,
            action="kyc.settings.credentials_cleared",
            obj=settings,
            before=before,
            after={**snapshot(settings, ["provider"]), "credentials_replaced": ["webhook secret", "API token"]},
        )
    return settings


# Verification levels ---------------------------------------------------------------------------


@dataclass
class LevelInput:
    number: int
    name: str
    requirements: list[str]
    deposit_limit: Decimal | None
    limit_currency: str
    allows_deposits: bool
    allows_withdrawals: bool


def _level_clean(data: LevelInput) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(data.number, int) or not 0 <= data.number <= 99:
        errors["number"] = ["A whole number from 0 to 99."]
    if not data.name.strip():
        errors["name"] = ["Give the level a name clients will see."]
    elif len(data.name.strip()) > 60:
        errors["name"] = ["At most 60 characters."]
    unknown = [code for code in data.requirements if code not in VerificationLevel.REQUIREMENTS]
    if unknown:
        errors["requirements"] = [f"Unknown requirement: {', '.join(unknown)}."]
    if data.deposit_limit is not None:
        limit = data.deposit_limit
        if not isinstance(limit, Decimal) or not limit.is_finite() or limit < 0:
            errors["deposit_limit"] = ["An amount of 0 or more, or empty for no limit."]
        elif limit != limit.quantize(Decimal("0.01")) or limit >= Decimal("1e18"):
            errors["deposit_limit"] = ["At most two decimals and below 10^18."]
    if data.limit_currency not in MINOR_UNITS:
        errors["limit_currency"] = ["Choose a currency from the list."]
    return errors


def _ladder_clean(ladder: list[LevelInput]) -> dict[str, list[str]]:
    """Levels are cumulative: each asks at least what the one below asks, and allows at least as much."""
    errors: dict[str, list[str]] = {}
    numbers = [level.number for level in ladder]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        errors["number"] = [f"Level {duplicates[0]} exists already: level numbers are unique."]
        return errors
    ladder = sorted(ladder, key=lambda level: level.number)
    for lower, higher in zip(ladder, ladder[1:], strict=False):
        dropped = [
            VerificationLevel.REQUIREMENTS[c].lower() for c in lower.requirements if c not in higher.requirements
        ]
        if dropped:
            errors.setdefault("requirements", []).append(
                f"Level {higher.number} must also require what level {lower.number} requires "
                f"({', '.join(dropped)}): a client reaches a level only through the ones below it."
            )
        if lower.allows_deposits and not higher.allows_deposits:
            errors.setdefault("allows_deposits", []).append(
                f"Level {lower.number} allows deposits, so level {higher.number} must too."
            )
        if lower.allows_withdrawals and not higher.allows_withdrawals:
            errors.setdefault("allows_withdrawals", []).append(
                f"Level {lower.number} allows withdrawals, so level {higher.number} must too."
            )
        # Limits in different currencies are not compared (the rate moves).
        lower_is_higher = higher.deposit_limit is not None and (
            lower.deposit_limit is None
            or (lower.limit_currency == higher.limit_currency and higher.deposit_limit < lower.deposit_limit)
        )
        if lower.allows_deposits and higher.allows_deposits and lower_is_higher:
            errors.setdefault("deposit_limit", []).append(
                f"Level {higher.number}'s deposit limit must not be below level {lower.number}'s"
                f" ({'no limit' if lower.deposit_limit is None else f'{lower.deposit_limit} {lower.limit_currency}'})."
            )
    return errors


def _as_input(level: VerificationLevel) -> LevelInput:
    return LevelInput(
        level.number,
        level.name,
        list(level.requirements),
        level.deposit_limit,
        level.limit_currency,
        level.allows_deposits,
        level.allows_withdrawals,
    )


def _level_save(*, level: VerificationLevel | None, data: LevelInput, actor) -> VerificationLevel:
    data.name = data.name.strip()
    # Keep the requirement codes in the onboarding's order, once each.
    data.requirements = [code for code in VerificationLevel.REQUIREMENTS if code in data.requirements] + [
        code for code in dict.fromkeys(data.requirements) if code not in VerificationLevel.REQUIREMENTS
    ]
    errors = _level_clean(data)
    if errors:
        raise ApplicationError("The level is not valid.", fields=errors)
    try:
        with transaction.atomic():
            # Every level locked: two edits of the ladder at once cannot each pass on a stale copy.
            current = list(VerificationLevel.objects.select_for_update().order_by("pk"))
            others = [_as_input(other) for other in current if level is None or other.pk != level.pk]
            errors = _ladder_clean([*others, data])
            if errors:
                raise ApplicationError("The levels would not build on each other.", fields=errors)
            before = snapshot(level, LEVEL_FIELDS) if level is not None else None
            level = level or VerificationLevel()
            for name in LEVEL_FIELDS:
                setattr(level, name, getattr(data, name))
            level.save()
            audit_log(
                actor=actor,
                action="kyc.level.updated" if before is not None else "kyc.level.created",
                obj=level,
                before=before,
                after=snapshot(level, LEVEL_FIELDS),
            )
    except IntegrityError:
        raise ApplicationError(
            "The levels would not build on each other.",
            fields={"number": [f"Level {data.number} exists already: level numbers are unique."]},
        ) from None
    return level


def level_update(*, level: VerificationLevel, data: LevelInput, actor) -> VerificationLevel:
    return _level_save(level=level, data=data, actor=actor)


def level_create(*, data: LevelInput, actor) -> VerificationLevel:
    return _level_save(level=None, data=data, actor=actor)


def level_delete(*, level: VerificationLevel, actor) -> None:
    """Remove a level. Levels are worked out from each client's file, so nobody's record changes:
    a client who held it now holds the level below."""
    with transaction.atomic():
        current = list(VerificationLevel.objects.select_for_update().order_by("pk"))
        if len(current) <= 1:
            raise ApplicationError("Keep at least one verification level.", code="last_level")
        before = snapshot(level, LEVEL_FIELDS)
        VerificationLevel.objects.filter(pk=level.pk).delete()
        audit_log(actor=actor, action="kyc.level.deleted", obj=level, before=before, after=None)


def decimal_or_none(raw: str) -> Decimal | None:
    """A form's limit: empty means no limit; anything not a number is refused by `_level_clean`."""
    raw = (raw or "").strip().replace(",", "")
    if not raw:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        return Decimal("NaN")


# Questionnaires --------------------------------------------------------------------------------


def questions_parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ApplicationError(
            "The questions are not valid JSON.",
            fields={"questions": [f"The JSON has an error at line {error.lineno}, column {error.colno}: {error.msg}."]},
        ) from None


def _is_points(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1000


def questions_clean(raw: Any) -> list[dict]:
    """A list of {"code", "text", "choices": [{"code", "text", "points"}]}, or every problem at once.

    Each question needs a code (unique), a text and at least two choices; each choice a code (unique
    in its question), a text and whole points from 0 to 1000. A code may not be a name the portal's
    form uses itself (RESERVED_QUESTION_CODES).
    """
    if not isinstance(raw, list) or not raw:
        raise ApplicationError(
            "The questions are not valid.", fields={"questions": ["Give a list with at least one question."]}
        )
    problems: list[str] = []
    cleaned: list[dict] = []
    codes: set[str] = set()
    for index, question in enumerate(raw, start=1):
        if not isinstance(question, dict):
            problems.append(f"Question {index}: must be an object with code, text and choices.")
            continue
        code = str(question.get("code") or "").strip()
        where = f"Question {index}" + (f" ({code})" if code else "")
        text = str(question.get("text") or "").strip()
        if not code:
            problems.append(f"{where}: needs a code.")
        elif code in RESERVED_QUESTION_CODES:
            problems.append(f"{where}: the code {code!r} is reserved by the portal's form; choose another.")
        elif code in codes:
            problems.append(f"{where}: the code {code!r} is used by another question.")
        codes.add(code)
        if not text:
            problems.append(f"{where}: needs a text.")
        choices = question.get("choices")
        if not isinstance(choices, list) or len(choices) < 2:
            problems.append(f"{where}: needs at least two choices.")
            choices = choices if isinstance(choices, list) else []
        choice_codes: set[str] = set()
        clean_choices = []
        for number, choice in enumerate(choices, start=1):
            if not isinstance(choice, dict):
                problems.append(f"{where}, choice {number}: must be an object with code, text and points.")
                continue
            choice_code = str(choice.get("code") or "").strip()
            choice_text = str(choice.get("text") or "").strip()
            if not choice_code:
                problems.append(f"{where}, choice {number}: needs a code.")
            elif choice_code in choice_codes:
                problems.append(f"{where}, choice {number}: the code {choice_code!r} is used twice.")
            choice_codes.add(choice_code)
            if not choice_text:
                problems.append(f"{where}, choice {number}: needs a text.")
            if not _is_points(choice.get("points")):
                problems.append(f"{where}, choice {number}: points must be a whole number from 0 to 1000.")
            clean_choices.append({"code": choice_code, "text": choice_text, "points": choice.get("points")})
        cleaned.append({"code": code, "text": text, "choices": clean_choices})
    if problems:
        raise ApplicationError("The questions are not valid.", fields={"questions": problems})
    return cleaned


def max_score(questions: list[dict]) -> int:
    return sum(max(choice["points"] for choice in question["choices"]) for question in questions)


def questionnaire_latest(jurisdiction: str) -> Questionnaire | None:
    """The newest version for a jurisdiction, else the newest default one: where a new version starts."""
    versions = Questionnaire.objects.order_by("-version")
    return versions.filter(jurisdiction=jurisdiction).first() or versions.filter(jurisdiction="").first()


def questionnaire_publish(
    *, actor, jurisdiction: str, title: str, questions: Any, pass_score: int, warning_text: str
) -> Questionnaire:
    """Publish the next version for a jurisdiction ("" = the default) and make it the one in use."""
    jurisdiction = (jurisdiction or "").strip().upper()
    errors: dict[str, list[str]] = {}
    if jurisdiction and (len(jurisdiction) != 2 or not jurisdiction.isalpha()):
        errors["jurisdiction"] = ["A two-letter country code, or empty for the default questionnaire."]
    if not title.strip():
        errors["title"] = ["Give the questionnaire a title."]
    elif len(title.strip()) > 120:
        errors["title"] = ["At most 120 characters."]
    if not warning_text.strip():
        errors["warning_text"] = ["Clients who fail read this warning: it cannot be empty."]
    try:
        questions = questions_clean(questions)
    except ApplicationError as error:
        errors.update(error.fields)
        questions = None
    if not isinstance(pass_score, int) or isinstance(pass_score, bool) or pass_score < 0:
        errors["pass_score"] = ["A whole number of 0 or more."]
    elif questions is not None and pass_score > max_score(questions):
        errors["pass_score"] = [
            f"At most the highest score a client can reach ({max_score(questions)}), or nobody can pass."
        ]
    if errors:
        raise ApplicationError("The questionnaire is not valid.", fields=errors)
    try:
        with transaction.atomic():
            latest = Questionnaire.objects.filter(jurisdiction=jurisdiction).aggregate(v=Max("version"))["v"] or 0
            questionnaire = Questionnaire.objects.create(
                jurisdiction=jurisdiction,
                version=latest + 1,
                title=title.strip(),
                questions=questions,
                pass_score=pass_score,
                warning_text=warning_text.strip(),
                is_active=True,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            deactivated = list(
                Questionnaire.objects.filter(jurisdiction=jurisdiction, is_active=True)
                .exclude(pk=questionnaire.pk)
                .values_list("version", flat=True)
            )
            Questionnaire.objects.filter(jurisdiction=jurisdiction, version__in=deactivated).update(is_active=False)
            audit_log(
                actor=actor,
                action="kyc.questionnaire.published",
                obj=questionnaire,
                before={"active_versions": deactivated},
                after={
                    "jurisdiction": jurisdiction,
                    "version": questionnaire.version,
                    "title": questionnaire.title,
                    "pass_score": pass_score,
                    "max_score": questionnaire.max_score,
                    "questions": [question["code"] for question in questions],
                },
            )
    except IntegrityError:
        raise ApplicationError(
            "Someone published a version of this questionnaire at the same moment: reload and try again.",
            code="version_taken",
        ) from None
    return questionnaire


def questionnaire_set_active(*, questionnaire: Questionnaire, is_active: bool, actor) -> Questionnaire:
    """Put a version in use (the other versions of its jurisdiction stop being used) or take it out.

    A country without an active version falls back to the default questionnaire; the default needs one
    active version, or clients from other countries would have nothing to answer.
    """
    with transaction.atomic():
        versions = list(
            Questionnaire.objects.select_for_update().filter(jurisdiction=questionnaire.jurisdiction).order_by("pk")
        )
        questionnaire = next(version for version in versions if version.pk == questionnaire.pk)
        before = {"active_versions": [v.version for v in versions if v.is_active]}
        if is_active:
            Questionnaire.objects.filter(jurisdiction=questionnaire.jurisdiction).exclude(pk=questionnaire.pk).update(
                is_active=False
            )
        elif not questionnaire.jurisdiction and not any(v.is_active for v in versions if v.pk != questionnaire.pk):
            raise ApplicationError(
                "The default questionnaire needs an active version: activate another version first.",
                code="last_default",
            )
        questionnaire.is_active = is_active
        questionnaire.save(update_fields=["is_active"])
        after = list(
            Questionnaire.objects.filter(jurisdiction=questionnaire.jurisdiction, is_active=True).values_list(
                "version", flat=True
            )
        )
        audit_log(
            actor=actor,
            action="kyc.questionnaire.activated" if is_active else "kyc.questionnaire.deactivated",
            obj=questionnaire,
            before=before,
            after={"active_versions": sorted(after)},
        )
    return questionnaire
