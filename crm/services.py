from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.functions import Lower

from brokerage.audit import audit_log
from brokerage.events import event_publish
from brokerage.models import User
from brokerage.roles import Role
from crm.duplicates import client_dedupe_lock, client_duplicates
from crm.links import client_url
from crm.models import Client, TimelineEvent
from crm.timeline import timeline_record

POSSIBLE_DUPLICATE_TAG = "possible-duplicate"


@transaction.atomic
def client_register(*, user: User, first_name: str, last_name: str, country: str = "") -> Client:
    """A person signed up on the portal: give them the client role and a client record."""
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    user.save(update_fields=["first_name", "last_name"])
    user.groups.add(Group.objects.get(name=Role.CLIENT))
    # Waits for a lead import chunk that may be inserting this very email right now.
    client_dedupe_lock()
    # A lead imported or entered by staff becomes this person's record, history and all.
    client = (
        Client.objects.select_for_update()
        .alias(email_lower=Lower("email"))
        .filter(email_lower=user.email.lower(), user=None)
        .first()
    )
    adopted = client is not None and client.status == Client.Status.LEAD
    if client is None:
        client = Client(email=user.email, status=Client.Status.REGISTERED)
    client.user, client.first_name, client.last_name = user, user.first_name, user.last_name
    client.email = user.email
    client.country = country.upper()
    if client.status == Client.Status.LEAD:
        client.status = Client.Status.REGISTERED
        client.lead_stage = Client.LeadStage.CONVERTED
    client.save()
    if adopted:
        timeline_record(
            client_id=client.pk,
            kind="profile",
            topic="crm.lead.converted",
            title="Signed up on the portal: lead converted",
            source=f"lead_converted:{client.pk}",
        )
    if client.sales_agent_id is None:
        # Lazy: crm.assignment imports crm.comms, which reaches allauth's forms and so crm.forms → here.
        from crm.assignment import client_auto_assign

        client_auto_assign(client)
    duplicates_flag(client)
    event_publish("crm.client.registered", {"client_id": client.pk, "email": client.email})
    return client


def possible_duplicates(client: Client) -> list[tuple[Client, str]]:
    """Registered clients who may be this person under another email: the same phone, or the same
    first and last name (any case) in the same country. Leads do not count: they are adopted by email."""
    found: dict[int, tuple[Client, str]] = {}
    registered = Client.objects.exclude(status=Client.Status.LEAD).exclude(pk=client.pk)
    if client.phone:
        for other in client_duplicates(phone=client.phone, exclude_id=client.pk).exclude(status=Client.Status.LEAD)[:5]:
            found[other.pk] = (other, "same phone")
    first, last = client.first_name.strip().lower(), client.last_name.strip().lower()
    if first and last and client.country:
        # The trigram index on search_text narrows 100k clients to a few before the exact comparison.
        same_name = (
            registered.filter(search_text__contains=f"{first} {last}", country=client.country)
            .alias(first_lower=Lower("first_name"), last_lower=Lower("last_name"))
            .filter(first_lower=first, last_lower=last)
            .order_by("pk")[:5]
        )
        for other in same_name:
            found.setdefault(other.pk, (other, "same name and country"))
    return list(found.values())


def duplicates_flag(client: Client) -> list[int]:
    """Tag a new sign-up that may be someone already on file and say so on both timelines.

    Never blocks the sign-up: staff decide whether to merge or close one of them. Returns the ids.
    """
    matches = possible_duplicates(client)
    if not matches:
        return []
    if POSSIBLE_DUPLICATE_TAG not in client.tags:
        client.tags = [*client.tags, POSSIBLE_DUPLICATE_TAG]
        client.save(update_fields=["tags", "updated_at"])
    for other, why in matches:
        timeline_record(
            client_id=client.pk,
            kind="profile",
            topic="crm.client.possible_duplicate",
            title=f"Possible duplicate of client #{other.pk} ({why})",
            url=client_url(other.pk),
            source=f"duplicate:{client.pk}:{other.pk}",
        )
        timeline_record(
            client_id=other.pk,
            kind="profile",
            topic="crm.client.possible_duplicate",
            title=f"Possible duplicate signed up: client #{client.pk} ({why})",
            url=client_url(client.pk),
            source=f"duplicate:{other.pk}:{client.pk}",
        )
    return [other.pk for other, _ in matches]


@transaction.atomic
def client_email_sync(*, user: User) -> None:
    """The person made another address primary: the client record follows, and it is on record."""
    client = Client.objects.select_for_update().filter(user=user).first()
    if client is None or client.email == user.email:
        return
    before = client.email
    client.email = user.email
    client.save(update_fields=["email"])
    audit_log(
        actor=user, action="crm.client.email_changed", obj=client, before={"email": before}, after={"email": user.email}
    )
    timeline_record(
        client_id=client.pk,
        kind=TimelineEvent.Kind.PROFILE,
        topic="crm.client.email_changed",
        title="Email address changed after confirmation",
        detail=f"{before} → {user.email}",
        actor=user,
    )
