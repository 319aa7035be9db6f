"""Watchlists and KYC files for the screening tests: lists are written straight into the shared
(public) tables the way a load leaves them, so each test says exactly which entries exist."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.utils import timezone

from crm.models import Client
from kyc.models import Document, FinancialProfile, Questionnaire, QuestionnaireAnswer
from tests import factories
from watchlists.models import Entry, ListVersion


@dataclass(frozen=True)
class Listed:
    entry_id: str
    name: str
    aliases: tuple[str, ...] = ()
    dates_of_birth: tuple[str, ...] = ()
    nationalities: tuple[str, ...] = ()
    programs: tuple[str, ...] = ("SDGT",)
    is_pep: bool = False
    kind: str = Entry.Kind.PERSON
    remarks: str = ""

    def content(self) -> dict:
        return {
            "kind": self.kind,
            "name": self.name,
            "aliases": list(self.aliases),
            "dates_of_birth": list(self.dates_of_birth),
            "nationalities": list(self.nationalities),
            "programs": list(self.programs),
            "is_pep": self.is_pep,
        }


def watchlist_load(*listed: Listed, source: str = ListVersion.Source.OFAC_SDN) -> ListVersion:
    """A new current version of `source` holding exactly `listed` (the previous one stops being current)."""
    ListVersion.objects.filter(source=source, is_current=True).update(is_current=False)
    version = ListVersion.objects.create(
        source=source,
        format="test",
        file_name=f"{source}.test",
        sha256=hashlib.sha256(repr(listed).encode()).hexdigest(),
        entry_count=len(listed),
        added=len(listed),
        is_current=True,
    )
    Entry.objects.bulk_create(
        Entry(
            version=version,
            entry_id=item.entry_id,
            content_hash=hashlib.sha256(json.dumps(item.content(), sort_keys=True).encode()).hexdigest(),
            remarks=item.remarks,
            **item.content(),
        )
        for item in listed
    )
    return version


def person(first: str, last: str, **fields) -> Client:
    """A registered client (screened by re-screening and profile changes)."""
    return factories.ClientFactory(first_name=first, last_name=last, **fields)


def compliance_officer(email: str = "cora@alpha.test"):
    return factories.staff_user(email, roles=["compliance"], mfa=False)


def file_complete(client: Client) -> Client:
    """Everything the top verification level asks of the client, passed by the automatic checks:
    a completed profile, a passed questionnaire, a passport and a proof of address."""
    FinancialProfile.objects.create(
        client=client,
        tax_residence=client.country,
        employment=FinancialProfile.Employment.EMPLOYED,
        occupation="Engineer",
        industry="software",
        annual_income=FinancialProfile.Band.FROM_25K,
        net_worth=FinancialProfile.Band.FROM_25K,
        source_of_funds=FinancialProfile.Funds.SALARY,
        expected_yearly_deposit=FinancialProfile.Band.UNDER_25K,
        completed_at=timezone.now(),
    )
    questionnaire = Questionnaire.objects.filter(is_active=True).order_by("-version").first()
    QuestionnaireAnswer.objects.create(
        client=client, questionnaire=questionnaire, answers={}, score=questionnaire.pass_score, passed=True
    )
    for kind in (Document.Kind.PASSPORT, Document.Kind.PROOF_OF_ADDRESS):
        Document.objects.create(
            client=client,
            kind=kind,
            file=f"test/{client.pk}/{kind}.enc",
            original_name=f"{kind}.pdf",
            content_type="application/pdf",
            size=1000,
            sha256="0" * 64,
            status=Document.Status.PASSED,
        )
    return client
