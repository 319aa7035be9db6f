"""Sanctions and PEP screening of the tenant's clients against the shared watchlists.

`screen_client` screens one client (onboarding, a profile change, staff); `rescreen_all_start` starts a
job that screens every client again after a list load, in committed chunks that a crashed worker's
successor resumes from `last_client_id`. Matching is watchlists.matching's (one index per process).

A hit is stored once per (client, list, entry, entry hash): the insert skips a key that exists, so
two screenings racing for the same client make one hit, a false positive stays decided when the same
entry matches again, and an entry the list changed (a new hash) raises a new hit. New hits reach
compliance (a notification, the audit trail, the client's timeline) and `kyc_evaluate` puts the file
in the review queue.

Leads (no identity given yet) and closed accounts are left out of re-screening and profile-change
screening; onboarding screens a lead when it completes its profile.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_tenants.utils import schema_context
from psycopg2.extras import execute_values

from brokerage.audit import audit_log
from brokerage.errors import ApplicationError
from brokerage.models import User
from brokerage.roles import perm
from crm.comms import notify
from crm.links import client_url
from crm.models import Client, TimelineEvent
from crm.timeline import timeline_record
from kyc.models import KycSettings, RescreenJob, ScreeningHit, ScreeningRun
from kyc.workflow import kyc_evaluate
from watchlists import matching
from watchlists.models import ListVersion

logger = logging.getLogger(__name__)

Trigger = ScreeningHit.Trigger
HitStatus = ScreeningHit.Status
JobStatus = RescreenJob.Status

# What screening reads of a client; a profile change to any of the screened fields screens again.
SCREENED_FIELDS = frozenset(
    {"kind", "first_name", "last_name", "native_name", "company_name", "date_of_birth", "nationality", "country"}
)
_COLUMNS = ("id", "kind", "first_name", "last_name", "native_name", "company_name", "date_of_birth", "nationality", "country")  # fmt: skip
NOT_SCREENED_STATUSES = (Client.Status.LEAD, Client.Status.CLOSED)
CHUNK = 500
NOTE_MAX = 500
DECISIONS = (HitStatus.FALSE_POSITIVE, HitStatus.CONFIRMED)


@dataclass(frozen=True)
class Subject:
    """A client as screening sees it: the values of `_COLUMNS`."""

    id: int
    kind: str
    first_name: str
    last_name: str
    native_name: str
    company_name: str
    date_of_birth: date | None
    nationality: str
    country: str

    @property
    def name_groups(self) -> list[tuple[str, list[str]]]:
        """The names to screen by matching's kind: a company's name (and its name in its own script)
        against organisations and vessels, a person's name against people. Whitespace tidied, each
        name once (case ignored)."""
        person = f"{self.first_name} {self.last_name}"
        if self.kind == Client.Kind.COMPANY:
            groups = [("company", [self.company_name, self.native_name]), ("person", [person])]
        else:
            groups = [("person", [person, self.native_name])]
        seen: set[str] = set()
        tidy: list[tuple[str, list[str]]] = []
        for kind, candidates in groups:
            names = []
            for candidate in candidates:
                name = " ".join(str(candidate or "").split())
                if name and name.casefold() not in seen:
                    seen.add(name.casefold())
                    names.append(name)
            if names:
                tidy.append((kind, names))
        return tidy

    @property
    def names(self) -> list[str]:
        return [name for _, names in self.name_groups for name in names]

    @property
    def label(self) -> str:
        """How the client is named in a notification (as Client.__str__ does)."""
        person = f"{self.first_name} {self.last_name}".strip()
        return self.company_name or person or f"Client {self.id}"


def screened_clients() -> QuerySet[Client]:
    """The clients re-screening covers: everyone but leads and closed accounts."""
    return Client.objects.exclude(status__in=NOT_SCREENED_STATUSES)


def _subjects(rows: Iterable[tuple]) -> list[Subject]:
    return [Subject(*row) for row in rows]


def current_versions() -> list[dict]:
    """The list versions matching reads now: [{"id": 12, "source": "ofac_sdn"}, ...]."""
    return list(ListVersion.objects.filter(is_current=True).order_by("source", "id").values("id", "source"))


def _screen(subject: Subject, threshold: int, *, screen=matching.screen) -> list[matching.Match]:
    """The matches of the client's names, best first, one per entry (its best score). `screen` is
    matching's (which checks per call that its index is current) or a current index's own."""
    best: dict[tuple[str, str], matching.Match] = {}
    for kind, names in subject.name_groups:
        for match in screen(
            names,
            date_of_birth=subject.date_of_birth,
            nationality=subject.nationality,
            country=subject.country,
            threshold=threshold,
            kind=kind,
        ):
            key = (match.entry.source, match.entry.entry_id)
            if key not in best or match.score > best[key].score:
                best[key] = match
    return sorted(best.values(), key=lambda match: (-match.score, match.entry.source, match.entry.entry_id))


# Storing what a screening found ----------------------------------------------------------------------


def _entry_snapshot(entry: matching.ListedEntry) -> dict:
    """What the entry said when it matched, so the hit reads the same after the list moves on."""
    return {
        "source": entry.source,
        "entry_id": entry.entry_id,
        "kind": entry.kind,
        "name": entry.name,
        "aliases": list(entry.aliases),
        "dates_of_birth": list(entry.dates_of_birth),
        "nationalities": list(entry.nationalities),
        "programs": list(entry.programs),
        "is_pep": bool(entry.is_pep),
        "version_id": entry.version_id,
    }


_HIT_INSERT = """
    INSERT INTO {table} (client_id, source, entry_id, entry_hash, entry, is_pep, score, explanation, trigger,
                         status, decision_note, created_at)
    VALUES %s
    ON CONFLICT ON CONSTRAINT kyc_hit_once_per_entry_version DO NOTHING
    RETURNING id
