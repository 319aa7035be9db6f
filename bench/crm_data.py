"""The CRM benchmark's data: 100,000 clients, 1,000,000 timeline events, 1,000,000 deals in one tenant.

Made from a fixed seed (the same tenant every run) and loaded the fast way each module offers:
COPY for clients, timeline events and trading accounts, `trading.sync.bulk.deals_bulk_load` for the
deals, `payments.ledger.transactions_post_bulk` for the wallet deposits behind the 360 panels.
Run inside the bench tenant's schema (bench/crm.py makes it current).

The shape, so the pages meet what a real broker holds:
- clients over 20 countries (weighted), names from a few hundred first and last names, phones in
  E.164, statuses lead → closed with lead stages, sources and campaigns, tags, 30 sales agents on
  three desks (85% of clients assigned), a first deposit for about 30%;
- timeline events skewed: 50 "heavy" clients hold about a fifth of them (2,000 to 16,000 each), the
  rest spread unevenly; events are written in time order, interleaved between clients, as a live
  system writes them;
- trading accounts for 40,000 clients (some with two live accounts, some with a demo account); deals
  skewed the same way, the 360 target's accounts with about 30,000 of them.
"""

from __future__ import annotations

import dataclasses
import io
import json
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Count

from bench.support import deal_terms
from brokerage.models import User
from brokerage.staff import roles_sync
from crm.models import Client, Desk
from payments import ledger
from payments.defaults import payment_defaults_ensure
from payments.models import Deposit, LedgerAccount, LedgerTransaction, PaymentMethod
from trading.connectors.base import DealData
from trading.defaults import trading_defaults_ensure
from trading.models import Platform, TradingAccount
from trading.sync.bulk import deals_bulk_load

SEED = 2026


def _words(text: str) -> list[str]:
    return text.split()


NOW = datetime.now(UTC).replace(microsecond=0)
BENCH_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - a throwaway tenant's value
STAFF_EMAIL = "backoffice@bench.test"
AGENT_EMAIL = "agent02@bench.test"  # a plain agent (no desk to manage): sees only their own clients
AGENTS = 30
HEAVY = 50
LIVE_LOGIN_START = 500_000
DEMO_LOGIN_START = 900_000

