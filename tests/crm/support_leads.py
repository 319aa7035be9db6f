"""Personas and helpers of the lead tests (call inside alpha's schema).

Olga works in the back office (crm_manage, sees every client). Sam and Sue are sales agents: each
sees only the clients assigned to them. Cora is in compliance: she sees every client, changes none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests import factories

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class LeadPeople:
    olga: object
    sam: object
    sue: object
    cora: object


def lead_people(*, mfa: bool = True) -> LeadPeople:
    def staff(email, first, last, roles):
        user = factories.staff_user(email, roles=roles, mfa=mfa)
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
        return user

    return LeadPeople(
        olga=staff("olga@alpha.test", "Olga", "Office", ["back_office"]),
        sam=staff("sam@alpha.test", "Sam", "Seller", ["sales"]),
        sue=staff("sue@alpha.test", "Sue", "Seller", ["sales"]),
        cora=staff("cora@alpha.test", "Cora", "Compliance", ["compliance"]),
    )


def csv_bytes(lines: list[str], *, encoding: str = "utf-8", delimiter: str = ",", newline: str = "\r\n") -> bytes:
    """A CSV file from lines written with "," between cells (no cell here contains one)."""
    text = newline.join(line.replace(",", delimiter) for line in lines) + newline
    return text.encode(encoding)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
