"""KYC re-screening benchmark: every client of a tenant screened again after a watchlist load.

A throwaway tenant `benchkyc` gets 100,000 clients (bench/crm_data.py's generator, loaded by COPY; every
one of them in a status that re-screening covers) and the shared watchlists get a 20,000-entry list of
source "bench" (people with aliases, dates of birth and nationalities, organisations, vessels; a few
hundred of the people are namesakes of client name pairs, so some clients match and some of those are
told apart by their date of birth). Measured in this process, in one run:

1. baseline "read": the job's reads alone: every client's screened columns, 500 at a time, in id order;
2. baseline "match": the same reads and watchlists.matching.screen for every client, no writes;
3. the job: `rescreen_job_create` + `rescreen_job_run` (the Celery task's body): chunks committed with
   the job's progress, screening runs, hits, audit, timeline, notifications, `kyc_evaluate` for the
   clients with new hits;
4. the job again against the same list, every hit already stored: the steady state of a daily reload.

Run: `.venv/bin/python bench/kyc_rescreen.py [--clients N] [--entries N] [--profile]` (uses DATABASE_URL
like the demo; about two minutes). The tenant and the bench list are dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")
os.environ.setdefault("BROKERAGE_DEMO", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench import crm_data  # noqa: E402
from bench.support import bench_tenant, outbox_mode  # noqa: E402
from brokerage.models import User  # noqa: E402
from crm.models import Client  # noqa: E402
from kyc import screening  # noqa: E402
from kyc.defaults import kyc_defaults_ensure  # noqa: E402
from kyc.models import KycSettings, RescreenJob, ScreeningHit  # noqa: E402
from watchlists import matching  # noqa: E402
from watchlists.models import Entry, ListVersion  # noqa: E402

SLUG = "benchkyc"
QUEUE = "bench-kyc"
SOURCE = "bench"
SEED = 2026

# Given names of several naming traditions, so the list shares tokens with the clients (as real lists do:
# many listed people are called Mohammed, Ivan or Wei) without copying their names.
GIVEN = [
    "Abdul", "Abdullah", "Ahmad", "Ahmed", "Ali", "Amir", "Anwar", "Ayman", "Bashir", "Faisal", "Farid", "Hamza",
    "Hassan", "Hussein", "Ibrahim", "Jamal", "Karim", "Khalid", "Mahmoud", "Mohammed", "Muhammad", "Mustafa",
    "Nasser", "Omar", "Rashid", "Saeed", "Salim", "Tariq", "Yusuf", "Zaid", "Aleksandr", "Alexei", "Andrei",
    "Boris", "Dmitri", "Evgeny", "Igor", "Ivan", "Mikhail", "Nikolai", "Oleg", "Pavel", "Sergei", "Vladimir",
    "Yuri", "Viktor", "Wei", "Ming", "Jun", "Li", "Hao", "Chen", "Jian", "Yong", "Kim", "Jong", "Sung", "Hyun",
    "Carlos", "Jose", "Juan", "Luis", "Miguel", "Pedro", "Rafael", "Diego", "Jorge", "Maria", "Ana", "Elena",
    "Fatima", "Aisha", "Olga", "Irina", "Natalia", "Svetlana", "Tatiana"
]  # fmt: skip
# Surnames are two syllables and an ending: tens of thousands of distinct ones, as on real lists.
SYLLABLES = [
    "ka", "ri", "mo", "ze", "tal", "bar", "dun", "sho", "kha", "lim", "nur", "fa", "ha", "si", "ro", "vel", "dan",
    "gor", "mir", "sul", "tan", "ab", "ra", "sa", "di", "zu", "le", "bo", "ni", "ke", "ar", "om", "us", "el", "ya",
    "vo", "ga", "pe", "chi", "lu", "ren", "zar", "mek", "tor", "bas", "kol", "mun", "qa", "ji", "wen", "hu", "xi",
    "go", "ma"
]  # fmt: skip
SUFFIXES = [
    "ov", "ev", "in", "enko", "sky", "i", "an", "ani", "ez", "es", "a", "o", "", "", "", "awi", "ullah", "yan",
    "ashvili"
]  # fmt: skip
ORG_WORDS = [
    "Golden", "Sands", "Global", "Eastern", "Western", "Crescent", "Star", "Horizon", "Falcon", "Pearl", "Atlas",
    "Nova", "Delta", "Unity", "Ocean", "Silk", "Road", "Summit", "Trans", "Continental", "Royal", "Imperial",
    "Petro", "Aero", "Shipping", "Trading", "Logistics", "Metals", "Energy"
]  # fmt: skip
ORG_FORMS = [
    "LLC", "Ltd", "FZE", "JSC", "OOO", "Co", "SA", "GmbH", "Holding", "Group"
]  # fmt: skip
COUNTRIES = ["IR", "KP", "SY", "RU", "BY", "VE", "CU", "IQ", "LY", "SD", "AF", "YE", "MM", "CN", "AE", "LB", "TR"]


def surname(rng: random.Random) -> str:
    return (rng.choice(SYLLABLES) + rng.choice(SYLLABLES) + rng.choice(SUFFIXES)).capitalize()


def listed_entries(count: int, namesakes: int, rng: random.Random) -> list[dict]:
    """`count` entries, the first `namesakes` of them people named like some client."""
    entries = []
    for number in range(count):
        dates = []
        if number < namesakes:
            kind = Entry.Kind.PERSON
            name = f"{rng.choice(crm_data.LAST_NAMES).upper()}, {rng.choice(crm_data.FIRST_NAMES)}"
            aliases = []
        else:
            roll = rng.random()
            kind = Entry.Kind.PERSON if roll < 0.8 else Entry.Kind.ORGANISATION if roll < 0.95 else Entry.Kind.VESSEL
            if kind == Entry.Kind.PERSON:
                middle = f" {rng.choice(GIVEN)}" if rng.random() < 0.4 else ""
                first, last = rng.choice(GIVEN), surname(rng)
                name = f"{last.upper()}, {first}{middle}"
                aliases = [f"{first} {last}"] + [f"{rng.choice(GIVEN)} {surname(rng)}" for _ in range(rng.randrange(3))]
            else:
                words = " ".join(rng.sample(ORG_WORDS, k=rng.choice((1, 2, 3))))
                name = f"{words} {rng.choice(ORG_FORMS)}" if kind == Entry.Kind.ORGANISATION else f"MV {words}"
                aliases = [f"{words} International"] if rng.random() < 0.3 else []
        if kind == Entry.Kind.PERSON and rng.random() < 0.8:
            born = date(1940, 1, 1) + timedelta(days=rng.randrange(20000))
            dates = [born.isoformat() if rng.random() < 0.7 else str(born.year)]
        nationalities = rng.sample(COUNTRIES, k=rng.choice((0, 1, 1, 2))) if kind != Entry.Kind.VESSEL else []
        entries.append(
            {
                "entry_id": f"BENCH-{number + 1}",
                "kind": kind,
                "name": name,
                "aliases": aliases,
                "dates_of_birth": dates,
                "nationalities": nationalities,
                "programs": [rng.choice(["SDGT", "IRAN", "RUSSIA-EO14024", "SYRIA", "DPRK3"])],
                "is_pep": kind == Entry.Kind.PERSON and rng.random() < 0.1,
            }
        )
    return entries


def list_load(entries: list[dict]) -> ListVersion:
    with schema_context("public"), transaction.atomic():
        ListVersion.objects.filter(source=SOURCE).delete()
        version = ListVersion.objects.create(
            source=SOURCE,
            format="bench",
            file_name="bench",
            sha256="0" * 64,
            entry_count=len(entries),
            added=len(entries),
            is_current=True,
        )
        Entry.objects.bulk_create(
            (
                Entry(
                    version=version,
                    content_hash=hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest(),
                    **entry,
                )
                for entry in entries
            ),
            batch_size=2000,
        )
    return version


def clients_load(count: int, rng: random.Random) -> int:
    _, agents = crm_data.staff_make()
    loaded = crm_data.copy_rows("crm_client", crm_data.CLIENT_COLUMNS, crm_data.clients_rows(count, agents, rng, {}))
    crm_data._sequence_past("crm_client")
    # Every client in a status re-screening covers, so the figures are per client of the tenant.
    Client.objects.filter(status__in=screening.NOT_SCREENED_STATUSES).update(status=Client.Status.REGISTERED)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_client")
    return loaded


def chunks():
    """The job's reads: (subjects of a chunk) until none are left."""
    last = 0
    while True:
        with transaction.atomic():
            rows = list(
                screening.screened_clients()
                .filter(pk__gt=last)
                .order_by("pk")
                .values_list(*screening._COLUMNS)[: screening.CHUNK]
            )
        if not rows:
            return
        last = rows[-1][0]
        yield screening._subjects(rows)