FIRST_NAMES = _words(
    """
Aaron Abdul Adam Adele Adrian Agnes Ahmed Aisha Alan Alba Alberto Aleksander Alex Alexandra Alice Alina Amara Amelia
Amir Ana Anders Andrea Andrei Angela Anna Anton Antonio Arjun Astrid Ayesha Beatriz Ben Bianca Boris Bruno Camila
Carla Carlos Carmen Caroline Catalina Charlotte Chen Chiara Chloe Christian Christina Claire Daniel Daniela David Dean
Deniz Diana Diego Dimitri Dmitri Elena Elias Elif Elisa Elizabeth Ella Emil Emily Emma Enzo Erik Ethan Eva Fatima
Felix Fernando Filip Finn Francesca Francisco Frank Freya Gabriel Gabriela George Georgia Giulia Grace Gustav Hana
Hannah Hans Harry Hassan Helena Henrik Hiro Hugo Ibrahim Ida Igor Ines Ingrid Irina Isaac Isabel Ivan Jack Jakob James
Jan Jana Javier Jean Jelena Jessica Joao Johan John Jonas Jorge Jose Julia Julian Kai Karim Karin Kasia Katarina
Kemi Kenji Khalid Kim Klara Lars Laura Lea Leon Leonie Liam Lina Lisa Louis Luca Lucas Lucia Luis Lukas Maja Malik
Marco Maria Marie Mario Marta Martin Mateo Mathilde Matteo Max Maya Mehmet Mia Michael Mikael Milan Mohammed Nadia
Natalia Nathan Nico Nikos Nina Noah Nora Olga Oliver Olivia Omar Oscar Pablo Paolo Patrick Paul Paula Pavel Pedro
Peter Petra Philipp Pierre Priya Rafael Rahul Rania Raphael Rebecca Ricardo Robert Rosa Ryan Sara Sebastian Selin
Sergio Simon Sofia Sophie Stefan Sven Tariq Tatiana Theo Thomas Tim Tobias Tomas Uma Valentina Vera Victor Viktor
Wei Wen Willem Yara Yasmin Yusuf Zoe Zofia
"""
)
LAST_NAMES = _words(
    """
Abbott Adeyemi Aguilar Ahmed Albrecht Alexiou Ali Almeida Alonso Andersen Andersson Antonopoulos Arslan Bauer Becker
Bell Bergstrom Bernard Bianchi Bjork Blanc Bogdan Bondarenko Brown Bruno Campbell Carvalho Castro Chen Christensen
Clark Colombo Costa Cruz Dahl Daniels Davies Demir Diaz Dimitriou Dubois Dumont Eriksen Evans Ferrari Fernandes
Fischer Fontaine Garcia Georgiou Gomez Gonzalez Gray Green Gruber Haddad Hall Hansen Hartmann Hoffmann Horvat Hughes
Ibrahim Ivanov Ivanova Jakobsen Jansen Jensen Johansson Johnson Jones Kaiser Kaya Keller Khan Kim Klein Koch Kovacs
Kowalski Kozlov Kraus Kruger Lambert Lang Larsen Laurent Lee Lehmann Lewis Li Lindqvist Lopez Lorenz Ludwig Luna
Marino Martin Martinez Meier Mendes Meyer Miller Mitchell Moreau Moreno Morgan Muller Murphy Nagy Nakamura Navarro
Nielsen Novak Nowak Okafor Oliveira Olsen Ortiz Osei Ozturk Papadopoulos Park Pereira Perez Petersen Petrov Popescu
Price Ramirez Ramos Reyes Ricci Richter Rivera Roberts Rodriguez Romano Rossi Russo Sahin Sanchez Santos Sato
Schmid Schmidt Schneider Schulz Scott Silva Simon Smith Sokolov Sorensen Stewart Suzuki Svensson Szabo Tanaka Taylor
Thomas Torres Turner Vargas Vasquez Vogel Wagner Walker Wang Weber Wilson Wojcik Wolf Wood Wright Yamamoto Yilmaz
Young Zhang Ziegler Zimmermann
"""
)
NATIVE_NAMES = ["Δημήτρης Παπαδόπουλος", "Иван Петров", "王伟", "田中 花子", "محمد علي", "Ольга Иванова", "김민준"]
COMPANY_SUFFIXES = ["Capital Ltd", "Holdings GmbH", "Trading SA", "Investments BV", "Partners LLC"]