"""
_HIT_TEMPLATE = "(%s, %s, %s, %s, %s::jsonb, %s, %s, %s::jsonb, %s, %s, '', %s)"


def _hits_insert(found: Sequence[tuple[int, matching.Match]], *, trigger: str) -> list[int]:
    """Insert a hit per (client id, match) whose key is not stored yet; the ids of the new rows.

    One statement with ON CONFLICT DO NOTHING: a concurrent screening of the same client waits for the
    other's commit and then skips the row, so neither fails and the hit exists once.
    """
    if not found:
        return []
    now = timezone.now()
    rows = []
    for client_id, match in found:
        entry = match.entry
        rows.append(
            (
                client_id,
                entry.source,
                entry.entry_id,
                entry.content_hash,
                json.dumps(_entry_snapshot(entry)),
                bool(entry.is_pep),
                int(match.score),
                json.dumps(match.explanation, default=str),
                trigger,
                HitStatus.OPEN,
                now,
            )
        )
    sql = _HIT_INSERT.format(table=connection.ops.quote_name(ScreeningHit._meta.db_table))
    with connection.cursor() as cursor:
        returned = execute_values(cursor.cursor, sql, rows, template=_HIT_TEMPLATE, page_size=len(rows), fetch=True)
    return [row[0] for row in returned]


def compliance_officers() -> QuerySet[User]:
    """Active staff who may decide watchlist hits (the `kyc_compliance` capability)."""
    capability = Permission.objects.filter(content_type__app_label="brokerage", codename="kyc_compliance")
    holders = Q(groups__permissions__in=capability) | Q(user_permissions__in=capability) | Q(is_superuser=True)
    return User.objects.filter(pk__in=User.objects.filter(holders, is_active=True).values("pk")).order_by("pk")


def _hits_announce(hit_ids: list[int], labels: dict[int, str], officers: list[User]) -> list[int]:
    """Audit each new hit, put it on its client's timeline and tell compliance; the clients' ids."""
    hits = list(ScreeningHit.objects.filter(pk__in=hit_ids).order_by("client_id", "-score", "id"))
    by_client: dict[int, list[ScreeningHit]] = {}
    for hit in hits:
        by_client.setdefault(hit.client_id, []).append(hit)
        audit_log(
            actor=None,
            action="kyc.screening.hit_raised",
            obj=hit,
            after={
                "client_id": hit.client_id,
                "source": hit.source,
                "entry_id": hit.entry_id,
                "entry_hash": hit.entry_hash,
                "score": hit.score,
                "is_pep": hit.is_pep,
                "trigger": hit.trigger,
            },
        )
    for client_id, client_hits in by_client.items():
        url = client_url(client_id)
        lines = [
            f"{hit.entry.get('name') or hit.entry_id} ({hit.source}, {'PEP' if hit.is_pep else 'sanctions'}, "
            f"score {hit.score})"
            for hit in client_hits
        ]
        count = len(client_hits)
        title = f"Watchlist hit: {lines[0]}" if count == 1 else f"{count} watchlist hits to decide"
        timeline_record(
            client_id=client_id,
            kind=TimelineEvent.Kind.KYC,
            topic="kyc.screening.hit",
            title=title,
            detail="\n".join(lines),
            url=url,
            source=f"kyc-hit:{client_hits[0].pk}",
        )
        what = lines[0] if count == 1 else f"{count} entries, the closest {lines[0]}"
        for officer in officers:
            notify(officer, f"Watchlist hit on {labels[client_id]}: {what}. Decide it in the review queue.", url=url)
    return list(by_client)


def _trigger_checked(trigger: str) -> str:
    if trigger not in Trigger.values:
        raise ValueError(f"unknown screening trigger {trigger!r}")
    return trigger


def screen_client(client: Client, *, trigger: str) -> ScreeningRun:
    """Screen one client now against the current lists (their committed names, date of birth,
    nationality and country); store the run and any new hit, tell compliance, and re-evaluate the file."""
    trigger = _trigger_checked(trigger)
    subject = _subjects(Client.objects.filter(pk=client.pk).values_list(*_COLUMNS))[0]
    threshold = KycSettings.current().screening_threshold
    versions = current_versions()
    matches = _screen(subject, threshold)
    with transaction.atomic():
        new_ids = _hits_insert([(subject.id, match) for match in matches], trigger=trigger)
        run = ScreeningRun.objects.create(
            client_id=subject.id,
            trigger=trigger,
            list_versions=versions,
            names_screened=subject.names,
            candidates=len(matches),
            new_hits=len(new_ids),
        )
        if new_ids:
            _hits_announce(new_ids, {subject.id: subject.label}, list(compliance_officers()))
        kyc_evaluate(subject.id, trigger=f"screening ({trigger})")
    return run


# Decisions ----------------------------------------------------------------------------------------------


def hit_decide(hit: ScreeningHit, *, actor, decision: str, note: str) -> ScreeningHit:
    """A compliance officer's verdict on an open hit: a false positive (why, in the note: the list
    remembers it until the entry changes) or a confirmed match (the client becomes high risk and goes
    to review). Compare-and-swap: a hit already decided is refused, and nothing changes."""
    if not (actor and actor.is_authenticated and actor.has_perm(perm("kyc_compliance"))):
        raise PermissionDenied
    if decision not in DECISIONS:
        raise ApplicationError(
            "Choose false positive or confirmed match.", fields={"decision": ["Not a decision this hit can take."]}
        )
    note = " ".join(str(note or "").split())
    if decision == HitStatus.FALSE_POSITIVE and not note:
        raise ApplicationError(
            "Say why this is not the listed person.",
            fields={"note": ["Required for a false positive: the next screening relies on it."]},
        )
    if len(note) > NOTE_MAX:
        raise ApplicationError("The note is too long.", fields={"note": [f"At most {NOTE_MAX} characters."]})
    with transaction.atomic():
        now = timezone.now()
        decided = ScreeningHit.objects.filter(pk=hit.pk, status=HitStatus.OPEN).update(
            status=decision, decided_by=actor, decided_at=now, decision_note=note
        )
        if not decided:
            raise ApplicationError("This hit was already decided.", code="already_decided")
        hit.refresh_from_db()
        audit_log(
            actor=actor,
            action="kyc.screening.hit_decided",
            obj=hit,
            before={"status": HitStatus.OPEN},
            after={"status": decision, "decision_note": note, "client_id": hit.client_id},
        )
        name = hit.entry.get("name") or hit.entry_id
        title = (
            f"Watchlist hit closed as a false positive: {name}"
            if decision == HitStatus.FALSE_POSITIVE
            else f"Watchlist match confirmed: {name}"
        )
        timeline_record(
            client_id=hit.client_id,
            kind=TimelineEvent.Kind.KYC,
            topic="kyc.screening.hit_decided",
            title=title,
            detail=f"{hit.source} {hit.entry_id}, score {hit.score}" + (f"\n{note}" if note else ""),
            url=client_url(hit.client_id),
            actor=actor,
        )
        kyc_evaluate(hit.client_id, trigger="screening hit decided")
    return hit


# Re-screening every client after a list load ------------------------------------------------------------


def rescreen_job_create(list_version_id: int) -> RescreenJob:
    """The tenant's job for this list version (one per version: a repeated signal reuses it)."""
    existing = RescreenJob.objects.filter(list_version=list_version_id).first()
    if existing is not None:
        return existing
    job = RescreenJob.objects.create(list_version=list_version_id, total=screened_clients().count())
    audit_log(
        actor=None, action="kyc.rescreen.queued", obj=job, after={"list_version": list_version_id, "total": job.total}
    )
    return job


