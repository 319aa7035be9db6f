"""The client's risk score: points per factor, each with the reason a compliance officer reads.

Factors come from the profile (country, nationality, occupation, source of funds), the appropriateness
questionnaire and screening. Other modules add behaviour factors (say, risk's AML alerts) through
`register_risk_factor` without kyc importing them. A confirmed sanctions match or a PEP makes the
client high risk whatever the points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from crm.models import Client
from kyc.models import FinancialProfile, RiskAssessment, ScreeningHit

MEDIUM_FROM, HIGH_FROM = 30, 60

# FATF "call for action" and "increased monitoring" jurisdictions (FATF public statement, October 2025).
HIGH_RISK_COUNTRIES = frozenset({"KP", "IR", "MM"})
MONITORED_COUNTRIES = frozenset(
    {
        "DZ", "AO", "BO", "BG", "CM", "CI", "HR", "CD", "HT", "KE", "LA", "LB", "MC", "MZ", "NA", "NP",
        "NG", "ZA", "SS", "SY", "TZ", "VE", "VN", "YE",
    }
)  # fmt: skip
CASH_INTENSIVE = ("gambling", "casino", "crypto", "arms", "defence", "precious", "jewel", "money service", "cash")


@dataclass(frozen=True)
class Reason:
    factor: str
    points: int
    text: str
    forces_high: bool = False


RiskFactor = Callable[[Client], list[Reason]]
_factors: list[RiskFactor] = []


def register_risk_factor(factor: RiskFactor) -> RiskFactor:
    """Add a factor (a function of the client returning reasons); used as a decorator."""
    _factors.append(factor)
    return factor


@register_risk_factor
def _geography(client: Client) -> list[Reason]:
    reasons = []
    for field, label in (("country", "Residence"), ("nationality", "Nationality")):
        code = str(getattr(client, field) or "")
        if code in HIGH_RISK_COUNTRIES:
            reasons.append(Reason(field, 60, f"{label} {code} is under an FATF call for action"))
        elif code in MONITORED_COUNTRIES:
            reasons.append(Reason(field, 20, f"{label} {code} is under FATF increased monitoring"))
    return reasons


@register_risk_factor
def _profile(client: Client) -> list[Reason]:
    profile = FinancialProfile.objects.filter(client=client).first()
    if profile is None or profile.completed_at is None:
        return [Reason("profile", 10, "The financial profile is not complete")]
    reasons = []
    work = f"{profile.occupation} {profile.industry}".lower()
    if any(word in work for word in CASH_INTENSIVE):
        reasons.append(Reason("occupation", 20, f"Occupation or industry is cash-intensive ({work.strip()})"))
    if profile.employment in (FinancialProfile.Employment.UNEMPLOYED, FinancialProfile.Employment.STUDENT):
        reasons.append(Reason("employment", 10, f"Employment: {profile.get_employment_display().lower()}"))
    funds = FinancialProfile.Funds
    if profile.source_of_funds in (funds.CRYPTO, funds.OTHER):
        reasons.append(
            Reason("source_of_funds", 20, f"Source of funds: {profile.get_source_of_funds_display().lower()}")
        )
    elif profile.source_of_funds in (funds.INHERITANCE, funds.PROPERTY):
        reasons.append(
            Reason("source_of_funds", 10, f"Source of funds: {profile.get_source_of_funds_display().lower()}")
        )
    band = FinancialProfile.Band
    order = [band.UNDER_25K, band.FROM_25K, band.FROM_100K, band.OVER_500K]
    if profile.expected_yearly_deposit and profile.annual_income and profile.net_worth:
        expected = order.index(profile.expected_yearly_deposit)
        if expected > max(order.index(profile.annual_income), order.index(profile.net_worth)):
            reasons.append(Reason("wealth", 20, "Expected deposits exceed both income and net worth"))
    return reasons


@register_risk_factor
def _questionnaire(client: Client) -> list[Reason]:
    answer = client.questionnaire_answers.first()
    if answer is not None and not answer.passed:
        return [Reason("questionnaire", 10, f"Failed the appropriateness test ({answer.score} points)")]
    return []


@register_risk_factor
def _screening(client: Client) -> list[Reason]:
    reasons = []
    for hit in client.screening_hits.exclude(status=ScreeningHit.Status.FALSE_POSITIVE):
        what = "PEP" if hit.is_pep else "sanctions"
        name = hit.entry.get("name", hit.entry_id)
        if hit.status == ScreeningHit.Status.CONFIRMED:
            reasons.append(Reason("screening", 100, f"Confirmed {what} match: {name}", forces_high=True))
        elif hit.is_pep:
            reasons.append(Reason("screening", 40, f"Open PEP hit ({hit.score}%): {name}"))
        else:
            # A possible sanctions match weighs as much as the worst country until a person clears it.
            reasons.append(Reason("screening", 60, f"Open sanctions hit ({hit.score}%): {name}"))
    return reasons


def risk_level_for(score: int, forced_high: bool) -> str:
    if forced_high or score >= HIGH_FROM:
        return Client.RiskLevel.HIGH
    return Client.RiskLevel.MEDIUM if score >= MEDIUM_FROM else Client.RiskLevel.LOW


def risk_assess(client: Client, *, trigger: str) -> RiskAssessment:
    """Score the client now; store a new assessment only when the score or its reasons changed, and
    keep `Client.risk_level` in step."""
    reasons = [reason for factor in _factors for reason in factor(client)]
    score = min(100, sum(r.points for r in reasons))
    level = risk_level_for(score, any(r.forces_high for r in reasons))
    stored = [{"factor": r.factor, "points": r.points, "text": r.text} for r in reasons]
    with transaction.atomic():
        latest = client.risk_assessments.first()
        if latest is not None and latest.score == score and latest.level == level and latest.reasons == stored:
            return latest
        assessment = RiskAssessment.objects.create(
            client=client, score=score, level=level, reasons=stored, trigger=trigger[:60]
        )
        if client.risk_level != level:
            Client.objects.filter(pk=client.pk).update(risk_level=level)
            client.risk_level = level
    return assessment
