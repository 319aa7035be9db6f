"""Demo data for the CRM: a sales floor (two agents, the London desk, a GB/IE rule), assigned clients,
leads along the pipeline, notes and calls with @mentions, tasks, email templates and the ready-made
segments.

Everything goes through the CRM's services (lead_create, lead_stage_set, note_add, task_create,
email_template_save, desk_create, rule_create, clients_reassign, segment_save), so the
demo data obeys the same rules, audit trail and timeline as staff work. Run once per demo tenant after
seed_tenant, seed_payments and seed_trading; idempotent: a second run finds what the first made
(by desk, rule, template and segment name, lead email, note text, task title) and adds nothing.
"""

from __future__ import annotations

from datetime import timedelta

import phonenumbers
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.models import User
from crm.models import AssignmentRule, Client, Desk, EmailTemplate, Note, Segment, Task
from demo.seed import DemoTenant, _user
from tenants.models import Tenant

DESK_NAME = "London desk"
RULE_NAME = "UK and Ireland to the London desk"
# (first name, last name, country, source, source detail, tags, stage)
LEADS = [
    ("Oliver", "Hughes", "GB", "campaign", "spring-fx-2026", ["webinar"], "new"),
    ("Amelia", "Clarke", "GB", "campaign", "google-brand", [], "new"),
    ("Sean", "Murphy", "IE", "referral", "Referred by client #1", ["callback"], "contacted"),
    ("Aoife", "Byrne", "IE", "campaign", "meta-retarget", ["gold"], "qualified"),
    ("Harry", "Wright", "GB", "ib", "IB204", ["vip"], "negotiation"),
    ("Lena", "Vogel", "DE", "campaign", "gold-webinar", ["gold", "webinar"], "new"),
    ("Jonas", "Keller", "DE", "organic", "", [], "contacted"),
    ("Marta", "Nowak", "PL", "campaign", "spring-fx-2026", [], "contacted"),
    ("Piotr", "Zielinski", "PL", "referral", "Referred by client #3", ["callback"], "qualified"),
    ("Eleni", "Georgiou", "CY", "ib", "IB117", [], "new"),
    ("Nikos", "Christou", "CY", "campaign", "crypto-launch", ["crypto"], "lost"),
    ("Sofia", "Papadaki", "GR", "campaign", "meta-retarget", [], "contacted"),
    ("Thabo", "Nkosi", "ZA", "organic", "", ["swing"], "qualified"),
    ("Ingrid", "Haugen", "NO", "campaign", "google-brand", [], "new"),
    ("Erik", "Lindberg", "SE", "ib", "IB204", ["scalper"], "negotiation"),
    ("Aino", "Virtanen", "FI", "campaign", "gold-webinar", ["gold"], "new"),
    ("Giulia", "Ferri", "IT", "referral", "Referred by client #5", [], "lost"),
    ("Lucas", "Moreau", "FR", "campaign", "black-friday", ["newsletter"], "contacted"),
    ("Chloe", "Evans", "GB", "organic", "", [], "qualified"),
    ("Ciaran", "Walsh", "IE", "campaign", "crypto-launch", ["crypto", "callback"], "new"),
]
STAGE_PATH = {
    "new": [],
    "contacted": ["contacted"],
    "qualified": ["contacted", "qualified"],
    "negotiation": ["contacted", "qualified", "negotiation"],
    "lost": ["contacted", "lost"],
}
TEMPLATES = [
    (
        "Welcome",
        "en",
        "Welcome to {{ broker_name }}, {{ first_name }}",
        "Dear {{ full_name }},\n\nwelcome to {{ broker_name }}. Your client area is at {{ portal_url }}: "
        "verify your identity there and fund your account to start trading.\n\nKind regards,\n{{ broker_name }}",
    ),
    (
        "Welcome",
        "de",
        "Willkommen bei {{ broker_name }}, {{ first_name }}",
        "Guten Tag {{ full_name }},\n\nwillkommen bei {{ broker_name }}. Ihr Kundenbereich: {{ portal_url }}. "
        "Bitte bestätigen Sie dort Ihre Identität und zahlen Sie ein, um zu handeln.\n\n"
        "Mit freundlichen Grüßen\n{{ broker_name }}",
    ),
    # Sent to leads and clients alike (by hand or to a segment): it promises nothing about verification.
    (
        "Deposit reminder",
        "en",
        "{{ first_name }}, fund your account when you are ready",
        "Dear {{ full_name }},\n\nwhen you are ready to trade, fund your account at {{ broker_name }} in your "
        "client area ({{ portal_url }}) by card or bank wire. If we still need a document to verify your "
        "identity, the client area shows which one.\n\nKind regards,\n{{ broker_name }}",
    ),
    (
        "Deposit reminder",
        "de",
        "{{ first_name }}, zahlen Sie ein, wann immer Sie bereit sind",
        "Guten Tag {{ full_name }},\n\nwenn Sie handeln möchten, zahlen Sie im Kundenbereich von "
        "{{ broker_name }} ({{ portal_url }}) per Karte oder Überweisung ein. Falls wir zur Bestätigung Ihrer "
        "Identität noch ein Dokument brauchen, sehen Sie dort, welches.\n\n"
        "Mit freundlichen Grüßen\n{{ broker_name }}",
    ),
]
# What earlier demo seeds wrote ("your account is verified", untrue for a lead): replaced on the next run.
OUTDATED_TEMPLATE_SUBJECTS = {
    ("Deposit reminder", "en"): "{{ first_name }}, your account is ready for a first deposit",
    ("Deposit reminder", "de"): "{{ first_name }}, Ihr Konto ist bereit für die erste Einzahlung",
}
BALANCE_SEGMENT_AMOUNT = 1000


