"""Leads: people the broker may win, entered by staff or imported, moved along the pipeline.

A lead is a `Client` with status `lead`. It stays the same record when the person signs up with
its email (`crm.services.client_register` adopts it and marks it converted), so notes, tasks and
the timeline follow them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django_countries import countries

from brokerage.audit import audit_log, snapshot
from brokerage.errors import ApplicationError
from brokerage.roles import perm
from crm.assignment import client_auto_assign
from crm.duplicates import client_dedupe_lock, client_duplicates, duplicate_field
from crm.links import person_label
from crm.models import Client
from crm.models.clients import LANGUAGES
from crm.phones import phone_normalize
from crm.profile import tags_clean
from crm.timeline import timeline_record
from crm.visibility import can_change, clients_visible_to

Stage = Client.LeadStage
OPEN_STAGES = (Stage.NEW, Stage.CONTACTED, Stage.QUALIFIED, Stage.NEGOTIATION)
# Open stages move freely (sales is not linear); a lost lead can be reopened; converted is final.
STAGE_TRANSITIONS: dict[str, frozenset[str]] = {
    **{stage: frozenset(set(Stage.values) - {stage}) for stage in OPEN_STAGES},
    Stage.LOST: frozenset(OPEN_STAGES),
    Stage.CONVERTED: frozenset(),
}
MAX_TAGS = 20
HELD_ELSEWHERE = "This person is already on file (held by another agent)."
LEAD_FIELDS = (
    "first_name",
    "last_name",
    "company_name",
    "email",
    "phone",
    "country",
    "language",
    "source",
    "source_detail",
    "tags",
)


def country_parse(text: str) -> str | None:
    """ISO code ("de", "DEU") or English name ("Germany") -> "DE"; "" for blank; None if unknown."""
    text = (text or "").strip()
    if not text:
        return ""
    return countries.alpha2(text) or countries.by_name(text) or None


def language_parse(text: str) -> str | None:
    text = (text or "").strip().lower()
    if not text:
        return ""
    for code, label in LANGUAGES:
        if text in (code, label.lower()):
            return code
    return None


def source_parse(text: str) -> str | None:
    text = (text or "").strip().lower()
    if not text:
        return ""
    for value, label in Client.Source.choices:
        if text in (value, label.lower()):
            return value
    return None


def name_split(full_name: str) -> tuple[str, str]:
    """ "Ana María López" -> ("Ana María", "López"): the last word is taken as the family name."""
    words = (full_name or "").split()
    if len(words) < 2:
        return (words[0] if words else ""), ""
    return " ".join(words[:-1]), words[-1]


def lead_values_clean(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check and normalise a lead's fields; returns (values, problems by field).

    Shared by the "New lead" form and the CSV import, so both accept and refuse the same things.
    """
    problems: dict[str, list[str]] = {}

    def problem(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    first_name = str(data.get("first_name") or "").strip()
    last_name = str(data.get("last_name") or "").strip()
    if not (first_name or last_name) and data.get("name"):
        first_name, last_name = name_split(str(data["name"]))
    company_name = str(data.get("company_name") or "").strip()[:200]
    if not (first_name or last_name or company_name):
        problem("first_name", "A name is needed.")
    if len(first_name) > 100 or len(last_name) > 100:
        problem("first_name", "The name is longer than 100 characters.")

    country = country_parse(str(data.get("country") or ""))
    if country is None:
        problem("country", f"Unknown country “{str(data.get('country')).strip()}”: use an ISO code such as DE.")
        country = ""

    email = str(data.get("email") or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problem("email", f"“{email}” is not a valid email address.")
        if len(email) > 254:
            problem("email", "The email address is longer than 254 characters.")

    phone = ""
    raw_phone = str(data.get("phone") or "").strip()
    if raw_phone:
        try:
            phone = phone_normalize(raw_phone, country=country)
        except ApplicationError as error:
            detail = " ".join(error.fields.get("phone", [])) or error.message
            problem("phone", f"“{raw_phone}”: {detail}")
    if not email and not raw_phone:
        problem("email", "An email address or a phone number is needed.")

    language = language_parse(str(data.get("language") or ""))
    if language is None:
        problem("language", f"Unknown language “{str(data.get('language')).strip()}”.")

    source = source_parse(str(data.get("source") or ""))
    if source is None:
        problem("source", f"Unknown source “{str(data.get('source')).strip()}”.")

    try:
        tags = tags_clean(data.get("tags"))
    except ApplicationError as error:
        tags = []
        for message in error.fields.get("tags", [error.message]):
            problem("tags", message)
    if len(tags) > MAX_TAGS:
        problem("tags", f"At most {MAX_TAGS} tags.")

    source_detail = str(data.get("source_detail") or "").strip()
    if len(source_detail) > 100:
        problem("source_detail", "The source detail is longer than 100 characters.")

    values = {
        "first_name": first_name[:100],
        "last_name": last_name[:100],
        "company_name": company_name,
        "kind": Client.Kind.COMPANY if company_name and not (first_name or last_name) else Client.Kind.PERSON,
        "email": email,
        "phone": phone,
        "country": country,
        "language": language or "en",
        "source": source or Client.Source.MANUAL,
        "source_detail": source_detail[:100],
        "tags": tags,
    }
    return values, problems


class DuplicateLead(ApplicationError):
    """Refused: the person is on file as `existing`; `visible` says whether the actor may see (and open) it."""

    def __init__(self, message: str, *, fields, existing: Client, field: str, visible: bool):
        super().__init__(message, fields=fields, code="duplicate")
        self.existing, self.field, self.visible = existing, field, visible


def duplicate_message(client: Client, field: str, actor) -> str:
    """Names the client on file only to someone who may see them; anyone else learns only that it exists."""
    if not clients_visible_to(actor, Client.objects.filter(pk=client.pk)).exists():
        return HELD_ELSEWHERE
    return f"The same {field} as client #{client.pk} ({client})."


@transaction.atomic
def lead_create(*, actor, data: dict[str, Any]) -> Client:
    """A lead entered by staff: validated, refused if already on file, on the timeline, then assigned.

    A sales agent (who sees only their own clients) becomes the lead's agent, or they could not see
    what they just entered; otherwise the assignment rules choose.
    """
    if not actor.has_perm(perm("crm_change_client")):
        raise PermissionDenied
    values, problems = lead_values_clean(data)
    if problems:
        raise ApplicationError("The lead cannot be saved as entered.", fields=problems)
    client_dedupe_lock()
    existing = client_duplicates(email=values["email"], phone=values["phone"]).first()
    if existing is not None:
        field = duplicate_field(existing, email=values["email"], phone=values["phone"])
        message = duplicate_message(existing, field, actor)
        visible = message != HELD_ELSEWHERE
        raise DuplicateLead(
            f"This person is already on file as client #{existing.pk}." if visible else HELD_ELSEWHERE,
            fields={field: [message]},
            existing=existing,
            field=field,
            visible=visible,
        )
    client = Client(status=Client.Status.LEAD, lead_stage=Stage.NEW, **values)
    if not actor.has_perm(perm("crm_view_all_clients")):
        client.sales_agent = actor
    try:
        with transaction.atomic():
            client.save()
    except IntegrityError:  # the email index: someone signed up with it a moment ago
        raise ApplicationError(
            "This email address is already on file.",
            fields={"email": ["Another client has this email address."]},
            code="duplicate",
        ) from None
    audit_log(actor=actor, action="crm.lead.created", obj=client, after=snapshot(client, list(LEAD_FIELDS)))
    timeline_record(
        client_id=client.pk,
        kind="profile",
        topic="crm.lead.created",
        title=f"Lead created by {person_label(actor)}",
        detail=client.source_detail,
        actor=actor,
        source=f"lead_created:{client.pk}",
    )
    if client.sales_agent_id is None:
        client_auto_assign(client)
    return client


@transaction.atomic
def lead_stage_set(*, actor, client: Client, stage: str, reason: str = "") -> Client:
    """Move a lead along the pipeline; `lost` needs the reason, which goes on the timeline.

    `converted` also makes the lead a client: status lead → registered.
    """
    if not can_change(actor, client):
        raise PermissionDenied
    reason = (reason or "").strip()
    if stage not in Stage.values:
        raise ApplicationError("Unknown stage.", fields={"stage": [f"“{stage}” is not a pipeline stage."]})
    if stage == Stage.LOST and not reason:
        raise ApplicationError("Say why the lead was lost.", fields={"reason": ["A reason is needed for lost."]})
    current = Client.objects.select_for_update().get(pk=client.pk)
    if current.status != Client.Status.LEAD:
        raise ApplicationError(f"{current} is a client now ({current.get_status_display()}), not a lead.")
    if stage == current.lead_stage:
        return current
    if stage not in STAGE_TRANSITIONS[current.lead_stage]:
        raise ApplicationError(
            f"A {current.get_lead_stage_display().lower()} lead cannot move to {Stage(stage).label.lower()}.",
            fields={"stage": ["Not allowed from the current stage."]},
        )
    before = current.lead_stage
    current.lead_stage = stage
    fields = ["lead_stage", "updated_at"]
    title = f"Lead stage: {Stage(before).label} → {Stage(stage).label}"
    if stage == Stage.CONVERTED:
        # Converted means won: the lead is a client now, as when a lead signs up on the portal.
        current.status = Client.Status.REGISTERED
        fields.append("status")
        title += "; status: Lead → Registered"
    current.save(update_fields=fields)
    audit_log(
        actor=actor,
        action="crm.lead.stage_changed",
        obj=current,
        before={"lead_stage": before, "status": Client.Status.LEAD},
        after={"lead_stage": stage, "status": current.status, "reason": reason},
    )
    timeline_record(
        client_id=current.pk,
        kind="profile",
        topic="crm.lead.stage_changed",
        title=title,
        detail=reason,
        actor=actor,
    )
    client.lead_stage, client.status = stage, current.status
    return current
