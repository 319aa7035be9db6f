"""Failed jobs: a real task that fails is recorded in its tenant; staff with staff_manage read them at
/ops/jobs/, mark them resolved (audited, once), and send given-up outbox events again."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from brokerage.events import MAX_DISPATCH_ATTEMPTS, subscribe
from brokerage.models import AuditRecord, FailedJob, OutboxEvent
from payments.wallets.tasks import trading_transfer_send_task
from tests import factories
from tests.tenants.web import tenant_web_client

MISSING_TRANSFER = 987654


@pytest.mark.django_db
def test_a_task_that_fails_is_recorded_in_the_tenant_it_ran_in(alpha, beta):
    with tenant_context(alpha):
        result = trading_transfer_send_task.apply(args=[MISSING_TRANSFER], throw=False)
        assert result.failed()
        job = FailedJob.objects.get()
        assert job.task_name == "payments.wallets.tasks.trading_transfer_send_task"
        assert job.args_summary == str(MISSING_TRANSFER)
        assert job.exception.startswith("DoesNotExist: TradingTransfer matching query does not exist.")
        assert "trading_transfer_send" in job.exception  # the traceback's frames follow
        assert job.tenant_schema == "t_alpha"
        assert job.task_id == result.id
        assert job.resolved_at is None
    with tenant_context(beta):
        assert not FailedJob.objects.exists()


@pytest.mark.django_db
def test_a_task_that_succeeds_records_nothing(in_alpha):
    from brokerage.tasks import idempotency_purge

    idempotency_purge.apply(throw=False)
    assert not FailedJob.objects.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_records_the_failure_in_the_senders_tenant(alpha, beta, worker_queue):
    with tenant_context(alpha):
        trading_transfer_send_task.delay(MISSING_TRANSFER)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not FailedJob.objects.exists():
            time.sleep(0.2)
        job = FailedJob.objects.get()
        assert job.task_name == "payments.wallets.tasks.trading_transfer_send_task"
        assert job.tenant_schema == "t_alpha"
    with tenant_context(beta):
        assert not FailedJob.objects.exists()


# The page ------------------------------------------------------------------------------------------------


@pytest.fixture
def staff(alpha):
    with tenant_context(alpha):
        return {
            role: factories.staff_user(f"{role}@jobs.test", roles=[role])
            for role in ("owner", "admin", "compliance", "finance", "sales")
        }


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "status"), [("owner", 200), ("admin", 200), ("compliance", 403), ("finance", 403),
                                             ("sales", 403)])  # fmt: skip
def test_only_staff_managers_open_the_failed_jobs_page(alpha, staff, role, status):
    assert tenant_web_client(alpha, staff[role]).get("/ops/jobs/").status_code == status


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(alpha):
    response = tenant_web_client(alpha).get("/ops/jobs/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_a_failure_is_listed_and_marked_resolved_once(alpha, staff):
    with tenant_context(alpha):
        trading_transfer_send_task.apply(args=[MISSING_TRANSFER], throw=False)
        job = FailedJob.objects.get()
    web = tenant_web_client(alpha, staff["owner"])
    page = web.get("/ops/jobs/").content.decode()
    assert "payments.wallets.tasks.trading_transfer_send_task" in page and "DoesNotExist" in page

    response = web.post("/ops/jobs/", {"resolve": job.pk}, follow=True)
    assert "marked resolved" in response.content.decode()
    with tenant_context(alpha):
        job.refresh_from_db()
        assert job.resolved_at is not None and job.resolved_by == staff["owner"]
        record = AuditRecord.objects.get(action="jobs.failure.resolved")
        assert record.actor_email == "owner@jobs.test" and record.object_id == str(job.pk)
    assert "No task has failed" in web.get("/ops/jobs/").content.decode()
    assert "payments.wallets.tasks.trading_transfer_send_task" in web.get("/ops/jobs/?show=resolved").content.decode()

    again = web.post("/ops/jobs/", {"resolve": job.pk}, follow=True)
    assert "already marked resolved" in again.content.decode()
    with tenant_context(alpha):
        assert AuditRecord.objects.filter(action="jobs.failure.resolved").count() == 1


@pytest.mark.django_db
def test_staff_without_the_capability_cannot_resolve(alpha, staff):
    with tenant_context(alpha):
        job = FailedJob.objects.create(task_name="x", failed_at=timezone.now())
    assert tenant_web_client(alpha, staff["compliance"]).post("/ops/jobs/", {"resolve": job.pk}).status_code == 403
    with tenant_context(alpha):
        job.refresh_from_db()
        assert job.resolved_at is None
        assert not AuditRecord.objects.filter(action="jobs.failure.resolved").exists()


@pytest.mark.django_db
def test_another_tenants_failure_is_not_found(alpha, beta, staff):
    with tenant_context(beta):
        theirs = FailedJob.objects.create(task_name="beta.only", failed_at=timezone.now())
    web = tenant_web_client(alpha, staff["owner"])
    assert "beta.only" not in web.get("/ops/jobs/").content.decode()
    assert web.post("/ops/jobs/", {"resolve": theirs.pk}).status_code == 404


DELIVERED = []


@subscribe("tests.jobs.retried")
def _record_delivery(event) -> None:
    DELIVERED.append(event.payload["n"])


@pytest.mark.django_db
def test_an_event_that_gave_up_is_sent_again_and_delivered(alpha, staff, django_capture_on_commit_callbacks):
    DELIVERED.clear()
    with tenant_context(alpha):
        gave_up = OutboxEvent.objects.create(topic="tests.jobs.retried", payload={"n": 7},
                                             dispatch_attempts=MAX_DISPATCH_ATTEMPTS)  # fmt: skip
        OutboxEvent.objects.create(topic="tests.jobs.retried", payload={"n": 8}, dispatch_attempts=2)
    web = tenant_web_client(alpha, staff["owner"])
    page = web.get("/ops/jobs/").content.decode()
    assert f'id="event-{gave_up.pk}"' in page and page.count('name="retry"') == 1

    with django_capture_on_commit_callbacks(execute=True):
        response = web.post("/ops/jobs/", {"retry": gave_up.pk}, follow=True)
    assert "sent again" in response.content.decode()
    assert DELIVERED == [7]  # eager Celery in tests: dispatched and delivered at once
    with tenant_context(alpha):
        gave_up.refresh_from_db()
        assert gave_up.delivered_at is not None and gave_up.dispatch_attempts == 1
        assert AuditRecord.objects.filter(action="jobs.outbox_event.retried", object_id=str(gave_up.pk)).count() == 1

    again = web.post("/ops/jobs/", {"retry": gave_up.pk}, follow=True)
    assert "already being sent again" in again.content.decode()
    assert DELIVERED == [7]
