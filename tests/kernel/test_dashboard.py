"""The ops dashboard: exact figures on a handmade data set, links that open lists showing those
items, cards per capability, and a sales agent counting only their own clients."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.dashboard import _CARDS
from brokerage.models import FailedJob, OutboxEvent
from crm.models import Client
from kyc.models import Review
from payments.models import Deposit, StatementEntry, StatementImport, Withdrawal
from tests import factories
from tests.kernel import support_dashboard as data
from tests.kernel.support_dashboard import no_dashboard_cache  # noqa: F401 - fixture
from tests.tenants.web import tenant_web_client
from trading.models import SyncProblem

W = Withdrawal.Status


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_dashboard_cache")]


def card(title: str):
    return next(c for c in _CARDS if c.title == title)


def reading(title: str, user=None):
    found = card(title)
    source = found.reading or found.value
    return source(user) if found.needs_user else source()


def days() -> list:
    today = timezone.localdate()
    return [today - timedelta(days=n) for n in range(6, -1, -1)]


@pytest.fixture
def money(in_alpha):
    """Carl and Cleo's deposits and withdrawals over the last days, in USD and EUR."""
    carl = data.client("carl@dash.test")
    cleo = data.client("cleo@dash.test")
    made = {
        "usd_today_1": data.deposit(carl, "100.00"),
        "usd_today_2": data.deposit(cleo, "250.50"),
        "eur_today": data.deposit(carl, "80.00", "EUR"),
        "usd_yesterday": data.deposit(carl, "40.00", at=data.days_ago(1)),
        "eur_3_days": data.deposit(cleo, "10.00", "EUR", at=data.days_ago(3)),
        "usd_8_days": data.deposit(cleo, "999.00", at=data.days_ago(8)),  # outside the 7 days
        "pending": data.deposit(carl, "500.00", status=Deposit.Status.PENDING),
        "failed": data.deposit(carl, "600.00", status=Deposit.Status.FAILED),
        "review_old": data.withdrawal(
            carl,
            "100.00",
            at=data.days_ago(
                2,
            ),
        ),
        "review_new": data.withdrawal(cleo, "50.00"),
        "second": data.withdrawal(cleo, "70.00", "EUR", status=W.PENDING_SECOND_APPROVAL, at=data.days_ago(0.5)),
        "approved": data.withdrawal(carl, "20.00", status=W.APPROVED),
        "processing": data.withdrawal(carl, "30.00", status=W.PROCESSING),
        "paid_today": data.withdrawal(cleo, "30.00", status=W.PAID),
        "paid_yesterday": data.withdrawal(cleo, "12.00", "EUR", status=W.PAID, at=data.days_ago(1)),
        "rejected": data.withdrawal(carl, "5.00", status=W.REJECTED),
        "carl": carl,
        "cleo": cleo,
    }
    return made


def test_deposits_today_are_totalled_per_currency_with_yesterday_and_a_7_day_trend(money):
    shown = reading("Deposits today")
    assert shown.value == 3
    eur, usd = shown.figures  # currencies in alphabetical order
    assert (usd.label, usd.value) == ("USD", "350.50 USD")
    assert usd.detail == "2 today · yesterday 40.00 USD"
    assert [value for _, value in usd.trend] == [0, 0, 0, 0, 0, D("40.00"), D("350.50")]
    assert [day for day, _ in usd.trend] == days()
    assert (eur.label, eur.value) == ("EUR", "80.00 EUR")
    assert [value for _, value in eur.trend] == [0, 0, 0, D("10.00"), 0, 0, D("80.00")]
    assert card("Deposits today").value() == 3


def test_open_withdrawals_show_the_amount_per_currency_and_the_oldest_wait(money):
    shown = reading("Open withdrawals")
    assert shown.value == 3  # waiting for a decision: two in review, one for a second approval
    eur, usd = shown.figures[:2]
    assert (usd.label, usd.value) == ("USD", "150.00 USD")
    assert usd.detail.startswith("2 waiting · oldest 2 d ")
    assert (eur.label, eur.value, eur.detail) == ("EUR", "70.00 EUR", "1 waiting · oldest 12 h 0 min")
    approved, processing = shown.figures[2:]
    assert (approved.label, approved.value) == ("Approved, not sent", 1)
    assert (processing.label, processing.value) == ("Sent, not paid", 1)
    assert shown.detail.startswith("waiting for a decision · oldest 2 d ")
    assert shown.tone == "alert"  # the oldest has waited over two days


