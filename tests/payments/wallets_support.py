"""Shared by the wallet, rates, conversion, trading-transfer and methods tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path

from django.utils import timezone

from crm.models import Client
from payments import ledger
from payments.ledger import Line
from payments.models import ExchangeRate, LedgerAccount, PaymentPolicy
from payments.trading_gateway import InvalidLogin, NotEnoughMargin, PlatformUnavailable, TradingAccountRef
from tests import factories

FIXTURES = Path(__file__).parent / "fixtures"


def client_of(user) -> Client:
    return Client.objects.select_related("user").get(user=user)


def new_client(email: str) -> Client:
    return client_of(factories.client_user(email))


def fund(client: Client, amount: D, currency: str = "USD", *, reference: str = "") -> LedgerAccount:
    """Money in the client's wallet, as a bank-wire deposit would put it there."""
    wallet = ledger.wallet_for(client, currency)
    ledger.transaction_post(
        kind="deposit",
        reference=reference or f"test-funding:{client.pk}:{currency}:{amount}:{timezone.now().timestamp()}",
        lines=[
            Line(ledger.system_account(ledger.Kind.PSP_CLEARING, currency, "bank-wire"), -amount),
            Line(wallet, amount),
        ],
        client=client,
    )
    wallet.refresh_from_db()
    return wallet


def rate(base: str, quote: str, value: str, *, source: str = "manual", age: timedelta = timedelta(0), at=None):
    return ExchangeRate.objects.create(
        base=base, quote=quote, rate=D(value), source=source, as_of=at or timezone.now() - age
    )


def markup(percent: str) -> PaymentPolicy:
    policy = PaymentPolicy.current()
    policy.fx_markup_percent = D(percent)
    policy.save()
    return policy


def balance(client: Client, currency: str) -> D:
    return ledger.wallet_for(client, currency).balance


@dataclass
class FakeGateway:
    """A trading platform in memory: accounts, and the balance operations booked on them.

    `fail_with` makes the next balance_operation raise; `book_then_fail` books the
    operation and then loses the answer (a timeout after the platform did it).
    """

    accounts: dict[str, TradingAccountRef] = field(default_factory=dict)
    balances: dict[str, D] = field(default_factory=dict)
    operations: dict[str, tuple[str, D]] = field(default_factory=dict)  # operation id -> (login, amount)
    fail_with: Exception | None = None
    book_then_fail: bool = False
    lookup_fails: bool = False
    calls: list[str] = field(default_factory=list)

    def open(self, login: str, client: Client, currency: str, balance: D = D(0)) -> None:
        self.accounts[login] = TradingAccountRef(login, client.pk, currency)
        self.balances[login] = balance

    def account(self, login: str) -> TradingAccountRef | None:
        return self.accounts.get(login)

    def balance_operation(self, *, login, amount, currency, comment, operation_id) -> str:
        self.calls.append(f"balance_operation {login} {amount} {operation_id}")
        if login not in self.accounts:
            raise InvalidLogin(f"13 Not found: {login}")
        if self.fail_with is not None:
            raise self.fail_with
        if self.balances[login] + amount < 0:
            raise NotEnoughMargin("10019 No money")
        self.balances[login] += amount
        self.operations[operation_id] = (login, amount)
        if self.book_then_fail:
            raise PlatformUnavailable("timeout after 30 s")
        return f"deal-{len(self.operations)}"

    def find_operation(self, *, login, operation_id) -> str | None:
        self.calls.append(f"find_operation {login} {operation_id}")
        if self.lookup_fails:
            raise PlatformUnavailable("still down")
        if operation_id in self.operations:
            return f"deal-{list(self.operations).index(operation_id) + 1}"
        return None


def people_make(alpha, beta) -> dict:
    """For a `people` fixture. Alpha: Carl (client, 1,000.00 USD) and Cleo (client); Fiona (finance), Bea (back office: may look,
    may not change), Sam (sales: no payments at all). Beta: Bob, its owner, must see nothing of alpha."""
    from django_tenants.utils import tenant_context

    from payments.defaults import payment_defaults_ensure

    with tenant_context(beta):
        payment_defaults_ensure()
        bob = factories.staff_user("bob@beta.test", roles=["owner"])
    with tenant_context(alpha):
        payment_defaults_ensure()
        carl = new_client("carl@alpha.test")
        fund(carl, D("1000.00"))
        cleo = new_client("cleo@alpha.test")
        return {
            "carl": carl,
            "cleo": cleo,
            "fiona": factories.staff_user("fiona@alpha.test", roles=["finance"]),
            "bea": factories.staff_user("bea@alpha.test", roles=["back_office"]),
            "sam": factories.staff_user("sam@alpha.test", roles=["sales"]),
            "bob": bob,
        }


def user_of(people: dict, who: str):
    person = people[who]
    return person.user if isinstance(person, Client) else person
