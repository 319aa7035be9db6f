"""Factories for the current schema: call them inside the tenant's context."""

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group

from brokerage.models import User
from brokerage.roles import opens_admin_site
from crm.models import Client

PASSWORD = "correct-horse-battery"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))

    @factory.post_generation
    def verified_email(self, create, extracted, **kwargs):
        EmailAddress.objects.get_or_create(user=self, email=self.email, defaults={"verified": True, "primary": True})


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"client{n}@example.test")
    country = "GB"


def staff_user(email: str, *, roles: list[str], mfa: bool = True) -> User:
    user = UserFactory(email=email, roles=roles, is_staff=opens_admin_site(roles))
    if mfa:
        TOTP.activate(user, TOTP_SECRET)
    return user


def kyc_approved(client: Client) -> Client:
    """The client's KYC file approved: the top verification level, so deposits and withdrawals are open.

    For tests about money, not about onboarding (those go through kyc.workflow).
    """
    client.kyc_status = Client.KycStatus.APPROVED
    client.save(update_fields=["kyc_status"])
    return client


def client_user(email: str) -> User:
    user = UserFactory(email=email, roles=["client"])
    ClientFactory(user=user, email=email, first_name=user.first_name, last_name=user.last_name)
    return user


def partner_user(email: str) -> User:
    return UserFactory(email=email, roles=["partner"])