def rescreen_job_send(job_id: int) -> None:
    """Hand the job to a worker after the caller's commit, in the current tenant's schema; a broker
    outage leaves it queued for `rescreen_jobs_sweep`."""
    schema = connection.schema_name

    def send() -> None:
        from kyc.tasks_screening import rescreen_job_task

        with schema_context(schema):
            try:
                rescreen_job_task.delay(job_id)
            except Exception:  # kombu raises several kinds; the sweep sends it again
                logger.warning("re-screening job %s not sent to a worker; the sweep will retry", job_id, exc_info=True)

    transaction.on_commit(send)


def rescreen_all_start(list_version_id: int) -> RescreenJob:
    """Queue the re-screening of every client of the current tenant against the lists as they are now."""
    with transaction.atomic():
        job = rescreen_job_create(list_version_id)
        if job.status == JobStatus.QUEUED:
            rescreen_job_send(job.pk)
    return job


def rescreen_job_resume(*, actor, job: RescreenJob) -> RescreenJob:
    """Send a failed (or stuck queued) job again: it carries on after the last client it committed."""
    if not (actor and actor.is_authenticated and actor.has_perm(perm("kyc_manage"))):
        raise PermissionDenied
    with transaction.atomic():
        resumed = RescreenJob.objects.filter(pk=job.pk, status__in=[JobStatus.FAILED, JobStatus.QUEUED]).update(
            status=JobStatus.QUEUED, error=""
        )
        if not resumed:
            raise ApplicationError("This re-screening is running or finished.", code="not_resumable")
        audit_log(
            actor=actor,
            action="kyc.rescreen.resumed",
            obj=job,
            before={"status": job.status, "error": job.error},
            after={"status": JobStatus.QUEUED, "last_client_id": job.last_client_id},
        )
        rescreen_job_send(job.pk)
    job.refresh_from_db()
    return job


