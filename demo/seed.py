"""Demo data: the platform, two sub-brokers, a user for every role and a set of clients.

Idempotent: running it again finds what exists and adds only what is missing.
Later modules add their own demo data here.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from decimal import Decimal

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django_tenants.utils import schema_context, tenant_context

from brokerage.models import User
from brokerage.roles import STAFF_ROLES, Role, opens_admin_site
from brokerage.staff import roles_sync
from crm.models import Client
from tenants.models import Tenant
from tenants.services import platform_ensure, tenant_provision

DEMO_PASSWORD = "demo-pass-2026"
# Every demo staff account shares this TOTP secret so a newcomer can add it to an
# authenticator app once, or read the current code with `manage.py demo_otp`.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
OPERATOR_EMAIL = "operator@platform.test"


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    domain: str
    currency: str
    jurisdiction: str
    colour: str
    countries: tuple[str, ...]


DEMO_TENANTS = (
    DemoTenant("atlas", "Atlas Markets", "atlas.localhost", "USD", "CySEC", "#0b7285", ("CY", "GR", "DE", "PL", "ZA")),
    DemoTenant(
        "borealis", "Borealis FX", "borealis.localhost", "EUR", "FCA", "#7048e8", ("GB", "IE", "NO", "SE", "FI")
    ),
)

FIRST_NAMES = [
    "Anna",
    "Ben",
    "Chloe",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Luca",
    "Maya",
    "Nikos",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Yara",
]
LAST_NAMES = [
    "Andersen",
    "Brown",
    "Costa",
    "Dimitriou",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Rossi",
    "Schmidt",
]
CLIENT_STATUSES = (
    [Client.Status.REGISTERED] * 5
    + [Client.Status.VERIFIED] * 3
    + [Client.Status.FUNDED] * 2
    + [Client.Status.ACTIVE] * 4
    + [Client.Status.DORMANT, Client.Status.LEAD]
)


def _user(email: str, *, first_name: str, last_name: str, roles: list[str], staff_mfa: bool) -> User:
    user, created = User.objects.get_or_create(email=email, defaults={"first_name": first_name, "last_name": last_name})
    if created or not user.has_usable_password():
        user.set_password(DEMO_PASSWORD)
    if not user.first_name:  # e.g. the owner created by provisioning, who has only an email
        user.first_name, user.last_name = first_name, last_name
    user.is_staff = opens_admin_site(roles) or user.is_superuser
    user.save()
    user.groups.add(*Group.objects.filter(name__in=roles))
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    if staff_mfa and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, DEMO_TOTP_SECRET)
    return user


def seed_platform() -> Tenant:
    public = platform_ensure(domain=settings.PLATFORM_DOMAIN)
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        operator = _user(OPERATOR_EMAIL, first_name="Olivia", last_name="Operator", roles=[], staff_mfa=True)
        if not operator.is_superuser:
            operator.is_staff = operator.is_superuser = True
            operator.save()
    return public


def seed_tenant(spec: DemoTenant, *, clients: int = 24) -> Tenant:
    tenant = Tenant.objects.filter(slug=spec.slug).first()
    if tenant is None:
        tenant = tenant_provision(
            name=spec.name,
            slug=spec.slug,
            domain=spec.domain,
            admin_email=f"owner@{spec.slug}.test",
            base_currency=spec.currency,
            jurisdiction=spec.jurisdiction,
        )
    # Branding is (re)set on every run, so the demo always looks as documented.
    tenant.primary_colour = spec.colour
    tenant.support_email = f"help@{spec.slug}.test"
    tenant.save(update_fields=["primary_colour", "support_email"])
    with tenant_context(tenant), transaction.atomic():
        roles_sync()
        for role in Role:
            is_staff = role in STAFF_ROLES
            _user(
                f"{role.value.replace('_', '')}@{spec.slug}.test",
                first_name=role.label.split()[0],
                last_name=spec.name.split()[0],
                roles=[role.value],
                staff_mfa=is_staff,
            )
        client_user = User.objects.get(email=f"client@{spec.slug}.test")
        Client.objects.get_or_create(
            email=client_user.email,
            defaults={
                "user": client_user,
                "first_name": "Claire",
                "last_name": "Client",
                "country": spec.countries[0],
                "status": Client.Status.ACTIVE,
            },
        )
        rng = random.Random(spec.slug)  # the same people every run
        for index in range(clients):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            Client.objects.get_or_create(
                email=f"{first}.{last}.{index}@example.com".lower(),
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "country": rng.choice(spec.countries),
                    "status": rng.choice(CLIENT_STATUSES),
                },
            )
    return tenant


# Payments --------------------------------------------------------------------------------------------

DEMO_IBAN = {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}


def seed_payments(tenant: Tenant, spec: DemoTenant) -> None:
    """Fresh demo rates, completed deposits, a conversion and a withdrawal waiting for finance.

    Everything goes through the payments services (nothing writes a balance), with fixed
    request keys: a second run finds what the first made and adds only fresh rates.
    """
    from brokerage.money import quantize
    from payments.defaults import payment_defaults_ensure
    from payments.deposits.services import deposit_confirm, deposit_start
    from payments.models import PaymentMethod
    from payments.rate_providers import demo_rates_refresh
    from payments.wallets.conversion import conversion_execute
    from payments.withdrawals.services import withdrawal_request

    other = "EUR" if spec.currency == "USD" else "USD"
    with tenant_context(tenant):
        payment_defaults_ensure()
        demo_rates_refresh()
        wire = PaymentMethod.objects.get(code="bank-wire")
        demo_client = Client.objects.select_related("user").get(email=f"client@{spec.slug}.test")
        demo_client.kyc_status, demo_client.risk_level = Client.KycStatus.APPROVED, Client.RiskLevel.LOW
        demo_client.save(update_fields=["kyc_status", "risk_level"])
        others = list(
            Client.objects.filter(status__in=[Client.Status.ACTIVE, Client.Status.FUNDED], user__isnull=True)
            .exclude(pk=demo_client.pk)
            .order_by("email")[:4]
        )
        # Active and funded clients are verified: their KYC is approved, so the deposit limits let them deposit.
        Client.objects.filter(pk__in=[client.pk for client in others]).update(kyc_status=Client.KycStatus.APPROVED)
        deposits = [(demo_client, spec.currency, Decimal("5000.00")), (demo_client, other, Decimal("1200.00"))]
        deposits += [(client, spec.currency, Decimal(1500 + 750 * index)) for index, client in enumerate(others)]
        for number, (client, currency, amount) in enumerate(deposits):
            deposit = deposit_start(
                client=client,
                method=wire,
                currency=currency,
                amount=amount,
                actor=client.user,
                request_token=f"demo-deposit-{number}",
                return_url="/portal/funds/",
            )
            deposit_confirm(deposit, amount=amount, actor_label="demo bank statement", source_label="Demo Bank wire")
        conversion_execute(
            client=demo_client,
            from_currency=spec.currency,
            to_currency=other,
            amount=Decimal("250.00"),
            request_key="demo-conversion-1",
            actor=demo_client.user,
        )
        withdrawal_request(
            client=demo_client,
            method=wire,
            currency=spec.currency,
            amount=quantize(Decimal("750"), spec.currency),
            destination={**DEMO_IBAN, "holder": f"{demo_client.first_name} {demo_client.last_name}"},
            actor=demo_client.user,
            request_id=uuid.uuid5(uuid.NAMESPACE_URL, f"demo:{spec.slug}:withdrawal-1"),
        )


# Trading -------------------------------------------------------------------------------------------------


def seed_trading(tenant: Tenant, spec: DemoTenant) -> None:
    """Simulator accounts for the funded clients, money moved from their wallets, and some trading.

    Through the services and the simulator only; the mirror fills through the real-time push path.
    Runs once per tenant: a client who already has trading accounts is left as they are.
    """
    from payments.wallets.trading import transfer_to_trading
    from trading import services
    from trading.defaults import trading_defaults_ensure
    from trading.models import TradingAccount
    from trading.simulator.feed import quotes_ensure
    from trading.simulator.traffic import traffic_run

    with tenant_context(tenant):
        trading_defaults_ensure()
        quotes_ensure()
        if TradingAccount.objects.exists():
            return
        demo_client = Client.objects.select_related("user").get(email=f"client@{spec.slug}.test")
        funded = [demo_client] + list(
            Client.objects.filter(ledger_accounts__kind="client_wallet", ledger_accounts__balance__gt=0)
            .exclude(pk=demo_client.pk)
            .distinct()
            .order_by("email")
        )
        for index, client in enumerate(funded):
            account = services.account_open(
                client=client, is_demo=False, leverage=100, currency=spec.currency, actor=client.user
            )
            amount = Decimal(1000 + 250 * index)
            transfer_to_trading(client=client, currency=spec.currency, login=account.login, amount=amount, actor=None)
        services.account_open(
            client=demo_client, is_demo=True, leverage=100, currency=spec.currency, actor=demo_client.user
        )
        traffic_run(trades=120, seed=len(spec.slug))


def seed_demo() -> list[Tenant]:
    from demo.crm_seed import seed_crm  # demo.crm_seed imports this module
    from demo.kyc_seed import seed_kyc

    seed_platform()
    tenants = [seed_tenant(spec) for spec in DEMO_TENANTS]
    for tenant, spec in zip(tenants, DEMO_TENANTS, strict=True):
        seed_payments(tenant, spec)
        seed_trading(tenant, spec)
        seed_crm(tenant, spec)
        seed_kyc(tenant, spec)
    return tenants
