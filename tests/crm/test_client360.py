"""/ops/crm/clients/<id>/: the client 360 page, its panels and alerts, and its timeline."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm.models import Client, TimelineEvent
from crm.timeline import timeline_record
from payments.withdrawals.services import withdrawal_request
from tests import factories
from tests.crm.support_client360 import crm_people
from tests.payments.deposit_helpers import methods
from tests.payments.withdrawals_support import BANK, card_deposit, fund
from tests.tenants.web import tenant_web_client
from trading.defaults import trading_defaults_ensure
from trading.models import Platform, SyncProblem, TradingAccount


@pytest.fixture
def people(alpha):
    with tenant_context(alpha):
        return crm_people()


def page(alpha, user, client: Client, path: str = "", **params):
    return tenant_web_client(alpha, user).get(f"/ops/crm/clients/{client.pk}/{path}", params)


def timeline_titles(response) -> list[str]:
    return re.findall(r'<span class="timeline-title">(?:<a href="[^"]*">)?([^<]*)', response.content.decode())


def test_the_page_shows_the_profile_kyc_and_agents(alpha, people):
    with tenant_context(alpha):
        Client.objects.filter(pk=people.ada.pk).update(
            native_name="エイダ", risk_level="high", source="ib", source_detail="IB-4711", city="London"
        )
    response = page(alpha, people.bea, people.ada)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Ada Lovelace" in body and "エイダ" in body
    assert "KYC: Approved" in body
    assert "Risk: High" in body
    assert "#vip" in body
    assert "+44 7911 123456" in body
    assert "<dt>Residence</dt><dd>United Kingdom</dd>" in body  # a country's name, not its code
    assert "Introduced by: IB code <strong>IB-4711</strong>" in body
    assert "High risk client" in body  # an alert
    assert f'href="/ops/crm/clients/{people.ada.pk}/edit/"' in body


def test_a_sales_agent_gets_not_found_for_another_agents_client(alpha, people):
    assert page(alpha, people.sam, people.zoe).status_code == 404
    assert page(alpha, people.sam, people.zoe, "timeline/").status_code == 404
    assert page(alpha, people.sam, people.ada).status_code == 200
    assert page(alpha, people.dan, people.ada).status_code == 200  # his desk
    assert page(alpha, people.dan, people.zoe).status_code == 404


def test_staff_who_cannot_change_see_no_edit_link(alpha, people):
    with tenant_context(alpha):
        fiona = factories.staff_user("fiona@alpha.test", roles=["finance"])
    body = page(alpha, fiona, people.ada).content.decode()
    assert "/edit/" not in body


def test_panels_show_wallets_payments_trading_and_their_alerts(alpha, people):
    with tenant_context(alpha):
        methods()
        trading_defaults_ensure()
        card_deposit(people.ada, D("500.00"))
        fund(people.ada, D("1000.00"), "EUR")
        withdrawal_request(
            client=people.ada, method=methods()["bank-wire"], currency="EUR", amount=D("300.00"), destination=BANK,
            actor=people.bea,
        )  # fmt: skip
        platform = Platform.objects.get(code="sim-live")
        TradingAccount.objects.create(
            login="500123", platform=platform, client=people.ada, group="g", leverage=100, currency="USD",
            balance=D("1234.50"), equity=D("1300.00"), state_at=timezone.now() - timedelta(days=2),
        )  # fmt: skip
        SyncProblem.objects.create(platform=platform, kind="booking", subject="500123", message="Not booked yet.")
    body = page(alpha, people.bea, people.ada).content.decode()
    assert 'id="panel-wallets"' in body and "1,000.00 EUR" in body
    assert 'id="panel-payments"' in body and "500.00 USD" in body and "300.00 EUR" in body
    assert 'id="panel-trading"' in body and "500123" in body and "1,234.50 USD" in body
    alerts = body[body.index('id="client-alerts"') : body.index('id="client-profile"')]
    assert "Withdrawal of 300.00 EUR" in alerts
    assert "Figures of 500123 are stale" in alerts
    assert "Sync problem on 500123: Not booked yet." in alerts


def test_a_sales_agent_sees_no_money_panels(alpha, people):
    body = page(alpha, people.sam, people.ada).content.decode()
    assert 'id="panel-wallets"' not in body
    assert 'id="panel-trading"' not in body


def test_the_timeline_is_newest_first_filtered_by_kind_and_text(alpha, people):
    now = timezone.now()
    with tenant_context(alpha):
        for minutes, kind, title in [
            (30, "payments", "Deposit of 100.00 USD by Card completed"),
            (20, "trading", "3 deals on 500123 (2 closed, P/L +36.50 USD)"),
            (10, "note", "Called about the bonus"),
        ]:
            timeline_record(
                client_id=people.ada.pk, kind=kind, topic="t", title=title, occurred_at=now - timedelta(minutes=minutes)
            )
        timeline_record(client_id=people.zoe.pk, kind="note", topic="t", title="Zoe's note")
    assert timeline_titles(page(alpha, people.bea, people.ada)) == [
        "Called about the bonus",
        "3 deals on 500123 (2 closed, P/L +36.50 USD)",
        "Deposit of 100.00 USD by Card completed",
    ]
    assert timeline_titles(page(alpha, people.bea, people.ada, "timeline/", kind=["payments", "trading"])) == [
        "3 deals on 500123 (2 closed, P/L +36.50 USD)",
        "Deposit of 100.00 USD by Card completed",
    ]
    assert timeline_titles(page(alpha, people.bea, people.ada, "timeline/", tq="BONUS")) == ["Called about the bonus"]
    assert timeline_titles(page(alpha, people.bea, people.ada, "timeline/", kind="kyc")) == []


def test_the_timeline_pages_by_50_with_more(alpha, people):
    now = timezone.now()
    with tenant_context(alpha):
        TimelineEvent.objects.bulk_create(
            [
                TimelineEvent(
                    client=people.ada,
                    kind="note",
                    topic="t",
                    title=f"Event {n:03d}",
                    occurred_at=now - timedelta(minutes=n),
                )
                for n in range(120)
            ]
            # Two lines at the same moment: the page boundary must not lose or repeat one.
            + [
                TimelineEvent(
                    client=people.ada,
                    kind="note",
                    topic="t",
                    title="Event 049b",
                    occurred_at=now - timedelta(minutes=49),
                )
            ]
        )
    seen: list[str] = []
    response = page(alpha, people.bea, people.ada)
    for _ in range(5):
        titles = timeline_titles(response)
        seen += titles
        more = re.search(r'hx-get="([^"]+/timeline/\?[^"]+)"', response.content.decode())
        if not more:
            break
        assert len(titles) == 50
        response = tenant_web_client(alpha, people.bea).get(more.group(1).replace("&amp;", "&"))
    assert len(seen) == 121
    assert len(set(seen)) == 121
    assert seen[0] == "Event 000" and seen[-1] == "Event 119"


def test_the_more_link_keeps_the_filters(alpha, people):
    now = timezone.now()
    with tenant_context(alpha):
        TimelineEvent.objects.bulk_create(
            [
                TimelineEvent(
                    client=people.ada, kind=kind, topic="t", title=f"{kind} {n}", occurred_at=now - timedelta(minutes=n)
                )
                for n in range(60)
                for kind in ("payments", "note")
            ]
        )
    first = page(alpha, people.bea, people.ada, "timeline/", kind="payments")
    more = re.search(r'hx-get="([^"]+/timeline/\?[^"]+)"', first.content.decode()).group(1).replace("&amp;", "&")
    assert "kind=payments" in more
    rest = timeline_titles(tenant_web_client(alpha, people.bea).get(more))
    assert rest == [f"payments {n}" for n in range(50, 60)]