def _phone(country: str, number: int) -> str:
    """A valid mobile number of `country` (its example number with other last digits)."""
    example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    for attempt in range(100):
        candidate = phonenumbers.parse(f"+{example.country_code}{national[:-2]}{(number + attempt) % 100:02d}")
        if phonenumbers.is_valid_number(candidate):
            return phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def _staff(spec: DemoTenant) -> tuple[User, User, User, User]:
    """The owner (manages the CRM), the two sales agents and back office (for @mentions)."""
    owner = _user(f"owner@{spec.slug}.test", first_name="Owner", last_name=spec.name.split()[0], roles=["owner"],
                  staff_mfa=True)  # fmt: skip
    first = _user(f"sales@{spec.slug}.test", first_name="Sales", last_name=spec.name.split()[0], roles=["sales"],
                  staff_mfa=True)  # fmt: skip
    second = _user(f"sales2@{spec.slug}.test", first_name="Sasha", last_name="Seller", roles=["sales"], staff_mfa=True)
    back_office = _user(f"backoffice@{spec.slug}.test", first_name="Back", last_name=spec.name.split()[0],
                        roles=["back_office"], staff_mfa=True)  # fmt: skip
    return owner, first, second, back_office


def _sales_floor(owner: User, first: User, second: User) -> None:
    from crm.desks import desk_create, rule_create

    if not Desk.objects.filter(name=DESK_NAME).exists():
        desk_create(actor=owner, name=DESK_NAME, manager=first, members=[first, second])
    if not AssignmentRule.objects.filter(name=RULE_NAME).exists():
        rule_create(
            actor=owner,
            data={"name": RULE_NAME, "team": "sales", "countries": ["GB", "IE"], "priority": 10,
                  "agents": [first, second]},
        )  # fmt: skip


def _assign_half(owner: User, first: User, second: User, spec: DemoTenant) -> None:
    """Every other existing client (by email) to the agents in turn; the demo client to the first agent."""
    from crm.assignment import clients_reassign

    clients = list(Client.objects.exclude(status=Client.Status.LEAD).order_by("email").values_list("pk", "email"))
    chosen = [pk for index, (pk, email) in enumerate(clients) if index % 2 == 0 or email == f"client@{spec.slug}.test"]
    unassigned = set(
        Client.objects.filter(pk__in=chosen, sales_agent__isnull=True, retention_agent__isnull=True).values_list(
            "pk", flat=True
        )
    )
    demo_client = Client.objects.filter(email=f"client@{spec.slug}.test").values_list("pk", flat=True).first()
    for_first = [pk for n, pk in enumerate(chosen) if pk in unassigned and (n % 2 == 0 or pk == demo_client)]
    for_second = [pk for pk in chosen if pk in unassigned and pk not in for_first]
    if for_first:
        clients_reassign(actor=owner, client_ids=for_first, sales_agent=first)
    if for_second:
        clients_reassign(actor=owner, client_ids=for_second, sales_agent=second)


def _leads(owner: User, first: User, spec: DemoTenant) -> None:
    """20 leads: entered by the owner (the GB/IE rule hands those on) or by the first agent (theirs)."""
    from crm.leads import lead_create, lead_stage_set

    for number, (first_name, last_name, country, source, detail, tags, stage) in enumerate(LEADS):
        email = f"{first_name}.{last_name}.lead@example.com".lower()
        if Client.objects.filter(email__iexact=email).exists():
            continue
        actor = first if number % 4 == 3 else owner
        lead = lead_create(
            actor=actor,
            data={"first_name": first_name, "last_name": last_name, "email": email, "phone": _phone(country, number),
                  "country": country, "source": source, "source_detail": detail, "tags": tags},
        )  # fmt: skip
        for step in STAGE_PATH[stage]:
            reason = "Chose another broker (spreads)" if step == "lost" else ""
            lead = lead_stage_set(actor=owner, client=lead, stage=step, reason=reason)


