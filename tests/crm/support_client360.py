"""Personas of the client list and 360 tests, in tenant alpha.

Bea (back office) sees every client. Sam and Sue are sales agents; Dan manages the desk Sam is on.
Sam holds Ada; Sue holds Zoe; nobody holds Neil. Sam must never see Zoe or Neil; Dan sees Ada (his
desk) but not Zoe; Bea sees all three.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from brokerage.models import OutboxEvent
from crm.models import Client, Desk
from tests import factories


@dataclass
class People:
    bea: object
    sam: object
    sue: object
    dan: object
    ada: Client
    zoe: Client
    neil: Client


def crm_people() -> People:
    """Call inside alpha's schema."""
    bea = factories.staff_user("bea@alpha.test", roles=["back_office"])
    sam = factories.staff_user("sam@alpha.test", roles=["sales"])
    sue = factories.staff_user("sue@alpha.test", roles=["sales"])
    dan = factories.staff_user("dan@alpha.test", roles=["sales"])
    desk = Desk.objects.create(name="London", manager=dan)
    desk.members.add(sam)
    ada = factories.ClientFactory(
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.test",
        phone="+447911123456",
        country="GB",
        sales_agent=sam,
        tags=["vip"],
        status=Client.Status.FUNDED,
        kyc_status=Client.KycStatus.APPROVED,
    )
    zoe = factories.ClientFactory(
        first_name="Zoe",
        last_name="Zimmer",
        email="zoe@example.test",
        country="DE",
        sales_agent=sue,
        source=Client.Source.CAMPAIGN,
        status=Client.Status.LEAD,
        lead_stage=Client.LeadStage.CONTACTED,
    )
    neil = factories.ClientFactory(
        first_name="Neil",
        last_name="Nobody",
        email="neil@example.test",
        country="FR",
        status=Client.Status.REGISTERED,
    )
    return People(bea=bea, sam=sam, sue=sue, dan=dan, ada=ada, zoe=zoe, neil=neil)


def outbox_event(topic: str, payload: dict, *, at=None) -> OutboxEvent:
    """An event as the outbox holds it, for calling a handler directly (as a redelivery would)."""
    event = OutboxEvent.objects.create(topic=topic, payload=payload)
    if at is not None:
        OutboxEvent.objects.filter(pk=event.pk).update(created_at=at)
        event.refresh_from_db()
    return event


def now():
    return timezone.now()
