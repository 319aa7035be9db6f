"""What a client changes about themselves on the portal: contact details, language, phone, email.

Names, date of birth and nationality are KYC facts and stay with staff. A new phone number
replaces the old one only after the client types the code we texted to it; a new email address
only after they follow the link allauth mails to it (see `email_change_start`).

Pending phone changes live in the cache (Redis, tenant-aware keys), one per client:
the code is stored as an HMAC, expires after CODE_TTL, allows MAX_ATTEMPTS wrong tries and
may be re-sent after RESEND_AFTER, at most MAX_SENDS_PER_HOUR times an hour.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache as memoize
from pathlib import Path

from allauth.account.forms import AddEmailForm
from allauth.account.internal import flows
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from crm import sms
from crm.models import Client, TimelineEvent
from crm.models.clients import LANGUAGES
from crm.phones import phone_display, phone_normalize
from crm.profile import changes_described
from crm.timeline import timeline_record

CODE_TTL = timedelta(minutes=10)
RESEND_AFTER = timedelta(seconds=60)
MAX_ATTEMPTS = 5
MAX_SENDS_PER_HOUR = 5

CONTACT_FIELDS = ["address_line1", "address_line2", "city", "postal_code", "language", "timezone"]
TIMEZONE_REGIONS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")


def _zone_tab_names() -> set[str] | None:
    """The canonical zones of the tz database's zone.tab (one line per zone in use, no
    backward-compatibility links such as Africa/Asmera or America/Atka), or None where it is absent."""
    for folder in zoneinfo.TZPATH:
        try:
            with open(Path(folder) / "zone.tab", encoding="utf-8") as tab:
                return {line.split("\t")[2].strip() for line in tab if line.strip() and not line.startswith("#")}
        except (OSError, IndexError):
            continue
    return None


@memoize
def timezone_choices() -> list[str]:
    """The time zones a client may pick: UTC and the canonical zones of the regions people live in."""
    available = zoneinfo.available_timezones()
    canonical = _zone_tab_names()
    if canonical is not None:
        available &= canonical
    names = {name for name in available if name.split("/", 1)[0] in TIMEZONE_REGIONS}
    return ["UTC", *sorted(names)]


def timezone_groups() -> list:
    """timezone_choices() as form choices: UTC, then one group per region,
    ("Europe", [("Europe/Isle_of_Man", "Isle of Man"), …])."""
    choices: list = []
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in timezone_choices():
        region, _, place = name.partition("/")
        if not place:
            choices.append((name, name))
        else:
            groups.setdefault(region, []).append((name, place.replace("_", " ").replace("/", " / ")))
    return choices + list(groups.items())


# Contact details and preferences ------------------------------------------------------------------


@transaction.atomic
def client_contact_update(*, actor, client: Client, changes: dict) -> Client:
    """The client's own edit of address, language and time zone; only the fields that changed are recorded."""
    unknown = set(changes) - set(CONTACT_FIELDS)
    if unknown:
        raise ApplicationError(
            "Only address, language and time zone can be changed here.",
            fields={name: ["Contact support to change this."] for name in sorted(unknown)},
        )
    errors: dict[str, list[str]] = {}
    if "language" in changes and changes["language"] not in dict(LANGUAGES):
        errors["language"] = ["Choose one of the listed languages."]
    # A zone set by staff or before the list was trimmed (an old alias) may stay as it is.
    if "timezone" in changes and changes["timezone"] not in (*timezone_choices(), client.timezone):
        errors["timezone"] = ["Choose a time zone from the list."]
    if errors:
        raise ApplicationError("Some details need fixing.", fields=errors)

    client = Client.objects.select_for_update().get(pk=client.pk)
    cleaned = {name: (value.strip() if isinstance(value, str) else value) for name, value in changes.items()}
    before = {name: getattr(client, name) for name in cleaned if getattr(client, name) != cleaned[name]}
    if not before:
        return client
    after = {name: cleaned[name] for name in before}
    for name, value in after.items():
        setattr(client, name, value)
    client.save(update_fields=[*after, "updated_at"])
    audit_log(actor=actor, action="crm.client.contact_updated", obj=client, before=before, after=after)
    labels, lines = changes_described(before, after)
    timeline_record(
        client_id=client.pk,
        kind=TimelineEvent.Kind.PROFILE,
        topic="crm.client.contact_updated",
        title=f"Profile changed by the client on the portal: {', '.join(labels[name] for name in after)}",
        detail="\n".join(lines),
        actor=actor,
    )
    return client