def test_withdrawals_paid_today_never_adds_currencies(money):
    shown = reading("Withdrawals paid today")
    assert shown.value == 1
    eur, usd = shown.figures
    assert (usd.value, usd.detail) == ("30.00 USD", "1 today · yesterday 0.00 USD")
    assert (eur.value, eur.detail) == ("0.00 EUR", "0 today · yesterday 12.00 EUR")


def test_trading_volume_counts_live_trades_only_with_a_trend(in_alpha):
    owner = data.client("trader@dash.test")
    live = data.account(owner, "700001")
    demo = data.account(owner, "900001", is_demo=True)
    data.deal(live, 1, "1.25")
    data.deal(live, 2, "0.75", action="sell")
    data.deal(live, 3, "9", action="balance")
    data.deal(demo, 4, "5.00")
    data.deal(live, 5, "2.00", at=data.days_ago(1))
    shown = reading("Trading volume today (lots)")
    assert shown.value == D("2.00")
    assert [value for _, value in shown.trend] == [0, 0, 0, 0, 0, D("2.00"), D("2.00")]
    assert shown.detail == "live buy and sell deals · yesterday 2.00"


def test_new_clients_and_first_deposits_today(in_alpha):
    now = timezone.now()
    data.client("a@dash.test")
    data.client("b@dash.test", status=Client.Status.LEAD)
    data.client("c@dash.test", first_deposit_at=now, first_deposit_amount=D("100"), first_deposit_currency="USD")
    data.client("d@dash.test", at=data.days_ago(1), first_deposit_at=now, first_deposit_amount=D("50"),
                first_deposit_currency="EUR")  # fmt: skip
    data.client("e@dash.test", at=data.days_ago(1))
    data.client("f@dash.test", at=data.days_ago(2), first_deposit_at=data.days_ago(2),
                first_deposit_amount=D("10"), first_deposit_currency="USD")  # fmt: skip
    alice = factories.staff_user("alice@dash.test", roles=["owner"])

    new = reading("New clients today", alice)
    assert new.value == 3
    assert [(f.label, f.value) for f in new.figures] == [("Leads", 1), ("Sign-ups", 2)]
    assert [value for _, value in new.trend] == [0, 0, 0, 0, 1, 2, 3]

    ftd = reading("First deposits today", alice)
    assert ftd.value == 2
    assert [(f.label, f.value, f.detail) for f in ftd.figures] == [
        ("EUR", "50.00 EUR", "1 client"),
        ("USD", "100.00 USD", "1 client"),
    ]
    assert [value for _, value in ftd.trend] == [0, 0, 0, 0, 1, 0, 2]


def test_a_sales_agent_counts_only_their_own_clients(in_alpha):
    sam = factories.staff_user("sam@dash.test", roles=["sales"])
    other = factories.staff_user("olga@dash.test", roles=["sales"])
    now = timezone.now()
    data.client("mine@dash.test", sales_agent=sam, first_deposit_at=now, first_deposit_amount=D("5"),
                first_deposit_currency="USD")  # fmt: skip
    data.client("theirs@dash.test", sales_agent=other, first_deposit_at=now, first_deposit_amount=D("7"),
                first_deposit_currency="USD")  # fmt: skip
    data.client("nobody@dash.test")
    assert card("Clients").value(sam) == 1
    assert reading("New clients today", sam).value == 1
    assert reading("First deposits today", sam).figures[0].value == "5.00 USD"
    assert card("Clients").value(other) == 1


def test_the_clients_figure_leaves_leads_to_the_pipeline(in_alpha):
    owner = factories.staff_user("owner@dash.test", roles=["owner"])
    data.client("registered@dash.test")
    data.client("lead@dash.test", status=Client.Status.LEAD)
    assert card("Clients").value(owner) == 1