def baseline_read() -> tuple[int, float]:
    started = time.perf_counter()
    count = sum(len(subjects) for subjects in chunks())
    return count, time.perf_counter() - started


def baseline_match(threshold: int) -> tuple[int, int, float]:
    started = time.perf_counter()
    count = candidates = 0
    for subjects in chunks():
        index = matching.current_index()  # as the job does: checked once per chunk
        for subject in subjects:
            candidates += len(screening._screen(subject, threshold, screen=index.screen))
        count += len(subjects)
    return count, candidates, time.perf_counter() - started


def job_run(version: ListVersion, *, profile: bool) -> tuple[RescreenJob, float]:
    job = RescreenJob.objects.create(list_version=version.pk, total=screening.screened_clients().count())
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    screening.rescreen_job_run(job.pk)
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    if profiler:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    job.refresh_from_db()
    return job, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--namesakes", type=int, default=300, help="listed people named like some client")
    parser.add_argument("--profile", action="store_true", help="cProfile the first job run")
    options = parser.parse_args()
    rng = random.Random(SEED)
    print(f"outbox: {outbox_mode(QUEUE)}")
    version = None
    try:
        with bench_tenant(SLUG, "Bench KYC", queue=QUEUE):
            started = time.perf_counter()
            loaded = clients_load(options.clients, rng)
            kyc_defaults_ensure()
            compliance = Group.objects.get(name="compliance")
            for number in (1, 2):  # new hits notify each of them
                User.objects.create(email=f"compliance{number}@bench.test").groups.add(compliance)
            print(f"loaded {loaded:,} clients in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            version = list_load(listed_entries(options.entries, options.namesakes, rng))
            print(f"loaded a {options.entries:,}-entry list in {time.perf_counter() - started:.1f} s")
            threshold = KycSettings.current().screening_threshold

            started = time.perf_counter()
            screening._screen(screening._subjects([(0, "person", "Warm", "Up", "", "", None, "", "")])[0], threshold)
            print(f"index built in {time.perf_counter() - started:.1f} s: {matching.index_stats()}")

            print(f"threshold {threshold}; chunks of {screening.CHUNK}\n")
            print(f"{'what':<40} {'clients':>9} {'seconds':>8} {'clients/s':>10}  note", flush=True)

            def row(what: str, count: int, seconds: float, note: str = "") -> None:
                print(f"{what:<40} {count:>9,} {seconds:>8.1f} {count / seconds:>10,.0f}  {note}", flush=True)

            row("baseline: read the clients' columns", *baseline_read())
            count, candidates, seconds = baseline_match(threshold)
            row("baseline: read + match, no writes", count, seconds, f"{candidates:,} candidates")
            job, seconds = job_run(version, profile=options.profile)
            row("re-screening job (first: new hits)", job.done, seconds, f"{job.new_hits:,} new hits")
            job, seconds = job_run(version, profile=False)
            row("re-screening job (again: none new)", job.done, seconds, f"{job.new_hits:,} new hits")
            print(f"\n{ScreeningHit.objects.count():,} hits stored")
    finally:
        if version is not None:
            with schema_context("public"):
                ListVersion.objects.filter(pk=version.pk).delete()


if __name__ == "__main__":
    main()