# Phone, verified by a texted code --------------------------------------------------------------


@dataclass(frozen=True)
class PendingPhone:
    phone: str
    expires_at: datetime
    resend_at: datetime
    attempts_left: int

    @property
    def display(self) -> str:
        return phone_display(self.phone)

    @property
    def is_locked(self) -> bool:
        return self.attempts_left <= 0

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at

    @property
    def resend_in_seconds(self) -> int:
        return max(0, int((self.resend_at - timezone.now()).total_seconds() + 0.999))


def _key(client: Client, part: str) -> str:
    return f"crm:phone_change:{client.pk}:{part}"


def _code_hash(client: Client, phone: str, code: str) -> str:
    message = f"{client.pk}:{phone}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def phone_change_pending(client: Client) -> PendingPhone | None:
    state = cache.get(_key(client, "state"))
    if not state:
        return None
    attempts = cache.get(_key(client, "attempts")) or 0
    return PendingPhone(
        phone=state["phone"],
        expires_at=datetime.fromisoformat(state["expires_at"]),
        resend_at=datetime.fromisoformat(state["sent_at"]) + RESEND_AFTER,
        attempts_left=max(0, MAX_ATTEMPTS - attempts),
    )


def _send_code(client: Client, phone: str) -> PendingPhone:
    """A fresh code for `phone`, within the resend limits; the previous code stops working."""
    # One sender at a time per client: `add` is atomic in Redis, so two quick clicks send one text.
    if not cache.add(_key(client, "cooldown"), 1, int(RESEND_AFTER.total_seconds())):
        pending = phone_change_pending(client)
        wait = pending.resend_in_seconds if pending else int(RESEND_AFTER.total_seconds())
        raise ApplicationError(
            f"We just sent a code. You can ask for another in {max(wait, 1)} seconds.",
            fields={"phone": ["Please wait before asking for another code."]},
            code="rate_limited",
        )
    cache.add(_key(client, "sends"), 0, 3600)
    try:
        sends = cache.incr(_key(client, "sends"))
    except ValueError:  # expired between add and incr
        cache.set(_key(client, "sends"), 1, 3600)
        sends = 1
    if sends > MAX_SENDS_PER_HOUR:
        raise ApplicationError(
            "We have sent you several codes in the last hour. Please try again later.",
            fields={"phone": ["Too many codes requested."]},
            code="rate_limited",
        )
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = timezone.now()
    ttl = int(CODE_TTL.total_seconds())
    state = {
        "phone": phone,
        "code_hash": _code_hash(client, phone, code),
        "sent_at": now.isoformat(),
        "expires_at": (now + CODE_TTL).isoformat(),
    }
    cache.set(_key(client, "state"), state, ttl + 300)  # kept a little past expiry to say "expired"
    cache.set(_key(client, "attempts"), 0, ttl + 300)
    sms.sms_send(to=phone, body=f"Your verification code is {code}. It expires in 10 minutes.")
    return phone_change_pending(client)


def phone_change_start(*, client: Client, phone: str) -> PendingPhone:
    """Text a code to the new number; the current number stays until the code comes back."""
    number = phone_normalize(phone, country=client.country)
    if not number:
        raise ApplicationError("Enter your new phone number.", fields={"phone": ["This field is required."]})
    if number == client.phone:
        raise ApplicationError("That is already your phone number.", fields={"phone": ["This is your current number."]})
    return _send_code(client, number)


def phone_change_resend(*, client: Client) -> PendingPhone:
    pending = phone_change_pending(client)
    if pending is None:
        raise ApplicationError("There is no phone change waiting. Enter the new number again.", code="not_pending")
    return _send_code(client, pending.phone)


def phone_change_cancel(*, client: Client) -> None:
    cache.delete_many([_key(client, "state"), _key(client, "attempts")])


