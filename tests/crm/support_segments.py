"""A handmade book of clients for the segment and bulk tests: people, money and deals.

Personas in tenant alpha: Alice owns the broker; Sam and Sue are sales agents (Sam holds Ann and
Eve, Sue holds Cid); Bea is back office. Clients (by first name):

| client | status  | ctry | made | 1st dep | last dep | last trade | last activity | money (USD)        |
|--------|---------|------|------|---------|----------|------------|---------------|--------------------|
| Ann    | funded  | DE   | 100d | 5d      | 2d       | never      | 2d            | wallet 1,500       |
| Ben    | lead    | GB   | 3d   | never   | never    | never      | never         | wallet 2,000 EUR   |
| Cid    | active  | FR   | 400d | 300d    | 200d     | 90d        | 90d           | 600 + 500 trading  |
| Dee    | dormant | GB   | 200d | 150d    | 40d      | 10d        | 10d           | 999.99             |
| Eve    | reg.    | ES   | 70d  | never   | never    | never      | never         | none               |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal as D

from django.utils import timezone

from crm.models import Client
from payments import ledger
from payments.defaults import payment_defaults_ensure
from payments.ledger import Line
from payments.models import Deposit, PaymentMethod
from tests import factories
from trading.defaults import trading_defaults_ensure
from trading.models import Deal, Platform, Position, TradingAccount


@dataclass
class Book:
    alice: object
    sam: object
    sue: object
    bea: object
    clients: dict[str, Client]

    def __getattr__(self, name):
        clients = self.__dict__.get("clients", {})
        if name in clients:
            return clients[name]
        raise AttributeError(name)


def ago(days: float):
    return timezone.now() - timedelta(days=days)


def people():
    return (
        factories.staff_user("alice@alpha.test", roles=["owner"]),
        factories.staff_user("sam@alpha.test", roles=["sales"]),
        factories.staff_user("sue@alpha.test", roles=["sales"]),
        factories.staff_user("bea@alpha.test", roles=["back_office"]),
    )


def client_make(name: str, *, created_days: float, **fields) -> Client:
    client = factories.ClientFactory(first_name=name.title(), last_name="Test", email=f"{name}@clients.test", **fields)
    Client.objects.filter(pk=client.pk).update(created_at=ago(created_days))
    client.refresh_from_db()
    return client


def book_make() -> Book:
    """The clients of the table above, without money or deals."""
    alice, sam, sue, bea = people()
    clients = {
        "ann": client_make(
            "ann", created_days=100, status="funded", country="DE", language="de", source="campaign", tags=["vip"],
            lead_stage="converted", kyc_status="approved", risk_level="low", sales_agent=sam,
            first_deposit_at=ago(5), last_deposit_at=ago(2), last_activity_at=ago(2),
        ),
        "ben": client_make(
            "ben", created_days=3, status="lead", country="GB", language="en", source="import",
            lead_stage="contacted", kyc_status="not_started", risk_level="medium",
        ),
        "cid": client_make(
            "cid", created_days=400, status="active", country="FR", language="fr", source="ib",
            tags=["high roller", "vip"], lead_stage="converted", kyc_status="approved", risk_level="high",
            sales_agent=sue, first_deposit_at=ago(300), last_deposit_at=ago(200), last_trade_at=ago(90),
            last_activity_at=ago(90),
        ),
        "dee": client_make(
            "dee", created_days=200, status="dormant", country="GB", language="en", source="organic",
            lead_stage="converted", kyc_status="pending", risk_level="medium",
            first_deposit_at=ago(150), last_deposit_at=ago(40), last_trade_at=ago(10), last_activity_at=ago(10),
        ),
        "eve": client_make(
            "eve", created_days=70, status="registered", country="ES", language="es", source="referral",
            lead_stage="new", kyc_status="rejected", risk_level="low", sales_agent=sam,
        ),
    }  # fmt: skip
    return Book(alice=alice, sam=sam, sue=sue, bea=bea, clients=clients)


def fund(client: Client, amount: D, currency: str = "USD") -> None:
    wallet = ledger.wallet_for(client, currency)
    ledger.transaction_post(
        kind="deposit",
        reference=f"segment-test:{client.pk}:{currency}:{amount}:{timezone.now().timestamp()}",
        lines=[
            Line(ledger.system_account(ledger.Kind.PSP_CLEARING, currency, "bank-wire"), -amount),
            Line(wallet, amount),
        ],
        client=client,
    )


def to_trading(client: Client, amount: D, currency: str = "USD") -> None:
    """Money moved from the wallet to trading accounts: the client's trading-funds ledger account."""
    ledger.transaction_post(
        kind="trading_transfer",
        reference=f"segment-test-transfer:{client.pk}:{amount}:{timezone.now().timestamp()}",
        lines=[
            Line(ledger.wallet_for(client, currency), -amount),
            Line(ledger.trading_funds_for(client, currency), amount),
        ],
        client=client,
    )