# country: (weight, calling code, national digits, language, time zone)
COUNTRIES = {
    "DE": (12, "49", 11, "de", "Europe/Berlin"),
    "GB": (10, "44", 10, "en", "Europe/London"),
    "FR": (6, "33", 9, "fr", "Europe/Paris"),
    "IT": (6, "39", 10, "it", "Europe/Rome"),
    "ES": (6, "34", 9, "es", "Europe/Madrid"),
    "PL": (5, "48", 9, "pl", "Europe/Warsaw"),
    "CY": (3, "357", 8, "en", "Asia/Nicosia"),
    "GR": (4, "30", 10, "en", "Europe/Athens"),
    "NL": (4, "31", 9, "en", "Europe/Amsterdam"),
    "IE": (2, "353", 9, "en", "Europe/Dublin"),
    "PT": (3, "351", 9, "pt", "Europe/Lisbon"),
    "TR": (5, "90", 10, "tr", "Europe/Istanbul"),
    "AE": (4, "971", 9, "ar", "Asia/Dubai"),
    "ZA": (4, "27", 9, "en", "Africa/Johannesburg"),
    "NG": (3, "234", 10, "en", "Africa/Lagos"),
    "SE": (3, "46", 9, "en", "Europe/Stockholm"),
    "BR": (5, "55", 11, "pt", "America/Sao_Paulo"),
    "MX": (3, "52", 10, "es", "America/Mexico_City"),
    "JP": (2, "81", 10, "ja", "Asia/Tokyo"),
    "CN": (3, "86", 11, "zh", "Asia/Shanghai"),
}
S = Client.Status
STATUSES = {S.LEAD: 20, S.REGISTERED: 22, S.VERIFIED: 10, S.FUNDED: 10, S.ACTIVE: 22, S.DORMANT: 11, S.CLOSED: 5}
DEPOSITED = {S.FUNDED, S.ACTIVE, S.DORMANT, S.CLOSED}
LEAD_STAGES = ["new", "new", "contacted", "contacted", "qualified", "negotiation", "lost"]
SOURCES = {"organic": 30, "campaign": 30, "referral": 8, "ib": 12, "import": 15, "manual": 5}
CAMPAIGNS = ["spring-fx-2026", "google-brand", "meta-retarget", "gold-webinar", "crypto-launch", "black-friday"]
TAGS = ["vip", "high-value", "callback", "webinar", "newsletter", "crypto", "gold", "swing", "scalper", "islamic"]
KYC_BY_STATUS = {
    S.LEAD: "not_started",
    S.REGISTERED: "not_started",
    S.VERIFIED: "approved",
    S.FUNDED: "approved",
    S.ACTIVE: "approved",
    S.DORMANT: "approved",
    S.CLOSED: "approved",
}
SYMBOLS = ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "US500", "DE40", "BTCUSD", "EURGBP", "AUDUSD", "USDCHF"]

CLIENT_COLUMNS = (
    "id", "user_id", "kind", "first_name", "last_name", "native_name", "company_name", "date_of_birth", "nationality",
    "country", "address_line1", "address_line2", "city", "postal_code", "phone", "phone_verified_at", "email",
    "language", "timezone", "source", "source_detail", "tags", "status", "lead_stage", "sales_agent_id",
    "retention_agent_id", "kyc_status", "kyc_status_changed_at", "risk_level", "first_deposit_at",
    "first_deposit_amount", "first_deposit_currency", "last_deposit_at", "last_trade_at", "last_activity_at",
    "created_at", "updated_at",
)  # fmt: skip
TIMELINE_COLUMNS = ("client_id", "occurred_at", "kind", "topic", "title", "detail", "url", "actor_label", "source")
ACCOUNT_COLUMNS = (
    "id", "login", "platform_id", "client_id", "is_demo", "group", "leverage", "currency", "status", "balance",
    "credit", "equity", "margin", "margin_free", "margin_level", "state_at", "created_by_id", "created_at",
)  # fmt: skip


@dataclass
class Loaded:
    """What the benchmark needs to know about the data it made, and how long each part took."""

    clients: int = 0
    events: int = 0
    accounts: int = 0
    deals: int = 0
    deposits: int = 0
    target_id: int = 0  # the 360 page's client: the most events, three accounts, many deals
    target_email: str = ""
    target_phone: str = ""
    target_login: str = ""
    target_name: str = ""
    target_events: int = 0
    target_deals: int = 0
    agent_clients: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


# COPY ------------------------------------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _cell(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "{" + ",".join(value) + "}"  # tags: plain words, no quoting needed
    return str(value).translate(_ESCAPES)


def copy_rows(table: str, columns: tuple[str, ...], rows: Iterable[tuple], chunk: int = 200_000) -> int:
    """COPY rows (tuples in `columns` order) into `table` in the current schema, in chunks."""
    names = ", ".join(f'"{c}"' for c in columns)
    count = 0
    iterator = iter(rows)
    with connection.cursor() as cursor:
        while True:
            buffer = io.StringIO()
            written = 0
            for row in iterator:
                buffer.write("\t".join(map(_cell, row)))
                buffer.write("\n")
                written += 1
                if written == chunk:
                    break
            if not written:
                return count
            buffer.seek(0)
            cursor.copy_expert(f"COPY {table} ({names}) FROM STDIN", buffer)
            count += written


