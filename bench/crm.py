"""CRM benchmark: client list, client 360 and global search against the running server, with a load tool.

With 100,000 clients, 1,000,000 timeline events and 1,000,000 deals in one tenant (bench/crm_data.py),
gunicorn serves the tenant and ApacheBench (`ab`) requests each page N times at concurrency C after a
warm-up, signed in as a back-office user (sees every client) or as a sales agent (sees only their own).
Every page is first fetched once and checked: 200 and real content (not a sign-in redirect, not an
error page). Each figure sits beside trivial endpoints measured in the same run: `/health/` (one
`SELECT 1`, no session) and `/api/v1/me/` (signed in: session, user, permissions; no CRM query).
The aim: p95 under 300 ms for every CRM page; slower ones are flagged.

Run: `.venv/bin/python bench/crm.py [--requests N] [--concurrency C] [--keep] [--reuse] [--queries]`
(needs `ab`: `apt-get install apache2-utils`; uses DATABASE_URL like the demo). It creates a throwaway
tenant `benchcrm`, loads it (about two minutes) and drops it at the end; `--keep` leaves it (and its
data) for a next run with `--reuse`. `--queries` also profiles every page in-process: statements,
SQL time, the slowest statements and their EXPLAIN ANALYZE.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")
os.environ.setdefault("BROKERAGE_DEMO", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from bench import crm_data  # noqa: E402
from bench.support import bench_tenant, outbox_mode  # noqa: E402
from brokerage.models import User  # noqa: E402
from crm.models import Client  # noqa: E402
from tenants.models import Domain, Tenant  # noqa: E402

SLUG = "benchcrm"
HOST = f"{SLUG}.localhost"
QUEUE = "bench-crm"
LIMIT_MS = 300
CONTENT_LINK = re.compile(r"/ops/crm/clients/\d+/")


@dataclass
class Endpoint:
    name: str
    path: str
    who: str = ""  # "" (anonymous), "staff" or "agent"
    expect: list[str] = field(default_factory=list)  # texts the page must contain
    client_links: bool = False  # the page must link to at least one client 360 page
    trivial: bool = False


@dataclass
class Figures:
    requests: int = 0
    p50: float = 0
    p95: float = 0
    p99: float = 0
    rate: float = 0
    failed: int = 0
    non_2xx: int = 0


# Tenant ----------------------------------------------------------------------------------------------


@contextmanager
def kept_tenant(*, reuse: bool) -> Iterator[tuple[Tenant, bool]]:
    """The bench tenant made (or, with reuse, found) and left in place afterwards; yields (tenant, fresh)."""
    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is not None and reuse:
        with tenant_context(tenant):
            if crm_data.facts_read() is not None:
                yield tenant, False
                return
    if tenant is not None:
        tenant.delete(force_drop=True)
    tenant = Tenant(schema_name=f"t_{SLUG}", name="Bench CRM", slug=SLUG)
    tenant.save(verbosity=0)
    Domain.objects.create(domain=HOST, tenant=tenant, is_primary=True)
    with tenant_context(tenant):
        yield tenant, True


@contextmanager
def the_tenant(options) -> Iterator[tuple[Tenant, bool]]:
    if options.keep or options.reuse:
        with kept_tenant(reuse=options.reuse) as pair:
            yield pair
    else:
        with bench_tenant(SLUG, "Bench CRM", queue=QUEUE, domain=HOST) as tenant:
            yield tenant, True


def session_for(user: User) -> str:
    """A signed-in session in the tenant's schema, as allauth leaves it after password + TOTP.

    StaffMfaMiddleware only asks that staff have TOTP set up (crm_data gives every bench user one)."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


# Server ----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env() -> dict[str, str]:
    """The demo's settings (DEBUG off, manifest static files), without Redis: Celery runs eagerly, so
    /health/ is one SELECT 1 (with Redis it would also ping a Celery worker the benchmark does not run).
    The API's per-user throttle is lifted: the load tool is one user sending thousands of requests."""
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    env.update(
        BROKERAGE_DEMO="1", DJANGO_DEBUG="0", LOG_LEVEL="WARNING", API_THROTTLE_USER="10000000/min",
        BROKERAGE_URL_SCHEME="http",
    )  # fmt: skip
    return env