def _runner_lock(job_id: int, *, hold: bool) -> bool:
    """A session-level advisory lock held by the process running the job: PostgreSQL drops it when that
    process's connection dies, so the sweep can tell a dead runner from a slow one. With `hold=False`
    it only asks whether a runner holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(current_schema() || '.kyc.rescreen'), %s)", [job_id])
        acquired = cursor.fetchone()[0]
        if acquired and not hold:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(current_schema() || '.kyc.rescreen'), %s)", [job_id])
    return acquired


def _runner_unlock(job_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(hashtext(current_schema() || '.kyc.rescreen'), %s)", [job_id])


def rescreen_job_run(job_id: int) -> RescreenJob | None:
    """The Celery task's body: screen the job's clients in id order, CHUNK at a time, each chunk one
    transaction that also moves `last_client_id`; resumes after the last committed chunk. A second
    runner of the same job (a redelivery, the sweep) returns at once."""
    if not _runner_lock(job_id, hold=True):
        return RescreenJob.objects.filter(pk=job_id).first()
    try:
        claimed = RescreenJob.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
            status=JobStatus.RUNNING, started_at=Coalesce("started_at", timezone.now())
        )
        if not claimed:
            return RescreenJob.objects.filter(pk=job_id).first()
        # Clients signed up since the job was queued are screened too: count them in its total.
        job = RescreenJob.objects.get(pk=job_id)
        left = screened_clients().filter(pk__gt=job.last_client_id).count()
        RescreenJob.objects.filter(pk=job_id).update(total=job.done + left)
        try:
            while rescreen_chunk(job_id):
                pass
        except Exception as error:
            logger.exception("re-screening job %s stopped", job_id)
            message = f"Stopped at {timezone.now():%Y-%m-%d %H:%M} UTC: {type(error).__name__}: {error}"
            RescreenJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
                status=JobStatus.FAILED, error=message[:500]
            )
            return RescreenJob.objects.get(pk=job_id)
        with transaction.atomic():
            finished = RescreenJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
                status=JobStatus.DONE, finished_at=timezone.now()
            )
            job = RescreenJob.objects.get(pk=job_id)
            if finished:
                audit_log(
                    actor=None,
                    action="kyc.rescreen.finished",
                    obj=job,
                    after={"list_version": job.list_version, "screened": job.done, "new_hits": job.new_hits},
                )
        return job
    finally:
        _runner_unlock(job_id)


def rescreen_chunk(job_id: int, *, size: int = CHUNK) -> bool:
    """Screen the next `size` clients after the job's `last_client_id` and commit them with the job's
    progress; False when none are left (or the job is no longer running)."""
    with transaction.atomic():
        job = RescreenJob.objects.select_for_update().get(pk=job_id)
        if job.status != JobStatus.RUNNING:
            return False
        subjects = _subjects(
            screened_clients().filter(pk__gt=job.last_client_id).order_by("pk").values_list(*_COLUMNS)[:size]
        )
        if not subjects:
            return False
        threshold = KycSettings.current().screening_threshold
        versions = current_versions()
        # The index checked once for the chunk, not once per client (a query each: most of the time).
        index = matching.current_index()
        found: list[tuple[int, matching.Match]] = []
        runs: list[ScreeningRun] = []
        for subject in subjects:
            matches = _screen(subject, threshold, screen=index.screen)
            if matches:
                found.extend((subject.id, match) for match in matches)
                runs.append(
                    ScreeningRun(
                        client_id=subject.id,
                        trigger=Trigger.LIST_UPDATE,
                        list_versions=versions,
                        names_screened=subject.names,
                        candidates=len(matches),
                    )
                )
        new_ids = _hits_insert(found, trigger=Trigger.LIST_UPDATE)
        if new_ids:
            new_by_client: dict[int, int] = {}
            for client_id in ScreeningHit.objects.filter(pk__in=new_ids).values_list("client_id", flat=True):
                new_by_client[client_id] = new_by_client.get(client_id, 0) + 1
            for run in runs:
                run.new_hits = new_by_client.get(run.client_id, 0)
        ScreeningRun.objects.bulk_create(runs)
        if new_ids:
            labels = {subject.id: subject.label for subject in subjects}
            for client_id in _hits_announce(new_ids, labels, list(compliance_officers())):
                kyc_evaluate(client_id, trigger=f"screening ({Trigger.LIST_UPDATE})")
        job.done += len(subjects)
        job.new_hits += len(new_ids)
        job.last_client_id = subjects[-1].id
        job.save(update_fields=["done", "new_hits", "last_client_id"])
    return True


def rescreen_jobs_sweep(*, queued_for_seconds: int = 120) -> int:
    """Send again the jobs nobody runs: queued for a while (the send was lost) or running without a
    live runner (its worker died); beat runs it in every tenant. The number sent."""
    cutoff = timezone.now() - timedelta(seconds=queued_for_seconds)
    stuck = RescreenJob.objects.filter(
        Q(status=JobStatus.QUEUED, created_at__lt=cutoff) | Q(status=JobStatus.RUNNING)
    ).order_by("pk")
    sent = 0
    for job_id in stuck.values_list("pk", flat=True):
        if _runner_lock(job_id, hold=False):
            with transaction.atomic():
                rescreen_job_send(job_id)
            sent += 1
    return sent


# Progress for the ops page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RescreenProgress:
    job: RescreenJob
    list_label: str
    is_active: bool
    clients_per_second: float | None
    seconds_left: int | None


def rescreen_progress(now: datetime | None = None) -> RescreenProgress | None:
    """The running (else the newest) re-screening job of the tenant, with its list, rate and ETA."""
    job = (
        RescreenJob.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
        .order_by("created_at", "id")
        .first()
        or RescreenJob.objects.order_by("-created_at", "-id").first()
    )
    if job is None:
        return None
    version = ListVersion.objects.filter(pk=job.list_version).first()
    label = str(version) if version else f"list version {job.list_version}"
    rate = seconds_left = None
    if job.started_at and job.done:
        end = job.finished_at or now or timezone.now()
        elapsed = max((end - job.started_at).total_seconds(), 0.001)
        rate = job.done / elapsed
        if job.status == JobStatus.RUNNING:
            seconds_left = int(max(job.total - job.done, 0) / rate)
    return RescreenProgress(
        job=job,
        list_label=label,
        is_active=job.status in (JobStatus.QUEUED, JobStatus.RUNNING),
        clients_per_second=rate,
        seconds_left=seconds_left,
    )