def _notes(first: User, second: User, back_office: User) -> None:
    """Notes and calls on the agents' clients, some mentioning a colleague (who gets a notification)."""
    from crm.comms import note_add

    plan = []
    first_clients = list(Client.objects.filter(sales_agent=first).exclude(status="lead").order_by("email")[:3])
    second_clients = list(Client.objects.filter(sales_agent=second).exclude(status="lead").order_by("email")[:2])
    for client in first_clients:
        plan += [
            (first, client, "note", f"Asked about gold spreads and leverage. @{back_office.email} can you confirm "
                                    "the documents we still need?", {}),
            (first, client, "call", "Walked through the platform; will fund next week.",
             {"call_direction": "outbound", "call_outcome": "answered", "call_duration_seconds": 540}),
        ]  # fmt: skip
    for client in second_clients:
        plan += [
            (second, client, "call", "", {"call_direction": "outbound", "call_outcome": "no_answer"}),
            (second, client, "note", f"Wants a call back in German. @{first.email} could you take it?", {}),
        ]
    for author, client, kind, body, call in plan:
        if Note.objects.filter(client=client, author=author, kind=kind, body=body).exists():
            continue
        note_add(actor=author, client=client, body=body, kind=kind, **call)


def _tasks(owner: User, first: User, second: User) -> None:
    """Open tasks for both agents; one overdue (made as it would have been, days ago, then its time passed)."""
    from crm.comms import task_create

    now = timezone.now()
    first_client = Client.objects.filter(sales_agent=first).exclude(status="lead").order_by("email").first()
    second_client = Client.objects.filter(sales_agent=second).exclude(status="lead").order_by("email").first()
    lead = Client.objects.filter(status="lead", sales_agent=first).order_by("email").first()
    plan = [
        (owner, first, first_client, "Call back about the first deposit", now + timedelta(days=1), False),
        (first, first, lead, "Send the gold webinar recording", now + timedelta(hours=4), False),
        (owner, second, second_client, "Check the proof of address is readable", now + timedelta(days=2), False),
        (first, second, second_client, "Follow up on the unanswered call", now + timedelta(minutes=10), True),
    ]
    for actor, assignee, client, title, due_at, overdue in plan:
        if Task.objects.filter(assignee=assignee, title=title).exists():
            continue
        task = task_create(actor=actor, title=title, due_at=due_at, assignee=assignee, client=client)
        if overdue:  # task_create refuses a time in the past; the demo shows one that was missed
            Task.objects.filter(pk=task.pk).update(due_at=now - timedelta(days=2), created_at=now - timedelta(days=5))


def _templates(owner: User) -> None:
    from crm.comms import email_template_save

    for name, language, subject, body in TEMPLATES:
        existing = EmailTemplate.objects.filter(name__iexact=name, language=language).first()
        if existing is None:
            email_template_save(actor=owner, name=name, language=language, subject=subject, body=body)
        elif existing.subject == OUTDATED_TEMPLATE_SUBJECTS.get((name, language)):
            email_template_save(actor=owner, template=existing, name=name, language=language, subject=subject,
                                body=body, is_active=existing.is_active)  # fmt: skip


def _balance_example(currency: str) -> dict:
    return {
        "name": f"Balance above {BALANCE_SEGMENT_AMOUNT:,} {currency}",
        "description": f"Wallet and trading funds in {currency}.",
        "criteria": [{"key": "balance_above", "params": {"amount": str(BALANCE_SEGMENT_AMOUNT), "currency": currency}}],
    }


def _segments(owner: User, spec: DemoTenant) -> None:
    """The ready-made segments, the balance one in the tenant's own currency (a EUR broker's demo
    counts euros). One an earlier seed made in another currency is moved over."""
    from crm.segments import EXAMPLES, criteria_problem, segment_save

    ours = _balance_example(spec.currency)
    examples = []
    for example in EXAMPLES:
        if any(criterion["key"] == "balance_above" for criterion in example["criteria"]):
            stale = Segment.objects.filter(name__iexact=example["name"], created_by=owner).first()
            moved = stale is not None and example["name"] != ours["name"]
            if moved and not Segment.objects.filter(name__iexact=ours["name"]).exists():
                segment_save(actor=owner, segment=stale, **ours)
            example = ours
        examples.append(example)
    for example in examples:
        if criteria_problem(example["criteria"], owner):
            continue  # over money or trading the owner may not see
        if not Segment.objects.filter(name__iexact=example["name"]).exists():
            segment_save(actor=owner, **example)


def seed_crm(tenant: Tenant, spec: DemoTenant) -> None:
    """The CRM's demo data for one demo tenant (see the module docstring)."""
    with tenant_context(tenant), transaction.atomic():
        owner, first, second, back_office = _staff(spec)
        _sales_floor(owner, first, second)
        _assign_half(owner, first, second, spec)
        _leads(owner, first, spec)
        _notes(first, second, back_office)
        _tasks(owner, first, second)
        _templates(owner)
        _segments(owner, spec)