def test_kept_figures_are_kept_per_viewer_scope(in_alpha, monkeypatch):
    """The minute-long cache never hands one agent's count (or the whole tenant's) to another."""
    from django.core.cache.backends.locmem import LocMemCache

    from brokerage import dashboard

    monkeypatch.setattr(dashboard, "cache", LocMemCache("dashboard-scope-test", {}))
    sam = factories.staff_user("sam@dash.test", roles=["sales"])
    olga = factories.staff_user("olga@dash.test", roles=["sales"])
    alice = factories.staff_user("alice@dash.test", roles=["owner"])
    data.client("s1@dash.test", sales_agent=sam, at=data.days_ago(1))
    data.client("o1@dash.test", sales_agent=olga, at=data.days_ago(1))
    data.client("o2@dash.test", sales_agent=olga, at=data.days_ago(1))
    assert card("Clients").value(alice) == 3
    assert card("Clients").value(sam) == 1
    assert card("Clients").value(olga) == 2
    assert reading("New clients today", alice).trend[-2][1] == 3
    assert reading("New clients today", sam).trend[-2][1] == 1
    data.client("o3@dash.test", sales_agent=olga)
    assert card("Clients").value(olga) == 2  # kept for a minute
    assert reading("New clients today", olga).value == 1  # today's figure is always read now


def test_pending_kyc_reviews_with_the_oldest_wait(in_alpha):
    k1 = data.client("k1@dash.test", kyc_status=Client.KycStatus.PENDING)
    k2 = data.client("k2@dash.test", kyc_status=Client.KycStatus.PENDING)
    k3 = data.client("k3@dash.test", kyc_status=Client.KycStatus.APPROVED)
    data.client("r1@dash.test", status=Client.Status.REGISTERED)
    oldest = Review.objects.create(client=k1)
    Review.objects.filter(pk=oldest.pk).update(opened_at=data.days_ago(3))
    Review.objects.create(client=k2)
    Review.objects.create(client=k3, status=Review.Status.APPROVED)  # decided: not waiting
    alice = factories.staff_user("alice@dash.test", roles=["owner"])
    shown = reading("Pending KYC reviews", alice)
    assert shown.value == 2
    assert shown.detail.startswith("oldest waiting 3 d ")
    assert shown.tone == "alert"  # waited (just) over three days
    assert shown.figures[0].label == "Awaiting verification"
    assert shown.figures[0].value == 4  # every client above is "registered" (the factory's default status)
    assert [(f.label, f.value) for f in shown.figures[1:]] == [("Over the SLA", 1), ("Second approval", 0)]


def test_needs_attention_counts_sync_problems_reconciliation_exceptions_and_failed_jobs(in_alpha):
    data.account(None, "700002")
    from trading.models import Platform

    platform = Platform.objects.get(code="sim-live")
    SyncProblem.objects.create(platform=platform, kind="unknown_symbol", subject="XYZ", message="x")
    SyncProblem.objects.create(platform=platform, kind="unknown_login", subject="1", message="y",
                               resolved_at=timezone.now())  # fmt: skip
    statement = StatementImport.objects.create(format="mt940", filename="s.txt", sha256="a" * 64)
    for line, status in enumerate(["exception", "exception", "matched"], start=1):
        StatementEntry.objects.create(statement=statement, line_no=line, amount=D("1"), currency="EUR", status=status)
    FailedJob.objects.create(task_name="x.y", failed_at=timezone.now())
    FailedJob.objects.create(task_name="x.z", failed_at=timezone.now(), resolved_at=timezone.now())
    OutboxEvent.objects.create(topic="t.gave_up", dispatch_attempts=20)
    OutboxEvent.objects.create(topic="t.trying", dispatch_attempts=3)
    OutboxEvent.objects.create(topic="t.done", dispatch_attempts=25, delivered_at=timezone.now())

    platforms = reading("Platforms with problems")
    assert platforms.value == 1
    assert platforms.detail.startswith("1 open sync problem · oldest ")
    assert reading("Reconciliation exceptions").value == 2
    jobs = reading("Failed jobs")
    assert jobs.value == 2
    assert [(f.label, f.value) for f in jobs.figures] == [("Tasks failed", 1), ("Events not delivered", 1)]