def deposit(client: Client, amount: D, *, days: float, currency: str = "USD", status: str = "completed") -> Deposit:
    payment_defaults_ensure()
    return Deposit.objects.create(
        client=client,
        method=PaymentMethod.objects.get(code="card"),
        currency=currency,
        amount=amount,
        status=status,
        completed_at=ago(days) if status == "completed" else None,
    )


def money_make(book: Book) -> None:
    payment_defaults_ensure()
    fund(book.ann, D("1500"))
    fund(book.ben, D("2000"), "EUR")
    fund(book.cid, D("1100"))
    to_trading(book.cid, D("500"))
    fund(book.dee, D("999.99"))
    deposit(book.ann, D("600"), days=2)
    deposit(book.ann, D("500"), days=10)
    deposit(book.cid, D("2000"), days=40)
    deposit(book.ben, D("5000"), days=1, status="failed")
    deposit(book.dee, D("3000"), days=1, currency="EUR")


def account(client: Client | None, login: str, *, demo: bool = False) -> TradingAccount:
    platform = Platform.objects.get(code="sim-demo" if demo else "sim-live")
    return TradingAccount.objects.create(
        login=login, platform=platform, client=client, is_demo=demo, group="g", leverage=100, currency="USD"
    )


def deal(acct: TradingAccount | None, ticket: int, lots: str, *, days: float, action: str = "buy", entry: str = "in"):
    platform = acct.platform if acct else Platform.objects.get(code="sim-live")
    return Deal.objects.create(
        platform=platform, ticket=ticket, login=acct.login if acct else "777777", account=acct, time=ago(days),
        symbol_name="EURUSD", action=action, entry=entry, volume=D(lots), price=D("1.1"),
    )  # fmt: skip


def trading_make(book: Book) -> None:
    """Ann: 4 lots in and 4 out (8) this month, a big balance deal and 100 demo lots that never count.
    Cid: 12 lots 40 days ago and 3 lots 5 days ago, an open live position. Dee: a live account, no deals."""
    trading_defaults_ensure()
    ann_live, ann_demo = account(book.ann, "500001"), account(book.ann, "900001", demo=True)
    cid_live = account(book.cid, "500002")
    account(book.dee, "500003")
    deal(ann_live, 1, "4", days=3)
    deal(ann_live, 2, "4", days=2, action="sell", entry="out")
    deal(ann_live, 3, "50", days=2, action="balance")
    deal(ann_demo, 4, "100", days=1)
    deal(cid_live, 5, "12", days=40)
    deal(cid_live, 6, "3", days=5, action="sell")
    deal(None, 7, "100", days=1)  # an unknown login: nobody's volume
    now = timezone.now()
    common = {"symbol_name": "EURUSD", "side": "buy", "volume": D("1"), "open_price": D("1.1"),
              "current_price": D("1.1"), "opened_at": now, "updated_at": now}  # fmt: skip
    Position.objects.create(platform=cid_live.platform, ticket=10, login="500002", account=cid_live, **common)
    Position.objects.create(platform=ann_demo.platform, ticket=11, login="900001", account=ann_demo, **common)