def _sequence_past(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608


# Staff ----------------------------------------------------------------------------------------------


def staff_make() -> tuple[User, list[User]]:
    """A back-office user (sees every client) and 30 sales agents on three desks."""
    roles_sync()
    groups = {g.name: g for g in Group.objects.all()}

    def make(email: str, first: str, last: str, role: str) -> User:
        user, _ = User.objects.get_or_create(email=email, defaults={"first_name": first, "last_name": last})
        user.set_unusable_password()
        user.save()
        user.groups.add(groups[role])
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, BENCH_TOTP_SECRET)
        return user

    staff = make(STAFF_EMAIL, "Bea", "Backoffice", "back_office")
    agents = [make(f"agent{n:02d}@bench.test", f"Agent{n:02d}", "Sales", "sales") for n in range(1, AGENTS + 1)]
    for number, name in enumerate(("Frankfurt desk", "London desk", "Limassol desk")):
        members = agents[number * 10 : number * 10 + 10]
        # Managers are the desk's first agent; agent02 stays a plain agent.
        desk, _ = Desk.objects.get_or_create(name=name, defaults={"manager": members[0] if number else agents[2]})
        desk.members.set(members)
    return staff, agents


# Clients --------------------------------------------------------------------------------------------


def _weighted(rng: random.Random, table: dict):
    keys, weights = list(table), [w if isinstance(w, int) else w[0] for w in table.values()]
    cumulative = []
    total = 0
    for weight in weights:
        total += weight
        cumulative.append(total)
    return lambda: rng.choices(keys, cum_weights=cumulative)[0]


def _phone(rng: random.Random, country: str) -> str:
    _, code, digits, _, _ = COUNTRIES[country]
    first = rng.choice("6789")
    return f"+{code}{first}{rng.randrange(10 ** (digits - 1)):0{digits - 1}d}"