# Pages --------------------------------------------------------------------------------------------------


def _card_links(html: str) -> dict[str, list[str]]:
    """Every link inside each card, by card title."""
    links = {}
    for title, body in re.findall(r'data-card="([^"]+)">(.*?)</section>', html, re.S):
        links[title] = [href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+)"', body)]
    return links


@pytest.fixture
def alice(alpha):
    with tenant_context(alpha):
        return factories.staff_user("alice@alpha.test", roles=["owner"])


def test_every_card_link_opens_a_page_that_shows_its_items(alpha, alice, money):
    with tenant_context(alpha):
        money["carl"].kyc_status = Client.KycStatus.PENDING
        money["carl"].save()
        Review.objects.create(client=money["carl"])
        data.deal(data.account(money["carl"], "700009"), 77, "1.50")
    web = tenant_web_client(alpha, alice)
    page = web.get("/ops/")
    assert page.status_code == 200
    links = _card_links(page.content.decode())
    assert set(links) >= {
        "Deposits today", "Open withdrawals", "Withdrawals paid today", "Trading volume today (lots)",
        "New clients today", "First deposits today", "Pending KYC reviews", "Failed jobs", "Clients",
    }  # fmt: skip
    for title, hrefs in links.items():
        for href in hrefs:
            response = web.get(href, follow=True)
            assert response.status_code == 200, (title, href)

    today = timezone.localdate().isoformat()
    usd_deposits = web.get(f"/ops/payments/deposits/?status=completed&currency=USD&date_from={today}&date_to={today}")
    assert (
        f"/ops/payments/deposits/?status=completed&currency=USD&date_from={today}&date_to={today}"
        in links["Deposits today"]
    )
    html = usd_deposits.content.decode()
    assert str(money["usd_today_1"].public_id) in html and str(money["usd_today_2"].public_id) in html
    assert str(money["eur_today"].public_id) not in html and str(money["pending"].public_id) not in html

    assert "/ops/payments/withdrawals/?status=open" in links["Open withdrawals"]
    queue = web.get("/ops/payments/withdrawals/?status=open").content.decode()
    for key in ("review_old", "review_new", "second"):
        assert str(money[key].public_id) in queue
    assert str(money["approved"].public_id) not in queue
    approved = web.get("/ops/payments/withdrawals/?status=approved").content.decode()
    assert str(money["approved"].public_id) in approved

    deals = web.get("/ops/trading/deals/today/", follow=True).content.decode()
    assert "700009" in deals

    assert "/ops/kyc/" in links["Pending KYC reviews"]
    pending = web.get("/ops/kyc/").content.decode()
    assert "carl@dash.test" in pending and "cleo@dash.test" not in pending


def test_cards_follow_the_viewers_capabilities(alpha):
    with tenant_context(alpha):
        people = {
            role: factories.staff_user(f"{role}@caps.test", roles=[role])
            for role in ("owner", "finance", "dealing", "sales", "support")
        }

    def titles(role):
        html = tenant_web_client(alpha, people[role]).get("/ops/").content.decode()
        return set(re.findall(r'data-card="([^"]+)"', html))

    money = {"Deposits today", "Open withdrawals", "Withdrawals paid today", "Reconciliation exceptions"}
    trading = {"Trading volume today (lots)", "Platforms with problems"}
    clients = {"Clients", "New clients today", "First deposits today"}
    assert titles("owner") >= money | trading | clients | {"Pending KYC reviews", "Failed jobs", "Active staff"}
    assert titles("finance") == money | clients
    assert titles("dealing") == trading | clients
    assert titles("sales") == clients
    assert titles("support") == clients | {"Pending KYC reviews"}


def test_the_dashboard_makes_a_bounded_number_of_queries(alpha, alice, money):
    """One query per figure (plus session, permissions, menu and bell); django-tenants' SET search_path
    before each query is not counted."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    web = tenant_web_client(alpha, alice)
    web.get("/ops/")
    with CaptureQueriesContext(connection) as context:
        assert web.get("/ops/").status_code == 200
    queries = [q["sql"] for q in context.captured_queries if not q["sql"].startswith("SET search_path")]
    assert len(queries) <= 28, "\n".join(queries)
