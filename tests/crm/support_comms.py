"""Personas of the communication-log tests, in tenant alpha.

Alice owns the broker. Ann works in the back office (sees every client). Sam and Sue are sales
agents: Sam holds Carla, Sue holds Pedro; neither sees the other's client. Olga manages a desk
with Sue on it, so she sees Pedro too. "Ann" is a unique first name; two people are called Tom
(an ambiguous mention).
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass

from allauth.mfa.totp.internal.auth import TOTP
from django.core.mail.backends.base import BaseEmailBackend
from django_tenants.utils import tenant_context

from brokerage.models import User
from crm.models import Client, Desk
from tests import factories


@dataclass
class People:
    alice: User
    ann: User
    sam: User
    sue: User
    olga: User
    tom_one: User
    tom_two: User
    carla: Client
    pedro: Client


def _staff(email: str, first_name: str, last_name: str, role: str) -> User:
    user = factories.UserFactory(email=email, first_name=first_name, last_name=last_name, roles=[role])
    TOTP.activate(user, factories.TOTP_SECRET)
    return user


def make_people(tenant) -> People:
    with tenant_context(tenant):
        alice = _staff("alice@alpha.test", "Alice", "Owner", "owner")
        alice.is_staff = True
        alice.save(update_fields=["is_staff"])
        ann = _staff("ann@alpha.test", "Ann", "Lee", "back_office")
        sam = _staff("sam@alpha.test", "Sam", "Ray", "sales")
        sue = _staff("sue@alpha.test", "Sue", "Kim", "sales")
        olga = _staff("olga@alpha.test", "Olga", "Ivanova", "sales")
        tom_one = _staff("tom.one@alpha.test", "Tom", "One", "support")
        tom_two = _staff("tom.two@alpha.test", "Tom", "Two", "support")
        desk = Desk.objects.create(name="Iberia", manager=olga)
        desk.members.add(sue)
        carla = factories.ClientFactory(
            first_name="Carla", last_name="Diaz", email="carla@example.com", language="es", sales_agent=sam
        )
        pedro = factories.ClientFactory(
            first_name="Pedro", last_name="Gil", email="pedro@example.com", language="pt", sales_agent=sue
        )
    return People(alice, ann, sam, sue, olga, tom_one, tom_two, carla, pedro)


class RefusingBackend(BaseEmailBackend):
    """An SMTP server that hangs up: what a failed send looks like to Django."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