@contextmanager
def server(workers: int, port: int) -> Iterator[str]:
    env = server_env()
    if not (ROOT / "var" / "static" / "staticfiles.json").exists():  # what `make demo` does first
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "brokerage.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--no-control-socket", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if fetch(base, "/health/")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start (see its output above)")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch(base: str, path: str, session: str = "") -> tuple[int, str]:
    request = urllib.request.Request(base + path, headers={"Host": HOST})  # noqa: S310 - loopback
    if session:
        request.add_header("Cookie", f"{settings.SESSION_COOKIE_NAME}={session}")
    try:
        with _OPENER.open(request, timeout=30) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def check(base: str, endpoint: Endpoint, session: str) -> str:
    """'' when the page answers 200 with real content; else what is wrong."""
    status, body = fetch(base, endpoint.path, session)
    if status != 200:
        return f"HTTP {status}" + (" (page not built yet?)" if status == 404 else "")
    if 'name="login"' in body or 'action="/accounts/login/' in body:
        return "a sign-in page"
    missing = [text for text in endpoint.expect if text.lower() not in body.lower()]
    if missing:
        return f"does not show {missing}"
    if endpoint.client_links and not CONTENT_LINK.search(body):
        return "lists no client"
    return ""


# Load tool -------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One ab run: each request's total time (ms, from ab's -g file), the run's wall time, its errors."""

    samples: list[float]
    seconds: float
    failed: int
    non_2xx: int


def ab(base: str, endpoint: Endpoint, session: str, *, requests: int, concurrency: int) -> Run:
    with tempfile.NamedTemporaryFile("r", suffix=".tsv") as gnuplot:
        command = ["ab", "-q", "-l", "-n", str(requests), "-c", str(concurrency), "-H", f"Host: {HOST}"]
        command += ["-g", gnuplot.name]
        if session:
            command += ["-C", f"{settings.SESSION_COOKIE_NAME}={session}"]
        output = subprocess.run([*command, base + endpoint.path], capture_output=True, text=True, check=True).stdout  # noqa: S603
        # starttime, seconds, ctime, dtime, ttime, wait: ttime is the request's total in ms
        samples = [float(line.split("\t")[4]) for line in gnuplot.read().splitlines()[1:] if line.strip()]

    def number(pattern: str) -> float:
        match = re.search(pattern, output, re.MULTILINE)
        return float(match.group(1)) if match else 0

    return Run(
        samples=samples,
        seconds=number(r"^Time taken for tests:\s+([\d.]+)"),
        failed=int(number(r"^Failed requests:\s+(\d+)")),
        non_2xx=int(number(r"^Non-2xx responses:\s+(\d+)")),
    )


def figures_of(runs: list[Run]) -> Figures:
    ordered = sorted(x for run in runs for x in run.samples)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))]

    seconds = sum(run.seconds for run in runs)
    return Figures(
        requests=len(ordered), p50=statistics.median(ordered), p95=at(0.95), p99=at(0.99),
        rate=len(ordered) / seconds if seconds else 0, failed=sum(r.failed for r in runs),
        non_2xx=sum(r.non_2xx for r in runs),
    )  # fmt: skip


# The pages -------------------------------------------------------------------------------------------


