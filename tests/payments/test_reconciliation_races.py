"""Two imports at once, on real concurrent connections: a deposit is confirmed once, a file is stored once."""

from __future__ import annotations

import threading
from decimal import Decimal as D

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from brokerage.errors import ApplicationError
from payments.defaults import payment_defaults_ensure
from payments.models import StatementEntry, StatementImport
from tests.payments.reconciliation_support import REF_A, client, fixture, import_fixture, wallet_balance, wire_deposit

pytestmark = pytest.mark.django_db(transaction=True)
Status = StatementEntry.Status


def race(alpha, files: list[bytes]) -> list[object]:
    """Import each file in its own thread and connection, released together; returns each outcome."""
    start = threading.Barrier(len(files))
    outcomes: list[object] = [None] * len(files)

    def run(index: int, data: bytes) -> None:
        try:
            connection.set_tenant(alpha)
            start.wait()
            outcomes[index] = import_fixture(f"race-{index}.xml", "camt053", data=data)
        except ApplicationError as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, data)) for i, data in enumerate(files)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_statements_with_the_same_wire_confirm_it_once(alpha):
    with tenant_context(alpha):
        payment_defaults_ensure()
        carl = client()
        wire_deposit(carl, "250.00", reference=REF_A)
    first = fixture("camt053_v2.xml")
    second = first.replace(b"RECON-TEST-V2-0001", b"RECON-TEST-V2-0002")

    outcomes = race(alpha, [first, second])

    assert all(isinstance(outcome, StatementImport) for outcome in outcomes), outcomes
    with tenant_context(alpha):
        line_one = StatementEntry.objects.filter(line_no=1).order_by("status")
        assert [e.status for e in line_one] == [Status.AUTO_CONFIRMED, Status.EXCEPTION]
        assert line_one[1].reason.startswith(f"Deposit {REF_A} was already completed by statement #")
        assert wallet_balance(carl, "EUR") == D("250.00")


def test_the_same_file_uploaded_twice_at_once_is_stored_once(alpha):
    with tenant_context(alpha):
        payment_defaults_ensure()
        carl = client()
        wire_deposit(carl, "250.00", reference=REF_A)
    data = fixture("camt053_v2.xml")

    outcomes = race(alpha, [data, data])

    kinds = sorted(type(outcome).__name__ for outcome in outcomes)
    assert kinds == ["StatementError", "StatementImport"], outcomes
    refused = next(outcome for outcome in outcomes if isinstance(outcome, ApplicationError))
    assert refused.message.startswith("This file was already imported on ")
    with tenant_context(alpha):
        assert StatementImport.objects.count() == 1
        assert wallet_balance(carl, "EUR") == D("250.00")
