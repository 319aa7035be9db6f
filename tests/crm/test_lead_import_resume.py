"""A crash in the middle of an import: finished chunks stay, the rest is pending, and a resume completes it.

Real commits (transaction=True), through the Celery task sent after commit (eager in tests).
"""

from __future__ import annotations

import time

import pytest
from django_tenants.utils import tenant_context

from crm import lead_import as imports
from crm.models import Client, LeadImport
from tests.crm.support_leads import csv_bytes, lead_people

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_crash_in_chunk_two_keeps_chunk_one_and_the_resume_imports_the_rest_once(alpha, monkeypatch):
    real = imports._lead_from_row

    def crash_on_line_750(lead_import, values):
        if values[0] == "p749@example.test":  # line 750: in the second chunk (lines 502-1001)
            raise RuntimeError("disk full")
        return real(lead_import, values)

    lines = ["Email,Name,Country", *(f"p{n}@example.test,Person {n},DE" for n in range(1, 1201))]
    with tenant_context(alpha):
        olga = lead_people(mfa=False).olga
        lead_import, _ = imports.lead_import_upload(actor=olga, filename="big.csv", data=csv_bytes(lines))
        monkeypatch.setattr(imports, "_lead_from_row", crash_on_line_750)

        imports.lead_import_start(actor=olga, lead_import=lead_import, mapping=lead_import.mapping)

        lead_import.refresh_from_db()
        assert lead_import.status == "failed"
        assert "RuntimeError: disk full" in lead_import.error
        assert lead_import.imported == 500
        assert Client.objects.count() == 500
        rows = lead_import.rows
        assert set(rows.filter(line__lte=501).values_list("outcome", flat=True)) == {"imported"}
        assert rows.filter(line__gte=502, outcome="pending").count() == 700  # chunk 2 whole, and chunk 3
        assert set(Client.objects.values_list("email", flat=True)) == {f"p{n}@example.test" for n in range(1, 501)}

        monkeypatch.setattr(imports, "_lead_from_row", real)
        imports.lead_import_resume(actor=olga, lead_import=lead_import)

        lead_import.refresh_from_db()
        assert (lead_import.status, lead_import.imported, lead_import.duplicates, lead_import.rejected) == (
            "done",
            1200,
            0,
            0,
        )
        assert lead_import.error == ""
        assert Client.objects.count() == 1200
        assert Client.objects.values("email").distinct().count() == 1200
        assert rows.exclude(client=None).values("client").distinct().count() == 1200
        assert LeadImport.objects.get().finished_at is not None


@pytest.mark.worker
def test_a_real_worker_imports_the_file_in_the_tenant_it_was_sent_from(alpha, beta, worker_queue):
    lines = ["Email,Name,Country", *(f"w{n}@example.test,Worker {n},FR" for n in range(1, 601))]
    with tenant_context(alpha):
        olga = lead_people(mfa=False).olga
        lead_import, _ = imports.lead_import_upload(actor=olga, filename="worker.csv", data=csv_bytes(lines))

    with tenant_context(alpha):
        imports.lead_import_start(actor=olga, lead_import=lead_import, mapping=lead_import.mapping)
        deadline = time.monotonic() + 60
        while LeadImport.objects.get().status in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)

    with tenant_context(alpha):
        lead_import.refresh_from_db()
        assert (lead_import.status, lead_import.imported) == ("done", 600)
        assert Client.objects.filter(status="lead", country="FR").count() == 600
    with tenant_context(beta):
        assert not Client.objects.exists()