def endpoints(loaded: crm_data.Loaded, agent: User) -> list[Endpoint]:
    target = f"/ops/crm/clients/{loaded.target_id}/"
    active = Client.objects.filter(status=Client.Status.ACTIVE).order_by("id").values_list("id", flat=True)
    typical = active[min(500, active.count() // 2)]
    q = quote
    return [
        Endpoint("trivial: health check", "/health/", expect=['"status": "ok"'], trivial=True),
        Endpoint("trivial: /api/v1/me/ (signed in)", "/api/v1/me/", "staff", [crm_data.STAFF_EMAIL], trivial=True),
        Endpoint("list: first page", "/ops/crm/clients/", "staff", client_links=True),
        Endpoint("list: status+country, page 3", "/ops/crm/clients/?status=funded&country=DE&page=3", "staff",
                 client_links=True),
        Endpoint("list: q=smith", "/ops/crm/clients/?q=smith", "staff", ["smith"], client_links=True),
        Endpoint("list: q=smith+status, page 2", "/ops/crm/clients/?q=smith&status=active&page=2", "staff",
                 ["smith"], client_links=True),
        Endpoint("list: tag+source", "/ops/crm/clients/?tag=vip&source=campaign", "staff", client_links=True),
        Endpoint("list: leads, stage qualified", "/ops/crm/clients/?status=lead&lead_stage=qualified", "staff",
                 client_links=True),
        Endpoint("list: sorted by last activity", "/ops/crm/clients/?sort=activity", "staff", client_links=True),
        Endpoint("list: sorted by name, page 40", "/ops/crm/clients/?sort=name&page=40", "staff", client_links=True),
        Endpoint("list: agent's clients, active", "/ops/crm/clients/?status=active", "agent", client_links=True),
        Endpoint("list: agent, q=smith", "/ops/crm/clients/?q=smith", "agent"),
        Endpoint(f"360: heavy client ({loaded.target_events:,} events, {loaded.target_deals:,} deals)", target,
                 "staff", [loaded.target_name]),
        Endpoint("360: heavy client, as its agent", target, "agent", [loaded.target_name]),
        Endpoint("360 timeline: payments only", f"{target}timeline/?kind=payments", "staff", ["deposit"]),
        Endpoint("360 timeline: text search", f"{target}timeline/?tq=gold", "staff", ["gold"]),
        Endpoint("360: a typical client", f"/ops/crm/clients/{typical}/", "staff"),
        Endpoint("search: full name", f"/ops/search/?q={q(loaded.target_name)}", "staff", [loaded.target_name]),
        Endpoint("search: email", f"/ops/search/?q={q(loaded.target_email)}", "staff", [loaded.target_name]),
        Endpoint("search: phone", f"/ops/search/?q={q(loaded.target_phone)}", "staff", [loaded.target_name]),
        Endpoint("search: account login", f"/ops/search/?q={q(loaded.target_login)}", "staff", [loaded.target_login]),
        Endpoint("search: common name", "/ops/search/?q=smith", "staff", ["smith"]),
        Endpoint("search: name, as agent", f"/ops/search/?q={q(loaded.target_name)}", "agent", [loaded.target_name]),
    ]  # fmt: skip


def visibility_check(base: str, agent_session: str, agent: User) -> str:
    """A sales agent must get a 404 for a client who is not theirs (the figures would lie otherwise)."""
    other = Client.objects.exclude(sales_agent=agent).exclude(retention_agent=agent).order_by("id").first()
    status, _ = fetch(base, f"/ops/crm/clients/{other.pk}/", agent_session)
    return "ok (404)" if status == 404 else f"HTTP {status} for another agent's client"


def run_load(options, loaded: crm_data.Loaded) -> None:
    staff = User.objects.get(email=crm_data.STAFF_EMAIL)
    agent = User.objects.get(email=crm_data.AGENT_EMAIL)
    sessions = {"": "", "staff": session_for(staff), "agent": session_for(agent)}
    pages = [e for e in endpoints(loaded, agent) if not options.only or options.only in e.name or e.trivial]
    if options.profile_only:
        profile(pages, sessions)
        return
    port = options.port or free_port()
    results: list[tuple[Endpoint, str, Figures | None]] = []
    with server(options.workers, port) as base:
        print(
            f"server: gunicorn, {options.workers} workers on {base}, Host {HOST}; load tool: ab -c {options.concurrency}"
        )
        print(f"agent visibility: {visibility_check(base, sessions['agent'], agent)}")
        print(f"machine load average (1, 5, 15 min) at the start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        measured = []
        for endpoint in pages:
            session = sessions[endpoint.who]
            problem = check(base, endpoint, session)
            if problem:
                results.append((endpoint, problem, None))
                print(f"  {endpoint.name:<52} not measured: {problem}")
                continue
            warm = max(options.warmup, options.concurrency)
            ab(base, endpoint, session, requests=warm, concurrency=options.concurrency)
            measured.append(endpoint)
        # Rounds: every page gets a share of its requests in each round, so a busy moment of the
        # machine (other work on it) hits every page and the trivial baselines alike.
        runs: dict[int, list[Run]] = {id(e): [] for e in measured}
        share = max(options.concurrency, options.requests // options.rounds)
        for number in range(options.rounds):
            for endpoint in measured:
                runs[id(endpoint)].append(
                    ab(base, endpoint, sessions[endpoint.who], requests=share, concurrency=options.concurrency)
                )
            print(f"  round {number + 1}/{options.rounds} done, load average {os.getloadavg()[0]:.1f}")
        for endpoint in measured:
            results.append((endpoint, "", figures_of(runs[id(endpoint)])))
        results.sort(key=lambda result: pages.index(result[0]))
    print(f"machine load average (1, 5, 15 min) at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print_table(results, options)
    if options.queries:
        profile(pages, sessions)


def print_table(results, options) -> None:
    print(
        f"\n{options.requests} requests per page at concurrency {options.concurrency} in {options.rounds} interleaved "
        f"rounds after {options.warmup} warm-up requests; times in ms (ab's per-request totals, whole ms); "
        f"aim p95 < {LIMIT_MS} ms\n"
    )
    head = f"| {'endpoint':<52} | {'as':<5} | {'requests':>8} | {'p50':>5} | {'p95':>5} | {'p99':>5} | {'req/s':>6} | verdict"
    print(head)
    print("|" + "|".join("-" * (len(part)) for part in head.split("|")[1:]))
    for endpoint, problem, figures in results:
        who = endpoint.who or "-"
        if figures is None:
            print(
                f"| {endpoint.name:<52} | {who:<5} | {'':>8} | {'':>5} | {'':>5} | {'':>5} | {'':>6} | not measured: {problem}"
            )
            continue
        verdict = "trivial baseline" if endpoint.trivial else "ok"
        if figures.non_2xx or figures.failed:
            verdict = f"ERRORS: {figures.non_2xx} non-2xx, {figures.failed} failed"
        elif not endpoint.trivial and figures.p95 > LIMIT_MS:
            verdict = f"SLOW: p95 over {LIMIT_MS} ms"
        print(
            f"| {endpoint.name:<52} | {who:<5} | {figures.requests:>8} | {figures.p50:>5.0f} | {figures.p95:>5.0f} "
            f"| {figures.p99:>5.0f} | {figures.rate:>6.1f} | {verdict}"
        )


# In-process profile (--queries) ------------------------------------------------------------------------


def profile(pages: list[Endpoint], sessions: dict[str, str]) -> None:
    """Each page through Django's test Client: statements, SQL time, the slowest three and the plan of
    the slowest (EXPLAIN ANALYZE). Warm first, so the figures are not a cold cache's."""
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext

    print("\nIn-process profile (one warm request per page)")
    for endpoint in pages:
        if endpoint.trivial:
            continue
        http = HttpClient(HTTP_HOST=HOST)
        if sessions[endpoint.who]:
            http.cookies[settings.SESSION_COOKIE_NAME] = sessions[endpoint.who]
        http.get(endpoint.path)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            answer = http.get(endpoint.path)
            took = (time.perf_counter() - started) * 1000
        queries = [q for q in captured.captured_queries if not q["sql"].startswith("SET search_path")]
        sql_ms = sum(float(q["time"]) for q in queries) * 1000
        print(f"\n{endpoint.name} [{endpoint.who}] {endpoint.path}: HTTP {answer.status_code}, {took:.0f} ms, "
              f"{len(queries)} statements, {sql_ms:.0f} ms SQL")  # fmt: skip
        slowest = sorted(queries, key=lambda q: float(q["time"]), reverse=True)[:3]
        for query in slowest:
            print(f"  {float(query['time']) * 1000:7.1f} ms  {query['sql'][:400]}")
        if slowest and float(slowest[0]["time"]) * 1000 > 20:
            with connection.cursor() as cursor:
                cursor.execute(f"SET search_path TO t_{SLUG}, public")
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest[0]["sql"])
                print("  plan of the slowest:")
                for (line,) in cursor.fetchall()[:25]:
                    print(f"    {line}")


# Main ------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=500, help="per page, after the warm-up")
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5, help="the requests of each page are spread over rounds")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (the demo runs 3)")
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument("--keep", action="store_true", help="leave the loaded tenant for a next --reuse")
    parser.add_argument("--reuse", action="store_true", help="use a kept tenant's data instead of loading")
    parser.add_argument("--queries", action="store_true", help="also profile every page's SQL in-process")
    parser.add_argument("--profile-only", action="store_true", help="only the in-process profile (no server, no ab)")
    parser.add_argument("--only", default="", help="only the pages whose name contains this text")
    parser.add_argument("--load-only", action="store_true", help="load (with --keep) and stop")
    options = parser.parse_args()
    if not shutil.which("ab") and not (options.load_only or options.profile_only):
        parser.error("ab (ApacheBench) is needed: apt-get install apache2-utils")

    with the_tenant(options) as (tenant, fresh):
        print(
            f"CRM benchmark on {os.cpu_count()} cores, PostgreSQL {connection.pg_version // 10000}, "
            f"outbox events: {outbox_mode(QUEUE)}"
        )
        if fresh:
            print(
                f"loading {crm_data.scale_note(options.clients, options.events, options.deals)} into {tenant.schema_name}"
            )
            loaded = crm_data.load(clients=options.clients, events=options.events, deals=options.deals)
            crm_data.facts_save(loaded)
        else:
            loaded = crm_data.facts_read()
            print(f"reusing {tenant.schema_name}")
        print(
            f"data: {loaded.clients:,} clients, {loaded.events:,} timeline events, {loaded.accounts:,} trading "
            f"accounts, {loaded.deals:,} deals, {loaded.deposits:,} deposits; agent02 holds {loaded.agent_clients:,} "
            f"clients; 360 target #{loaded.target_id} with {loaded.target_events:,} events and "
            f"{loaded.target_deals:,} deals"
        )
        for label, seconds in loaded.seconds.items():
            print(f"  load: {label:<44} {seconds:7.1f} s")
        if not options.load_only:
            run_load(options, loaded)


if __name__ == "__main__":
    main()
