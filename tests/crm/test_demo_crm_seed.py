"""The CRM demo data: what a newcomer opening the demo relies on, made through the services, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord, User
from crm.models import AssignmentRule, Client, Desk, EmailTemplate, Note, Notification, Segment, Task, TimelineEvent
from crm.segments import EXAMPLES, segment_clients
from crm.visibility import clients_visible_to
from demo.crm_seed import DESK_NAME, LEADS, RULE_NAME, seed_crm
from demo.seed import DemoTenant
from tests.factories import ClientFactory

SPEC = DemoTenant("alpha", "Alpha Markets", "alpha.localhost", "USD", "CySEC", "#0b7285", ("CY", "GR", "DE"))


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Client, Note, Task, Notification, TimelineEvent, AuditRecord, EmailTemplate, Segment, Desk,
                      AssignmentRule, User)
    }  # fmt: skip


@pytest.fixture
def seeded(alpha):
    with tenant_context(alpha):
        statuses = ["registered", "verified", "funded", "active", "active", "registered", "dormant", "funded"]
        existing = [
            ClientFactory(email=f"existing{n}@example.com", status=status, country="DE")
            for n, status in enumerate(statuses)
        ]
    seed_crm(alpha, SPEC)
    with tenant_context(alpha):
        yield existing


def test_sales_floor_two_agents_desk_and_rule(seeded):
    first, second = User.objects.get(email="sales@alpha.test"), User.objects.get(email="sales2@alpha.test")
    assert second.groups.filter(name="sales").exists()
    desk = Desk.objects.get(name=DESK_NAME)
    assert desk.manager == first
    assert set(desk.members.all()) == {first, second}
    rule = AssignmentRule.objects.get(name=RULE_NAME)
    assert rule.countries == ["GB", "IE"] and rule.is_active
    assert set(rule.members.values_list("user_id", flat=True)) == {first.pk, second.pk}


def test_half_of_the_clients_are_assigned_to_the_agents(seeded):
    agents = User.objects.filter(email__in=["sales@alpha.test", "sales2@alpha.test"])
    assigned = Client.objects.filter(pk__in=[c.pk for c in seeded], sales_agent__in=agents)
    assert assigned.count() == len(seeded) // 2
    assert {c.sales_agent.email for c in assigned} == {"sales@alpha.test", "sales2@alpha.test"}
    # The second agent sees their own clients (and leads), never the first agent's.
    second = User.objects.get(email="sales2@alpha.test")
    visible = clients_visible_to(second)
    assert visible.exists()
    assert not visible.exclude(sales_agent=second).exclude(retention_agent=second).exists()


def test_twenty_leads_in_stages_with_sources_tags_and_rule_assignment(seeded):
    leads = Client.objects.filter(email__endswith=".lead@example.com")
    assert leads.count() == len(LEADS) == 20
    stages = {stage: leads.filter(lead_stage=stage).count() for stage in ("new", "contacted", "qualified",
                                                                         "negotiation", "lost")}  # fmt: skip
    assert stages == {"new": 7, "contacted": 5, "qualified": 4, "negotiation": 2, "lost": 2}
    assert leads.filter(status=Client.Status.LEAD).count() == 20
    assert leads.filter(source="campaign").exclude(source_detail="").count() >= 8
    assert leads.filter(tags__contains=["gold"]).count() == 3
    assert all(lead.phone.startswith("+") for lead in leads)
    # GB/IE leads entered by the owner went to the London desk's agents by the rule.
    london = leads.filter(country__in=["GB", "IE"])
    assert london.count() == 7
    assert set(london.values_list("sales_agent__email", flat=True)) <= {"sales@alpha.test", "sales2@alpha.test"}
    assert not london.filter(sales_agent__isnull=True).exists()
    # Lost leads carry their reason on the timeline.
    lost = leads.filter(lead_stage="lost").first()
    stage_lines = TimelineEvent.objects.filter(client=lost, topic="crm.lead.stage_changed")
    assert stage_lines.filter(detail__icontains="spreads").exists()


def test_notes_calls_mentions_and_tasks(seeded):
    assert Note.objects.filter(kind="note").count() >= 4
    assert Note.objects.filter(kind="call").count() >= 4
    back_office = User.objects.get(email="backoffice@alpha.test")
    assert Note.objects.filter(mentions=back_office).exists()
    assert Notification.objects.filter(user=back_office, message__icontains="mentioned you").exists()
    assert TimelineEvent.objects.filter(kind="call").exists()

    open_tasks = Task.objects.filter(status="open")
    assert open_tasks.count() == 4
    assert {t.assignee.email for t in open_tasks} == {"sales@alpha.test", "sales2@alpha.test"}
    overdue = open_tasks.filter(due_at__lt=timezone.now())
    assert overdue.count() == 1
    assert overdue.get().due_at < timezone.now() - timedelta(days=1)


def test_templates_and_segments(seeded):
    assert set(EmailTemplate.objects.values_list("name", "language")) >= {
        ("Welcome", "en"), ("Welcome", "de"), ("Deposit reminder", "en"), ("Deposit reminder", "de"),
    }  # fmt: skip
    owner = User.objects.get(email="owner@alpha.test")
    names = {example["name"] for example in EXAMPLES}
    assert len(names) == 4
    for segment in Segment.objects.filter(name__in=names):
        list(segment_clients(segment, owner)[:5])  # every criterion key exists and builds a query
    assert Segment.objects.filter(name__in=names).count() == 4


def test_running_it_again_adds_nothing(alpha, seeded):
    before = _counts()
    seed_crm(alpha, SPEC)
    with tenant_context(alpha):
        assert _counts() == before


def test_the_deposit_reminder_promises_nothing_untrue_to_a_lead(seeded):
    for template in EmailTemplate.objects.filter(name="Deposit reminder"):
        text = f"{template.subject} {template.body}".lower()
        assert "verified" not in text and "verifiziert" not in text, template.language
        assert "{{ portal_url }}" in template.body


def test_the_balance_segment_is_in_the_tenants_own_currency(alpha):
    euro = DemoTenant("alpha", "Borealis FX", "alpha.localhost", "EUR", "FCA", "#7048e8", ("GB", "IE"))
    seed_crm(alpha, euro)
    with tenant_context(alpha):
        balance = Segment.objects.filter(name__startswith="Balance above")
        assert list(balance.values_list("name", flat=True)) == ["Balance above 1,000 EUR"]
        assert balance.get().criteria[0]["params"]["currency"] == "EUR"
        assert balance.get().description == "Wallet and trading funds in EUR."
        assert Segment.objects.count() == 4
        before = _counts()
    seed_crm(alpha, euro)
    with tenant_context(alpha):
        assert _counts() == before


def test_a_demo_seeded_before_the_fix_gets_its_segment_and_template_corrected(alpha):
    from crm import comms
    from crm.segments import segment_save
    from demo.crm_seed import OUTDATED_TEMPLATE_SUBJECTS, _staff

    euro = DemoTenant("alpha", "Borealis FX", "alpha.localhost", "EUR", "FCA", "#7048e8", ("GB", "IE"))
    with tenant_context(alpha):
        owner = _staff(euro)[0]
        usd = next(example for example in EXAMPLES if example["name"] == "Balance above 1,000 USD")
        old = segment_save(actor=owner, **usd)
        comms.email_template_save(
            actor=owner,
            name="Deposit reminder",
            language="en",
            subject=OUTDATED_TEMPLATE_SUBJECTS[("Deposit reminder", "en")],
            body="Dear {{ full_name }}, your account is verified.",
        )
    seed_crm(alpha, euro)
    with tenant_context(alpha):
        old.refresh_from_db()
        assert old.name == "Balance above 1,000 EUR" and old.criteria[0]["params"]["currency"] == "EUR"
        assert not Segment.objects.filter(name__icontains="USD").exists()
        reminder = EmailTemplate.objects.get(name="Deposit reminder", language="en")
        assert "verified" not in reminder.body
        before = _counts()
    seed_crm(alpha, euro)
    with tenant_context(alpha):
        assert _counts() == before
