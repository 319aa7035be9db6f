"""Re-screening with real commits: a crash in the middle keeps the chunks already committed, a resume
carries on after them and raises every hit once; and a real Celery worker runs each tenant's job in
that tenant."""

from __future__ import annotations

import time
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django_tenants.utils import tenant_context

from crm.models import Client
from kyc import screening
from kyc.models import RescreenJob, ScreeningHit, ScreeningRun
from kyc.screening import rescreen_all_start, rescreen_job_resume
from tests import factories
from tests.kyc.screening_support import Listed, compliance_officer, watchlist_load
from watchlists.loading import demo_load
from watchlists.models import ListVersion
from watchlists.signals import list_version_loaded

pytestmark = pytest.mark.django_db(transaction=True)

MARIA = Listed("OFAC-1001", "GARCIA LOPEZ, Maria Elena", aliases=("Maria Garcia",), dates_of_birth=("1961-04-12",))
MARIAS_AT = (10, 700, 1100)  # positions (0-based) of the listed person among 1,200 clients


def clients_make(count: int, *, prefix: str) -> list[int]:
    clients = [
        Client(
            first_name="Maria" if n in MARIAS_AT else f"Person{n}",
            last_name="Garcia" if n in MARIAS_AT else "Example",
            date_of_birth=date(1961, 4, 12) if n in MARIAS_AT else None,
            email=f"{prefix}{n}@example.test",
            country="ES",
        )
        for n in range(count)
    ]
    return [client.pk for client in Client.objects.bulk_create(clients)]


def test_a_crash_in_chunk_two_keeps_chunk_one_and_the_resume_screens_the_rest_once(alpha, monkeypatch):
    with tenant_context(alpha):
        ids = clients_make(1200, prefix="r")
        cora = compliance_officer()
        version = watchlist_load(MARIA)
        real = screening._screen

        def crash_on_client_750(subject, threshold, **options):
            if subject.id == ids[750]:
                raise RuntimeError("disk full")
            return real(subject, threshold, **options)

        monkeypatch.setattr(screening, "_screen", crash_on_client_750)

        job = rescreen_all_start(version.pk)  # committed at once: the (eager) task runs and fails

        job.refresh_from_db()
        assert (job.status, job.done, job.last_client_id, job.new_hits) == ("failed", 500, ids[499], 1)
        assert "RuntimeError: disk full" in job.error
        assert list(ScreeningHit.objects.values_list("client_id", flat=True)) == [ids[10]]
        assert "Stopped at" in screening.rescreen_progress().job.error

        monkeypatch.setattr(screening, "_screen", real)
        rescreen_job_resume(actor=cora, job=job)

        job.refresh_from_db()
        assert (job.status, job.done, job.new_hits, job.last_client_id, job.error) == ("done", 1200, 3, ids[-1], "")
        hits = ScreeningHit.objects.order_by("client_id")
        assert list(hits.values_list("client_id", flat=True)) == [ids[n] for n in MARIAS_AT]
        assert sorted(ScreeningRun.objects.values_list("client_id", flat=True)) == [ids[n] for n in MARIAS_AT]
        assert job.finished_at is not None


def test_only_a_watchlist_manager_resumes_a_job(alpha):
    with tenant_context(alpha):
        job = RescreenJob.objects.create(list_version=1, status="failed", error="Stopped")
        sam = factories.staff_user("sam@alpha.test", roles=["sales"], mfa=False)

        with pytest.raises(PermissionDenied):
            rescreen_job_resume(actor=sam, job=job)

        job.refresh_from_db()
        assert (job.status, job.error) == ("failed", "Stopped")


@pytest.mark.worker
def test_a_real_worker_rescreens_each_tenant_in_that_tenant(alpha, beta, worker_queue):
    with tenant_context(alpha):
        alpha_ids = clients_make(1200, prefix="a")
    with tenant_context(beta):
        beta_ids = clients_make(30, prefix="b")  # only the first Maria (position 10) is among them
    version = watchlist_load(MARIA)

    list_version_loaded.send(sender=ListVersion, version=version)

    deadline = time.monotonic() + 120
    for tenant in (alpha, beta):
        with tenant_context(tenant):
            while RescreenJob.objects.get().status in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(0.5)
    with tenant_context(alpha):
        job = RescreenJob.objects.get()
        assert (job.status, job.total, job.done, job.new_hits) == ("done", 1200, 1200, 3)
        assert sorted(ScreeningHit.objects.values_list("client_id", flat=True)) == [alpha_ids[n] for n in MARIAS_AT]
    with tenant_context(beta):
        job = RescreenJob.objects.get()
        assert (job.status, job.done, job.new_hits) == ("done", 30, 1)
        assert list(ScreeningHit.objects.values_list("client_id", flat=True)) == [beta_ids[10]]


def test_loading_the_bundled_sample_rescreens_the_tenants_clients(alpha):
    with tenant_context(alpha):
        rustam = Client.objects.create(
            first_name="Rustam",
            last_name="Karimov",
            date_of_birth=date(1968, 3, 14),
            nationality="RU",
            country="CY",
            email="rustam@example.test",
        )

    demo_load()  # commits, then announces the new versions

    with tenant_context(alpha):
        jobs = RescreenJob.objects.all()
        assert jobs and {job.status for job in jobs} == {"done"}
        hit = ScreeningHit.objects.get(client=rustam)
        assert (hit.entry["name"], hit.trigger, hit.status) == ("KARIMOV, Rustam Aliyevich", "list_update", "open")
        assert hit.explanation["dob_effect"] > 0
