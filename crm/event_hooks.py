"""The CRM's own timeline hooks; registered on import by crm.apps."""

from brokerage.events import subscribe
from crm.links import client_url
from crm.models import Client
from crm.timeline import timeline_record


@subscribe("crm.client.registered")
def client_registered(event) -> None:
    client_id = event.payload["client_id"]
    if not Client.objects.filter(pk=client_id).exists():
        return
    email = event.payload.get("email", "")
    timeline_record(
        client_id=client_id,
        kind="profile",
        topic=event.topic,
        title="Signed up on the client portal" + (f" as {email}" if email else ""),
        url=client_url(client_id),
        occurred_at=event.created_at,
        source=f"outbox:{event.pk}",
    )