def clients_rows(count: int, agents: list[User], rng: random.Random, info: dict) -> Iterator[tuple]:
    """Client rows with ids 1..count; `info[id]` keeps what later steps need (status, created, FTD)."""
    country_of = _weighted(rng, COUNTRIES)
    status_of = _weighted(rng, STATUSES)
    source_of = _weighted(rng, SOURCES)
    agent_ids = [a.pk for a in agents]
    retention_ids = agent_ids[-5:]
    span = 3 * 365 * 86400
    for pk in range(1, count + 1):
        country = country_of()
        _, _, _, language, zone = COUNTRIES[country]
        status = status_of()
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company = rng.random() < 0.03
        created = NOW - timedelta(seconds=rng.randrange(span if status != S.LEAD else span // 6))
        source = source_of()
        detail = (
            rng.choice(CAMPAIGNS)
            if source == "campaign"
            else (f"IB{rng.randrange(100, 999)}" if source == "ib" else "")
        )
        tags = rng.sample(TAGS, k=rng.choice((0, 0, 0, 1, 1, 2, 3)))
        agent = rng.choice(agent_ids) if rng.random() < 0.85 else None
        retention = rng.choice(retention_ids) if status in DEPOSITED and rng.random() < 0.4 else None
        kyc = KYC_BY_STATUS[status] if status != S.REGISTERED or rng.random() < 0.7 else "pending"
        deposited = status in DEPOSITED and rng.random() < 0.85
        ftd_at = (
            created + timedelta(seconds=rng.randrange(max(1, int((NOW - created).total_seconds()))))
            if deposited
            else None
        )
        ftd_amount = D(rng.choice((100, 250, 500, 1000, 2500, 5000, 10000))) if deposited else None
        currency = ("EUR" if rng.random() < 0.25 else "USD") if deposited else ""
        info[pk] = (status, created, ftd_at, ftd_amount, currency)
        yield (
            pk, None, "company" if company else "person", first, last,
            rng.choice(NATIVE_NAMES) if rng.random() < 0.05 else "",
            f"{last} {rng.choice(COMPANY_SUFFIXES)}" if company else "",
            date(1950, 1, 1) + timedelta(days=rng.randrange(20000)) if status != S.LEAD else None,
            country if rng.random() < 0.9 else rng.choice(list(COUNTRIES)),
            country, f"{rng.randrange(1, 200)} {rng.choice(LAST_NAMES)} Street" if status != S.LEAD else "", "",
            "", "", _phone(rng, country) if rng.random() < 0.95 else "",
            None, f"{first}.{last}.{pk}@example.com".lower(), language, zone, source, detail, tags, status,
            rng.choice(LEAD_STAGES) if status == S.LEAD else "converted", agent, retention, kyc,
            created if kyc != "not_started" else None, rng.choice(("low", "medium", "medium", "high")),
            ftd_at, ftd_amount, currency, ftd_at, None, created, created, created,
        )  # fmt: skip


# Timeline -------------------------------------------------------------------------------------------

EVENT_KINDS = [
    # kind, topic, title, detail, weight
    ("payments", "payments.deposit.completed", "Deposit of {amount} USD completed", "Bank wire", 18),
    ("payments", "payments.withdrawal.requested", "Withdrawal of {amount} USD requested", "To IBAN ending 3000", 5),
    ("payments", "payments.trading_transfer.completed", "Moved {amount} USD to trading account", "", 10),
    ("trading", "trading.account_opened", "Trading account opened", "Live, leverage 1:100", 3),
    ("trading", "trading.daily_summary", "Traded {lots} lots", "EURUSD, XAUUSD, US500", 20),
    ("note", "crm.note", "Note by Agent{agent:02d} Sales", "Client asked about gold spreads; call back on Monday.", 12),
    ("call", "crm.call", "Outbound call: no answer", "", 10),
    ("email", "crm.email.sent", "Email sent: Deposit reminder", "", 8),
    ("profile", "crm.profile.changed", "Phone changed", "Phone number updated by the client", 5),
    ("kyc", "kyc.review.approved", "KYC approved", "Passport and proof of address", 4),
    ("task", "crm.task.completed", "Task done: follow-up call", "", 5),
]


def timeline_plan(count: int, clients: int, rng: random.Random, heavy: list[int]) -> list[tuple[float, int, int]]:
    """(epoch seconds, client id, kind index) for every event, in time order.

    The heavy clients get about a fifth of all events (2,000 to 16,000 each, the first most);
    the rest follow a long-tailed spread over all clients."""
    plan: list[tuple[float, int, int]] = []
    kinds_cum = []
    total = 0
    for *_, weight in EVENT_KINDS:
        total += weight
        kinds_cum.append(total)
    kind_indexes = list(range(len(EVENT_KINDS)))
    start, end = (NOW - timedelta(days=3 * 365)).timestamp(), NOW.timestamp() - 60
    heavy_total = 0
    for rank, pk in enumerate(heavy):
        n = max(2000, int(16000 / (1 + rank * 0.35))) if count >= 1_000_000 else max(20, count // (20 * (rank + 1)))
        heavy_total += n
        for kind in rng.choices(kind_indexes, cum_weights=kinds_cum, k=n):
            plan.append((rng.uniform(start, end), pk, kind))
    rest = max(0, count - heavy_total)
    weights = [rng.lognormvariate(0, 1.3) for _ in range(clients)]
    cumulative = []
    running = 0.0
    for weight in weights:
        running += weight
        cumulative.append(running)
    ids = rng.choices(range(1, clients + 1), cum_weights=cumulative, k=rest)
    kinds = rng.choices(kind_indexes, cum_weights=kinds_cum, k=rest)
    plan.extend((rng.uniform(start, end), pk, kind) for pk, kind in zip(ids, kinds, strict=True))
    plan.sort()
    return plan


def timeline_rows(plan: list[tuple[float, int, int]], rng: random.Random) -> Iterator[tuple]:
    for number, (moment, pk, kind) in enumerate(plan, start=1):
        kind_name, topic, title, detail, _ = EVENT_KINDS[kind]
        title = title.format(amount=rng.choice((100, 250, 500, 1000)), lots=rng.randrange(1, 40), agent=pk % 30 + 1)
        source = f"outbox:{number}" if kind_name in ("payments", "trading", "kyc") else ""
        occurred = datetime.fromtimestamp(moment, UTC)
        yield (pk, occurred, kind_name, topic, title, detail, "", "", source)


# Trading --------------------------------------------------------------------------------------------


def accounts_rows(client_ids: list[int], target: int, rng: random.Random, live: Platform, demo: Platform, out: list):
    """Live accounts for every client given (20% a second one, the target three) and demo accounts for 10%.

    Appends (login, client id, weight for deals) of each live account to `out`."""
    pk = 0
    for client_id in client_ids:
        live_count = 3 if client_id == target else (2 if rng.random() < 0.2 else 1)
        for _ in range(live_count):
            pk += 1
            login = str(LIVE_LOGIN_START + pk)
            weight = -1.0 if client_id == target else rng.lognormvariate(0, 1.2)  # -1: see deal_rows
            out.append((login, client_id, weight))
            balance = D(rng.randrange(0, 2_000_000)) / 100
            yield (
                pk, login, live.pk, client_id, False, "sim\\live\\standard", rng.choice((30, 100, 200, 500)),
                "USD", "active", balance, 0, balance, 0, balance, None, NOW, None, NOW,
            )  # fmt: skip
        if rng.random() < 0.1:
            pk += 1
            yield (
                pk, str(DEMO_LOGIN_START + pk), demo.pk, client_id, True, "sim\\demo\\standard", 100, "USD", "active",
                10000, 0, 10000, 0, 10000, None, NOW, None, NOW,
            )  # fmt: skip


def deal_rows(count: int, live: list[tuple[str, int, float]], rng: random.Random) -> Iterator[DealData]:
    """Deals in time order over two years up to yesterday, spread over the accounts by weight; the
    target's accounts (weight -1) get 1% of all deals each."""
    others = sum(weight for _, _, weight in live if weight > 0)
    cumulative = []
    running = 0.0
    for _, _, weight in live:
        weight = weight if weight > 0 else others / 97
        running += weight
        cumulative.append(running)
    logins = [login for login, _, _ in live]
    start = NOW - timedelta(days=730)
    step = (timedelta(days=729)).total_seconds() / max(1, count)
    batch = 100_000
    ticket = 0
    while ticket < count:
        size = min(batch, count - ticket)
        for login in rng.choices(logins, cum_weights=cumulative, k=size):
            ticket += 1
            yield DealData(
                ticket=ticket,
                login=login,
                time=start + timedelta(seconds=ticket * step),
                symbol=SYMBOLS[ticket % 10],
                **deal_terms(ticket),
            )


def prices_ensure() -> None:
    """Quotes and exchange rates, as a live tenant has them: the 360 page values deals with them."""
    from payments.rate_providers import demo_rates_refresh
    from trading.simulator.feed import quotes_ensure

    payment_defaults_ensure()
    quotes_ensure()
    demo_rates_refresh()


# Payments -------------------------------------------------------------------------------------------


def deposits_post(info: dict, target: int, rng: random.Random) -> int:
    """A wallet and a completed bank-wire deposit for every client with a first deposit (the target: 20).

    Through payments' bulk posting path (one COPY per batch, balances by the ledger), then the Deposit
    rows pointing at their transactions."""
    payment_defaults_ensure()
    wire = PaymentMethod.objects.get(code="bank-wire")
    plan = []  # (client id, currency, amount, completed at, number)
    for pk, (_, _, ftd_at, amount, currency) in info.items():
        if ftd_at is None:
            continue
        plan.append((pk, currency, amount, ftd_at))
        if pk == target:
            plan.extend(
                (pk, currency, D(rng.choice((250, 500, 1000))), min(NOW, ftd_at + timedelta(days=9 * n)))
                for n in range(1, 20)
            )
    wallets = {}
    LedgerAccount.objects.bulk_create(
        [
            LedgerAccount(
                code=f"wallet:{pk}:{currency}",
                kind=LedgerAccount.Kind.CLIENT_WALLET,
                currency=currency,
                client_id=pk,
                name=f"Client {pk} · {currency} wallet",
            )  # fmt: skip
            for pk, currency in sorted({(p[0], p[1]) for p in plan})
        ],
        batch_size=5000,
    )
    for account in LedgerAccount.objects.filter(kind=LedgerAccount.Kind.CLIENT_WALLET).only("id", "code", "currency"):
        wallets[account.code] = account
    clearing = {c: ledger.system_account(LedgerAccount.Kind.PSP_CLEARING, c, wire.code) for c in ("USD", "EUR")}
    deposits = []
    for start in range(0, len(plan), 5000):
        postings = []
        for pk, currency, amount, completed in plan[start : start + 5000]:
            public_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            reference = f"deposit:{public_id}"
            postings.append(
                ledger.Posting(
                    kind="deposit",
                    reference=reference,
                    client_id=pk,
                    description="Deposit by bank wire",
                    lines=[
                        ledger.Line(clearing[currency], -amount),
                        ledger.Line(wallets[f"wallet:{pk}:{currency}"], amount),
                    ],
                )  # fmt: skip
            )
            deposits.append((public_id, reference, pk, currency, amount, completed))
        ledger.transactions_post_bulk(postings)
    transaction_ids = dict(LedgerTransaction.objects.filter(kind="deposit").values_list("reference", "id"))
    Deposit.objects.bulk_create(
        [
            Deposit(
                public_id=public_id,
                client_id=pk,
                method=wire,
                currency=currency,
                amount=amount,
                fee=0,
                status=Deposit.Status.COMPLETED,
                source_label="Demo Bank wire",
                transaction_id=transaction_ids[reference],
                completed_at=completed,
            )  # fmt: skip
            for public_id, reference, pk, currency, amount, completed in deposits
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE payments_deposit SET created_at = completed_at, updated_at = completed_at")
    return len(deposits)


# All of it ------------------------------------------------------------------------------------------


def _timed(loaded: Loaded, label: str):
    class Timer:
        def __enter__(self):
            self.start = time.perf_counter()

        def __exit__(self, *exc):
            loaded.seconds[label] = time.perf_counter() - self.start

    return Timer()


def load(*, clients: int = 100_000, events: int = 1_000_000, deals: int = 1_000_000, say=print) -> Loaded:
    rng = random.Random(SEED)
    loaded = Loaded()
    trading_defaults_ensure()
    prices_ensure()
    staff, agents = staff_make()
    agent = next(a for a in agents if a.email == AGENT_EMAIL)

    info: dict[int, tuple] = {}
    with _timed(loaded, "clients (COPY)"), transaction.atomic():
        loaded.clients = copy_rows("crm_client", CLIENT_COLUMNS, clients_rows(clients, agents, rng, info))
        _sequence_past("crm_client")
    say(f"  clients: {loaded.clients:,} in {loaded.seconds['clients (COPY)']:.1f} s")

    # The 360 target: a heavy client, active, funded, assigned to the benchmark's sales agent.
    deposited = [pk for pk, row in info.items() if row[2] is not None]
    heavy = rng.sample(deposited, HEAVY)
    target = heavy[0]
    Client.objects.filter(pk=target).update(status=S.ACTIVE, sales_agent=agent, kyc_status="approved")

    with _timed(loaded, "timeline events (COPY)"), transaction.atomic():
        plan = timeline_plan(events, clients, rng, heavy)
        loaded.target_events = sum(1 for _, pk, _ in plan if pk == target)
        loaded.events = copy_rows("crm_timelineevent", TIMELINE_COLUMNS, timeline_rows(plan, rng))
        del plan
        with connection.cursor() as cursor:  # what timeline_record keeps: the last activity
            cursor.execute(
                "UPDATE crm_client c SET last_activity_at = t.latest"
                " FROM (SELECT client_id, max(occurred_at) latest FROM crm_timelineevent GROUP BY client_id) t"
                " WHERE c.id = t.client_id"
            )
    say(f"  timeline events: {loaded.events:,} in {loaded.seconds['timeline events (COPY)']:.1f} s")

    live_platform, demo_platform = Platform.objects.get(code="sim-live"), Platform.objects.get(code="sim-demo")
    traders = sorted(set(rng.sample(deposited, min(len(deposited), 40_000 * clients // 100_000))) | {target})
    live: list[tuple[str, int, float]] = []
    with _timed(loaded, "trading accounts (COPY)"), transaction.atomic():
        rows = accounts_rows(traders, target, rng, live_platform, demo_platform, live)
        loaded.accounts = copy_rows("trading_tradingaccount", ACCOUNT_COLUMNS, rows)
        _sequence_past("trading_tradingaccount")
    say(f"  trading accounts: {loaded.accounts:,} for {len(traders):,} clients")
    loaded.target_login = next(login for login, pk, _ in live if pk == target)

    with _timed(loaded, "deals (deals_bulk_load)"):
        result = deals_bulk_load(live_platform, deal_rows(deals, live, rng))
        loaded.deals = result.inserted
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE crm_client c SET last_trade_at = t.latest FROM (SELECT a.client_id, max(d.time) latest"
                " FROM trading_deal d JOIN trading_tradingaccount a ON a.id = d.account_id GROUP BY a.client_id) t"
                " WHERE c.id = t.client_id"
            )
    say(f"  deals: {loaded.deals:,} in {loaded.seconds['deals (deals_bulk_load)']:.1f} s")

    with _timed(loaded, "wallets + deposits (transactions_post_bulk)"):
        loaded.deposits = deposits_post(info, target, rng)
    say(f"  deposits: {loaded.deposits:,} in {loaded.seconds['wallets + deposits (transactions_post_bulk)']:.1f} s")

    with _timed(loaded, "ANALYZE"), connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    client = Client.objects.get(pk=target)
    loaded.target_id, loaded.target_email, loaded.target_phone = client.pk, client.email, client.phone
    loaded.target_name = f"{client.first_name} {client.last_name}"
    loaded.target_deals = TradingAccount.objects.filter(client=client).aggregate(n=Count("deals"))["n"]
    loaded.agent_clients = Client.objects.filter(sales_agent=agent).count()
    return loaded


FACTS_TABLE = "bench_crm_facts"


def facts_save(loaded: Loaded) -> None:
    """Kept in the tenant's schema, so a kept tenant can be benchmarked again without reloading (--reuse)."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {FACTS_TABLE} (data text)")
        cursor.execute(f"DELETE FROM {FACTS_TABLE}")  # noqa: S608
        cursor.execute(f"INSERT INTO {FACTS_TABLE} VALUES (%s)", [json.dumps(dataclasses.asdict(loaded))])  # noqa: S608


def facts_read() -> Loaded | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [FACTS_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT data FROM {FACTS_TABLE}")  # noqa: S608
        row = cursor.fetchone()
    if not row:
        return None
    return Loaded(**(json.loads(row[0]) if isinstance(row[0], str) else row[0]))


def scale_note(clients: int, events: int, deals: int) -> str:
    return f"{clients:,} clients, {events:,} timeline events, {deals:,} deals"
