from django.contrib.auth.models import Group
from django.db import transaction

from brokerage.audit import audit_log
from brokerage.events import event_publish
from brokerage.models import User
from brokerage.roles import Role
from crm.models import Client


@transaction.atomic
def client_register(*, user: User, first_name: str, last_name: str, country: str = "") -> Client:
    """A person signed up on the portal: give them the client role and a client record."""
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    user.save(update_fields=["first_name", "last_name"])
    user.groups.add(Group.objects.get(name=Role.CLIENT))
    # A lead imported or entered by staff becomes this person's record, history and all.
    client = Client.objects.select_for_update().filter(email=user.email, user=None).first()
    if client is None:
        client = Client(email=user.email, status=Client.Status.REGISTERED)
    client.user, client.first_name, client.last_name = user, user.first_name, user.last_name
    client.country = country.upper()
    if client.status == Client.Status.LEAD:
        client.status = Client.Status.REGISTERED
    client.save()
    event_publish("crm.client.registered", {"client_id": client.pk, "email": client.email})
    return client


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