def phone_change_confirm(*, actor, client: Client, code: str) -> Client:
    """The texted code came back: the new number becomes the client's, verified now."""
    state = cache.get(_key(client, "state"))
    if not state:
        raise ApplicationError("There is no phone change waiting. Enter the new number again.", code="not_pending")
    if timezone.now() >= datetime.fromisoformat(state["expires_at"]):
        raise ApplicationError(
            "This code has expired. Ask for a new one.", fields={"code": ["The code has expired."]}, code="expired"
        )
    # Count the try before checking it, atomically, so parallel guesses cannot exceed the limit.
    try:
        attempt = cache.incr(_key(client, "attempts"))
    except ValueError:
        cache.set(_key(client, "attempts"), 1, int(CODE_TTL.total_seconds()) + 300)
        attempt = 1
    if attempt > MAX_ATTEMPTS:
        raise ApplicationError(
            "Too many wrong codes: this code no longer works. Ask for a new one.",
            fields={"code": ["Too many wrong codes."]},
            code="locked",
        )
    code = "".join((code or "").split())
    if not hmac.compare_digest(state["code_hash"], _code_hash(client, state["phone"], code)):
        left = MAX_ATTEMPTS - attempt
        message = (
            f"That code is not right. {left} {'try' if left == 1 else 'tries'} left."
            if left
            else ("That code is not right, and it was the last try. Ask for a new code.")
        )
        raise ApplicationError(message, fields={"code": ["Wrong code."]}, code="wrong_code")

    # Consume the pending change before writing: of two requests racing with the right code, one wins.
    if not cache.delete(_key(client, "state")):
        raise ApplicationError("There is no phone change waiting. Enter the new number again.", code="not_pending")
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client.pk)
        before = client.phone
        client.phone = state["phone"]
        client.phone_verified_at = timezone.now()
        client.save(update_fields=["phone", "phone_verified_at", "updated_at"])
        audit_log(
            actor=actor,
            action="crm.client.phone_changed",
            obj=client,
            before={"phone": before},
            after={"phone": client.phone},
        )
        timeline_record(
            client_id=client.pk,
            kind=TimelineEvent.Kind.PROFILE,
            topic="crm.client.phone_changed",
            title="Client changed their phone number (verified by SMS code)",
            detail=f"{phone_display(before) or '—'} → {phone_display(client.phone)}",
            actor=actor,
        )
    phone_change_cancel(client=client)
    return client


# Email, through allauth's confirmation link ------------------------------------------------------


def email_pending(user) -> list[EmailAddress]:
    """Addresses the person added but that are not (yet) their sign-in and contact address."""
    return list(EmailAddress.objects.filter(user=user, primary=False).order_by("-id"))


def email_change_start(*, request, client: Client, email: str) -> EmailAddress:
    """Add the address to the person's allauth account and mail a confirmation link to it.

    Client.email follows only when the address becomes the primary one (crm.services.client_email_sync):
    with ACCOUNT_CHANGE_EMAIL, as soon as the link is followed; without it, when the person then
    chooses "Use this address" (`email_change_use`). May raise allauth's ReauthenticationRequired.
    """
    form = AddEmailForm(user=request.user, data={"email": email})
    if not form.is_valid():
        messages = [str(message) for message in form.errors.get("email", [])] or ["Enter a valid email address."]
        raise ApplicationError("That email address cannot be used.", fields={"email": messages})
    address = form.cleaned_data["email"]
    # Another client record (a lead, say) already holds it: the change would collide with it.
    if Client.objects.filter(email__iexact=address).exclude(pk=client.pk).exists():
        raise ApplicationError(
            "That email address cannot be used. Contact support if it is yours.",
            fields={"email": ["This address cannot be used."]},
        )
    flows.manage_email.add_email(request, form)
    timeline_record(
        client_id=client.pk,
        kind=TimelineEvent.Kind.PROFILE,
        topic="crm.client.email_change_requested",
        title="Client asked to change their email; a confirmation link was sent to the new address",
        detail=f"{client.email or '—'} → {address} (not yet confirmed)",
        actor=request.user,
    )
    return EmailAddress.objects.get(user=request.user, email__iexact=address)


def email_change_resend(*, request, address: EmailAddress) -> None:
    if address.verified:
        raise ApplicationError("That address is already confirmed.")
    flows.email_verification.send_verification_email_to_address(request, address)


def email_change_cancel(*, request, address: EmailAddress) -> None:
    flows.manage_email.delete_email(request, address)


def email_change_use(*, request, address: EmailAddress) -> bool:
    """A confirmed address becomes primary; allauth's email_changed signal moves Client.email."""
    if not address.verified:
        raise ApplicationError("Follow the link we emailed to that address first.", code="not_confirmed")
    return flows.manage_email.mark_as_primary(request, address)
