"""Proof of address: issued within the tenant's window, showing the client's name and address."""

from __future__ import annotations

from datetime import date

import pytest

from crm.models import Client
from kyc.checks.address import address_checks, content_check, issue_date_check, months_before

TODAY = date(2026, 11, 25)
BILL = """
    Northern Power Ltd - Electricity bill - 12 October 2026
    Ms Anna Eriksson
    14 Station Road, Flat 2
    Cambridge CB1 2JD
    Amount due: 54.20 GBP
"""


def client(**fields) -> Client:
    defaults = {
        "first_name": "Anna",
        "last_name": "Eriksson",
        "address_line1": "14 Station Road",
        "city": "Cambridge",
        "postal_code": "CB1 2JD",
    }
    return Client(**{**defaults, **fields})


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 11, 25), 3, date(2026, 8, 25)),
        (date(2026, 5, 31), 3, date(2026, 2, 28)),
        (date(2026, 2, 10), 3, date(2025, 11, 10)),
    ],
)
def test_months_before_counts_calendar_months(day, months, expected):
    assert months_before(day, months) == expected


@pytest.mark.parametrize(
    ("issued_on", "outcome"),
    [
        (date(2026, 10, 12), "pass"),
        (date(2026, 8, 25), "pass"),  # exactly three months: still accepted
        (date(2026, 8, 24), "fail"),
        (date(2026, 12, 1), "fail"),
        (None, "warn"),
    ],
)
def test_the_issue_date_must_fall_within_the_tenants_window(issued_on, outcome):
    assert issue_date_check(issued_on, max_age_months=3, today=TODAY).outcome == outcome


def test_an_old_document_says_how_recent_it_must_be():
    result = issue_date_check(date(2026, 1, 5), max_age_months=3, today=TODAY)
    assert result.summary == (
        "The document was issued on 05 Jan 2026, more than 3 months ago. Upload one from the last 3 months."
    )
    assert result.evidence == {"issued_on": "2026-01-05", "oldest_accepted": "2026-08-25", "max_age_months": 3}


def test_a_longer_window_set_by_the_tenant_accepts_an_older_document():
    assert issue_date_check(date(2026, 1, 5), max_age_months=12, today=TODAY).outcome == "pass"


def test_a_bill_with_the_clients_name_and_address_passes():
    result = content_check(BILL, client=client())
    assert result.outcome == "pass"
    assert result.evidence["scores"] == {"name": 100, "address": 100, "postal_code": 100, "city": 100}


def test_case_spacing_and_accents_do_not_matter():
    text = "MS ANNA ERIKSSON, 14 station road, CAMBRIDGE, cb12jd"
    assert content_check(text, client=client(first_name="Ánna")).outcome == "pass"


def test_a_cyrillic_profile_name_is_found_in_a_latin_bill():
    text = "Yuliya Shchukina, 14 Station Road, Cambridge CB1 2JD"
    assert content_check(text, client=client(first_name="Юлия", last_name="Щукина")).outcome == "pass"


def test_someone_elses_bill_fails_naming_what_is_missing():
    text = BILL.replace("Anna Eriksson", "Robert Johnson")
    result = content_check(text, client=client())
    assert result.outcome == "fail"
    assert result.summary.startswith("The document does not show your name as in your profile.")


def test_a_bill_for_another_address_fails():
    text = "Ms Anna Eriksson, 99 Mill Lane, Oxford OX1 4AA"
    result = content_check(text, client=client())
    assert result.outcome == "fail"
    assert "address and postal code and city" in result.summary


def test_without_text_staff_confirm():
    result = content_check("   ", client=client())
    assert (result.outcome, result.summary) == (
        "warn",
        "No text of the document was given: staff to confirm the name and address.",
    )


def test_a_profile_without_an_address_needs_staff():
    result = content_check(BILL, client=client(address_line1="", city="", postal_code=""))
    assert result.outcome == "warn"


def test_both_rules_are_checked():
    results = address_checks(issued_on=date(2026, 10, 12), text=BILL, client=client(), max_age_months=3, today=TODAY)
    assert [(r.name, r.outcome) for r in results] == [("issue_date", "pass"), ("name_and_address", "pass")]
