"""Re-screening every client after a list load: one job per tenant (alpha's job screens alpha's clients
only), progress for the ops page, the sweep that sends again what nobody runs."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.models import AuditRecord
from crm.models import Client
from kyc.models import RescreenJob, ScreeningHit, ScreeningRun
from kyc.screening import rescreen_chunk, rescreen_job_create, rescreen_job_run, rescreen_jobs_sweep, rescreen_progress
from tests.kyc.screening_support import Listed, person, watchlist_load
from watchlists.models import ListVersion
from watchlists.signals import list_version_loaded

pytestmark = pytest.mark.django_db

MARIA = Listed("OFAC-1001", "GARCIA LOPEZ, Maria Elena", aliases=("Maria Garcia",), dates_of_birth=("1961-04-12",))


def maria(**fields) -> Client:
    return person("Maria", "Garcia", date_of_birth=date(1961, 4, 12), **fields)


def test_a_list_load_rescreens_each_tenant_against_its_own_clients(alpha, beta, django_capture_on_commit_callbacks):
    with tenant_context(alpha):
        alpha_maria = maria()
        person("John", "Smith", date_of_birth=date(1980, 1, 1))
        maria(status=Client.Status.LEAD)  # not a client yet
        maria(status=Client.Status.CLOSED)
    with tenant_context(beta):
        beta_maria = maria(nationality="ES")
        person("Anna", "Novak")
        person("Kenji", "Tanaka")
    version = watchlist_load(MARIA)

    with django_capture_on_commit_callbacks(execute=True):
        list_version_loaded.send(sender=ListVersion, version=version)

    with tenant_context(alpha):
        job = RescreenJob.objects.get()
        assert (job.list_version, job.status, job.total, job.done, job.new_hits) == (version.pk, "done", 2, 2, 1)
        assert list(ScreeningHit.objects.values_list("client_id", "trigger")) == [(alpha_maria.pk, "list_update")]
        assert list(ScreeningRun.objects.values_list("client_id", "candidates", "new_hits")) == [(alpha_maria.pk, 1, 1)]
        assert AuditRecord.objects.filter(action="kyc.rescreen.finished").count() == 1
        alpha_maria.refresh_from_db()
        assert alpha_maria.risk_assessments.exists()  # evaluated: the open hit is in its risk
    with tenant_context(beta):
        job = RescreenJob.objects.get()
        assert (job.status, job.total, job.done, job.new_hits) == ("done", 3, 3, 1)
        assert list(ScreeningHit.objects.values_list("client_id", flat=True)) == [beta_maria.pk]


def test_the_same_load_announced_twice_makes_one_job(alpha, beta, django_capture_on_commit_callbacks):
    version = watchlist_load(MARIA)

    with django_capture_on_commit_callbacks(execute=True):
        list_version_loaded.send(sender=ListVersion, version=version)
        list_version_loaded.send(sender=ListVersion, version=version)

    for tenant in (alpha, beta):
        with tenant_context(tenant):
            assert RescreenJob.objects.count() == 1


def test_a_load_that_changed_nothing_starts_no_job(alpha, django_capture_on_commit_callbacks):
    version = watchlist_load(MARIA)
    ListVersion.objects.filter(pk=version.pk).update(added=0, changed=0, removed=3)
    version.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        list_version_loaded.send(sender=ListVersion, version=version)

    with tenant_context(alpha):
        assert not RescreenJob.objects.exists()


def test_progress_counts_the_clients_screened_so_far(in_alpha):
    version = watchlist_load(MARIA)
    clients = [maria(), *(person("John", f"Smith{n}") for n in range(4))]
    job = rescreen_job_create(version.pk)
    progress = rescreen_progress()
    assert (progress.job, progress.is_active, progress.job.total, progress.job.percent) == (job, True, 5, 0)
    html = render_to_string("kyc/_rescreen_progress.html", {"rescreen": progress})
    assert "waiting for a worker" in html
    assert f'hx-get="{reverse("ops:kyc_rescreen_progress")}" hx-trigger="every 2s"' in html

    started = timezone.now() - timedelta(seconds=10)
    RescreenJob.objects.filter(pk=job.pk).update(status="running", started_at=started)
    assert rescreen_chunk(job.pk, size=2)

    progress = rescreen_progress(now=started + timedelta(seconds=10))
    assert (progress.job.done, progress.job.new_hits, progress.job.last_client_id) == (2, 1, clients[1].pk)
    assert (progress.job.percent, progress.clients_per_second, progress.seconds_left) == (40, 0.2, 15)
    assert progress.list_label == str(version)
    html = render_to_string("kyc/_rescreen_progress.html", {"rescreen": progress})
    assert "2 of 5 clients (40 %)" in html
    assert "1 new hit" in html

    job = rescreen_job_run(job.pk)

    assert (job.status, job.done, job.new_hits, job.last_client_id) == ("done", 5, 1, clients[-1].pk)
    progress = rescreen_progress()
    assert (progress.is_active, progress.seconds_left) == (False, None)
    html = render_to_string("kyc/_rescreen_progress.html", {"rescreen": progress})
    assert "5 of 5 clients (100 %)" in html
    assert "hx-trigger" not in html


def test_progress_with_no_job_yet_says_so(in_alpha):
    assert rescreen_progress() is None
    assert "No re-screening yet" in render_to_string("kyc/_rescreen_progress.html", {"rescreen": None})


def _hold_runner_lock(tenant, job_id: int, held: threading.Event, release: threading.Event) -> None:
    """Another process running the job: its own connection holds the runner's advisory lock."""
    with tenant_context(tenant):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtext(current_schema() || '.kyc.rescreen'), %s)", [job_id])
            held.set()
            release.wait(timeout=30)
        connection.close()


def test_the_sweep_sends_again_a_job_whose_runner_died_and_leaves_a_live_one(alpha, django_capture_on_commit_callbacks):
    with tenant_context(alpha):
        version = watchlist_load(MARIA)
        maria()
        orphan = rescreen_job_create(version.pk)
        live = RescreenJob.objects.create(list_version=version.pk + 1, total=1, status="running")
        RescreenJob.objects.filter(pk=orphan.pk).update(status="running", started_at=timezone.now())
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_runner_lock, args=(alpha, live.pk, held, release))
    holder.start()
    try:
        assert held.wait(timeout=10)
        with tenant_context(alpha):
            # A second runner of a job that is running returns at once, changing nothing.
            assert rescreen_job_run(live.pk).done == 0

            with django_capture_on_commit_callbacks(execute=True):
                sent = rescreen_jobs_sweep()

            assert sent == 1
            orphan.refresh_from_db()
            live.refresh_from_db()
            assert (orphan.status, orphan.done, orphan.new_hits) == ("done", 1, 1)
            assert (live.status, live.done) == ("running", 0)
    finally:
        release.set()
        holder.join(timeout=10)


def test_the_sweep_leaves_a_job_queued_a_moment_ago(in_alpha, django_capture_on_commit_callbacks):
    version = watchlist_load(MARIA)
    job = rescreen_job_create(version.pk)

    with django_capture_on_commit_callbacks(execute=True):
        assert rescreen_jobs_sweep() == 0

    job.refresh_from_db()
    assert job.status == "queued"
    RescreenJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert rescreen_jobs_sweep() == 1
    job.refresh_from_db()
    assert job.status == "done"
