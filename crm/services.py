from django.contrib.auth.models import Group
from django.db import transaction

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
    client = Client.objects.create(
        user=user, first_name=user.first_name, last_name=user.last_name, email=user.email, country=country.upper()
    )
    event_publish("crm.client.registered", {"client_id": client.pk, "email": client.email})
    return client
