"""Segment criteria over the client's own columns (registered on import by crm.apps).

The activity columns (first_deposit_at, last_deposit_at, last_trade_at, last_activity_at) are kept
up to date from payments' and trading's events, so these criteria never join the ledger or deals.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django_countries import countries

from crm.models import Client
from crm.models.clients import LANGUAGES
from crm.segment_criteria import Criterion, Param, register_criterion

UNASSIGNED = "none"


def _days(label: str = "Days") -> Param:
    return Param("days", label, "int", minimum=1)


def _since(days: int):
    return timezone.now() - timedelta(days=days)


def staff_choices() -> list[tuple[str, str]]:
    """Staff who may hold clients (crm.assignment.agents_all), for "sales agent is"."""
    from crm.assignment import agents_all

    people = agents_all().values_list("pk", "first_name", "last_name", "email")
    return [(UNASSIGNED, "Nobody (unassigned)")] + [
        (str(pk), f"{first} {last}".strip() or email) for pk, first, last, email in people
    ]


def country_choices() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in countries]


def _in(field: str):
    def build(**params) -> Q:
        (values,) = params.values()
        return Q(**{f"{field}__in": values})

    return build


def _agent(agent: str) -> Q:
    if agent == UNASSIGNED:
        return Q(sales_agent__isnull=True)
    return Q(sales_agent_id=int(agent))


def _tagged(tag: str) -> Q:
    # Tags are stored lower-cased (crm.profile.tags_clean); the GIN index on tags serves @>.
    return Q(tags__contains=[" ".join(tag.split()).lower()])


def _dormant(days: int) -> Q:
    since = _since(days)
    return Q(last_activity_at__lt=since) | Q(last_activity_at__isnull=True, created_at__lt=since)


CLIENT_CRITERIA = [
    Criterion("status_in", "Status is {statuses}", _in("status"),
              (Param("statuses", "Statuses", "multichoice", Client.Status.choices),), "Profile"),
    Criterion("country_in", "Country is {countries}", _in("country"),
              (Param("countries", "Countries", "multichoice", country_choices),), "Profile"),
    Criterion("language_in", "Language is {languages}", _in("language"),
              (Param("languages", "Languages", "multichoice", tuple(LANGUAGES)),), "Profile"),
    Criterion("source_in", "Source is {sources}", _in("source"),
              (Param("sources", "Sources", "multichoice", Client.Source.choices),), "Profile"),
    Criterion("tag_has", "Tagged {tag}", _tagged,
              (Param("tag", "Tag", "text"),), "Profile"),
    Criterion("kyc_status_in", "KYC status is {kyc_statuses}", _in("kyc_status"),
              (Param("kyc_statuses", "KYC statuses", "multichoice", Client.KycStatus.choices),), "Profile"),
    Criterion("risk_level_in", "Risk level is {risk_levels}", _in("risk_level"),
              (Param("risk_levels", "Risk levels", "multichoice", Client.RiskLevel.choices),), "Profile"),
    Criterion("created_within", "Created in the last {days} days", lambda days: Q(created_at__gte=_since(days)),
              (_days(),), "Profile"),
    Criterion("lead_stage_in", "Lead stage is {stages}", lambda stages: Client.lead_stage_q(stages),
              (Param("stages", "Lead stages", "multichoice", Client.LeadStage.choices),), "Sales"),
    Criterion("sales_agent_is", "Sales agent is {agent}", _agent,
              (Param("agent", "Sales agent", "choice", staff_choices),), "Sales"),
    Criterion("deposited_within", "Deposited in the last {days} days",
              lambda days: Q(last_deposit_at__gte=_since(days)), (_days(),), "Activity"),
    Criterion("first_deposit_within", "First deposit in the last {days} days",
              lambda days: Q(first_deposit_at__gte=_since(days)), (_days(),), "Activity"),
    Criterion("never_deposited", "Never deposited", lambda: Q(first_deposit_at__isnull=True, last_deposit_at__isnull=True),
              (), "Activity"),
    Criterion("never_traded", "Never traded", lambda: Q(last_trade_at__isnull=True), (), "Activity"),
    Criterion("traded_within", "Traded in the last {days} days", lambda days: Q(last_trade_at__gte=_since(days)),
              (_days(),), "Activity"),
    Criterion("dormant_for", "Dormant for {days} days (no activity)", _dormant, (_days(),), "Activity"),
]  # fmt: skip

for _criterion in CLIENT_CRITERIA:
    register_criterion(_criterion)
