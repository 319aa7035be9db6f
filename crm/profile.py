"""Staff edits of a client's profile: one service that cleans, checks, audits and puts it on the timeline."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_countries import countries

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.events import event_publish
from brokerage.roles import perm
from crm.models import Client
from crm.models.clients import LANGUAGES
from crm.phones import phone_display, phone_normalize
from crm.timeline import timeline_record

# What a profile edit may change. Agents (crm.assignment), KYC status (kyc), lead stage (crm.leads)
# and the activity columns (crm.activity) have their own writers.
PROFILE_FIELDS = (
    "kind",
    "first_name",
    "last_name",
    "native_name",
    "company_name",
    "date_of_birth",
    "nationality",
    "country",
    "address_line1",
    "address_line2",
    "city",
    "postal_code",
    "phone",
    "email",
    "language",
    "timezone",
    "source",
    "source_detail",
    "tags",
    "status",
)
_TEXT_LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "native_name": 200,
    "company_name": 200,
    "address_line1": 200,
    "address_line2": 200,
    "city": 100,
    "postal_code": 20,
    "source_detail": 100,
}
MINIMUM_AGE = 18
TAG_LENGTH = 40
_LANGUAGE_CODES = {code for code, _ in LANGUAGES}
_TIMEZONES = zoneinfo.available_timezones()


def tags_clean(tags) -> list[str]:
    """ "VIP, vip , High Roller" -> ["vip", "high roller"]: lower-cased, trimmed, de-duplicated in order."""
    if isinstance(tags, str):
        tags = tags.split(",")
    cleaned: list[str] = []
    for tag in tags or ():
        tag = re.sub(r"\s+", " ", str(tag)).strip().lower()
        if not tag:
            continue
        if len(tag) > TAG_LENGTH:
            raise ApplicationError(
                "A tag is too long.", fields={"tags": [f'"{tag[:20]}…" is longer than {TAG_LENGTH} characters.']}
            )
        if tag not in cleaned:
            cleaned.append(tag)
    return cleaned


def _country(value: str, field: str) -> str:
    code = (value or "").strip().upper()
    if code and not countries.alpha2(code):
        raise ApplicationError("Unknown country.", fields={field: [f'"{value}" is not an ISO country code.']})
    return code


def _birth_date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise ApplicationError(
                "The date of birth cannot be read.", fields={"date_of_birth": ["Write it as YYYY-MM-DD."]}
            ) from None
    today = timezone.localdate()
    if value >= today:
        raise ApplicationError(
            "The date of birth is not in the past.", fields={"date_of_birth": ["Must be in the past."]}
        )
    age = today.year - value.year - ((today.month, today.day) < (value.month, value.day))
    if age < MINIMUM_AGE:
        raise ApplicationError(
            f"Clients must be at least {MINIMUM_AGE}.",
            fields={"date_of_birth": [f"You must be at least {MINIMUM_AGE} to open an account."]},
        )
    return value


def _cleaned(client: Client, changes: dict[str, Any]) -> dict[str, Any]:
    """Every proposed value in its stored form; raises on the first field that cannot be one."""
    unknown = sorted(set(changes) - set(PROFILE_FIELDS) - {"status_reason"})
    if unknown:
        raise ApplicationError(f"These cannot be changed on the profile: {', '.join(unknown)}.")
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}

    def check(field: str, clean) -> None:
        if field not in changes:
            return
        try:
            values[field] = clean(changes[field])
        except ApplicationError as error:
            for name, messages in (error.fields or {field: [error.message]}).items():
                errors.setdefault(name, []).extend(messages)

    for field, limit in _TEXT_LIMITS.items():

        def text(value, field=field, limit=limit):
            value = re.sub(r"\s+", " ", str(value or "")).strip()
            if len(value) > limit:
                raise ApplicationError("Too long.", fields={field: [f"At most {limit} characters."]})
            return value

        check(field, text)

    def kind(value):
        if value not in Client.Kind.values:
            raise ApplicationError("Unknown kind.", fields={"kind": ["Person or company."]})
        return value

    def email(value):
        value = (value or "").strip()
        if value:
            try:
                validate_email(value)
            except ValidationError:
                raise ApplicationError(
                    "Not an email address.", fields={"email": ["Not a valid email address."]}
                ) from None
        if value.lower() != client.email.lower() and client.user_id is not None:
            raise ApplicationError(
                "This client signs in with their email address.",
                fields={"email": ["They change it in the portal, where the new address is verified."]},
            )
        if value and Client.objects.filter(email__iexact=value).exclude(pk=client.pk).exists():
            raise ApplicationError("Email already in use.", fields={"email": ["Another client has this address."]})
        return value

    def language(value):
        if value not in _LANGUAGE_CODES:
            raise ApplicationError("Unknown language.", fields={"language": ["Choose one of the listed languages."]})
        return value

    def time_zone(value):
        value = (value or "").strip()
        if value not in _TIMEZONES:
            raise ApplicationError("Unknown time zone.", fields={"timezone": [f'"{value}" is not a time zone name.']})
        return value

    def source(value):
        if value not in Client.Source.values:
            raise ApplicationError("Unknown source.", fields={"source": ["Choose one of the listed sources."]})
        return value

    def status(value):
        if value == client.status:
            return value
        if value != Client.Status.CLOSED:
            raise ApplicationError(
                "Only closing is done here.",
                fields={"status": ["Other statuses follow the client's deposits, trading and KYC."]},
            )
        if not str(changes.get("status_reason", "")).strip():
            raise ApplicationError("Say why the account is closed.", fields={"status_reason": ["Required."]})
        return value

    check("kind", kind)
    check("email", email)
    check("nationality", lambda value: _country(value, "nationality"))
    check("country", lambda value: _country(value, "country"))
    check("date_of_birth", _birth_date)
    check("language", language)
    check("timezone", time_zone)
    check("source", source)
    check("tags", tags_clean)
    check("status", status)
    # The number is read in the country the client lives in (after this change).
    country = values.get("country", client.country)
    check("phone", lambda value: phone_normalize(value, country=country))

    kind_after = values.get("kind", client.kind)
    first = values.get("first_name", client.first_name)
    last = values.get("last_name", client.last_name)
    company = values.get("company_name", client.company_name)
    if kind_after == Client.Kind.PERSON:
        for field, value in (("first_name", first), ("last_name", last)):
            if not value and field not in errors:
                errors[field] = ["Required for a person."]
    elif not company and "company_name" not in errors:
        errors["company_name"] = ["Required for a company."]
    if errors:
        raise ApplicationError("Some fields need fixing.", fields=errors)
    return values


def _shown(field: str, value) -> str:
    if value in (None, "", []):
        return "—"
    if field == "phone":
        return phone_display(value)
    if field == "tags":
        return ", ".join(value)
    if field == "language":
        return dict(LANGUAGES).get(value, value)
    return str(value)


def changes_described(before: dict, after: dict) -> tuple[dict[str, str], list[str]]:
    """The fields' labels and one "Label: old → new" line per changed field, for the timeline: the
    same words whether staff or the client made the change."""
    labels = {field: str(Client._meta.get_field(field).verbose_name) for field in after}
    lines = [
        f"{labels[field].capitalize()}: {_shown(field, before[field])} → {_shown(field, after[field])}"
        for field in after
    ]
    return labels, lines


@transaction.atomic
def client_update(*, actor, client: Client, changes: dict[str, Any]) -> Client:
    """Change profile fields of `client`; only fields whose value really changes are written.

    Raises ApplicationError (with a field map) and changes nothing when any value is refused.
    Closing (status "closed") needs `changes["status_reason"]` and staff rights.
    """
    client = Client.objects.select_for_update().get(pk=client.pk)
    values = _cleaned(client, changes)
    changed = {
        field: values[field] for field in PROFILE_FIELDS if field in values and getattr(client, field) != values[field]
    }
    if not changed:
        return client
    if changed.get("status") == Client.Status.CLOSED and not getattr(actor, "has_perm", lambda _: False)(
        perm("crm_change_client")
    ):
        raise ApplicationError("Only staff close an account.", fields={"status": ["Not allowed."]})
    before = {field: getattr(client, field) for field in changed}
    for field, value in changed.items():
        setattr(client, field, value)
    update_fields = [*changed, "updated_at"]
    if "phone" in changed:
        client.phone_verified_at = None
        update_fields.append("phone_verified_at")
    try:
        with transaction.atomic():
            client.save(update_fields=update_fields)
    except IntegrityError:
        # Two edits raced to the same address: the unique index refused the second.
        raise ApplicationError(
            "Email already in use.", fields={"email": ["Another client has this address."]}
        ) from None
    event_publish("crm.client.updated", {"client_id": client.pk, "fields": sorted(changed)})
    reason = str(changes.get("status_reason", "")).strip()[:300] if "status" in changed else ""
    audit_log(
        actor=actor,
        action="crm.client.updated",
        obj=client,
        before=before,
        after={**changed, **({"status_reason": reason} if reason else {})},
    )
    labels, lines = changes_described(before, changed)
    if reason:
        lines.append(f"Reason for closing: {reason}")
    names = [labels[field] for field in changed if field != "status"]
    if "status" in changed:
        title = "Account closed" + (f"; also changed: {', '.join(names)}" if names else "")
    else:
        title = f"Profile changed: {', '.join(names)}"
    timeline_record(
        client_id=client.pk,
        kind="profile",
        topic="crm.client.closed" if "status" in changed else "crm.client.updated",
        title=title,
        detail="\n".join(lines),
        actor=actor,
    )
    return client
