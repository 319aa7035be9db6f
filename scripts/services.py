#!/usr/bin/env python3
"""Make sure PostgreSQL and Redis are reachable; print `export` lines to eval.

Usage (from scripts/demo.sh and scripts/test.sh):

    exports="$(python3 scripts/services.py --db brokerage)" && eval "$exports"

Standard library only: it must run with the system python3 before .venv
exists. Human messages go to stderr; stdout carries only `export` lines.

PostgreSQL, first that works:
  1. $DATABASE_URL as given.
  2. A server on 127.0.0.1:5432 (user postgres; $PGPASSWORD if it asks for one).
  3. Start the Debian clusters under /etc/postgresql (pg_ctlcluster), then 2.
  4. An embedded PostgreSQL 16 from the PyPI package pgserver, installed into
     .venv on demand, data in var/pgdata, Unix socket only.
The database (--db) is created when missing. pytest-django creates its own
test_<name> database on the same server.

Redis, first that works:
  1. $REDIS_URL as given (empty means: no Redis, run Celery tasks eagerly).
  2. A server answering PING on 127.0.0.1:6379.
  3. Start redis-server if it is installed, then 2.
  4. No Redis: REDIS_URL empty and CELERY_TASK_ALWAYS_EAGER=1, unless
     --require-redis is given, in which case this fails.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PGDATA = ROOT / "var" / "pgdata"
PGSERVER_REQUIREMENT = "pgserver==0.1.4"
PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# Set to 1 (or pass --force-embedded) to skip every other PostgreSQL option;
# only meant for testing the embedded fallback on a machine that has a server.
FORCE_EMBEDDED_ENV = "BROKERAGE_FORCE_EMBEDDED_PG"


class ServiceError(Exception):
    pass


def log(message: str) -> None:
    print(f"services: {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], timeout: float = 60, env: dict | None = None) -> tuple[int, str]:
    """Run a command; return (exit code, stdout+stderr).

    Output goes through a temporary file, not a pipe: a daemon started by the
    command (postgres, redis-server) could inherit a pipe and keep it open,
    and the caller's `$(...)` would then wait for ever.
    """
    with tempfile.TemporaryFile("w+") as out:
        try:
            proc = subprocess.run(  # noqa: S603 - argv lists built here, no shell
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                env=env,
                text=True,
            )
            code = proc.returncode
        except FileNotFoundError:
            return 127, f"{cmd[0]}: not found"
        except subprocess.TimeoutExpired:
            code = 124
        out.seek(0)
        return code, out.read().strip()


def tcp_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# --- PostgreSQL --------------------------------------------------------------


def pg_accepting() -> bool:
    """True when 127.0.0.1:5432 accepts connections."""
    if shutil.which("pg_isready"):
        code, _ = run(["pg_isready", "-q", "-h", PG_HOST, "-p", str(PG_PORT), "-t", "2"], timeout=10)
        return code == 0
    return tcp_open(PG_HOST, PG_PORT)


def local_url(db: str) -> str:
    # Debian's own packages ask for a password on 127.0.0.1 (scram): .ci/run
    # then sets one for the postgres role and passes it in $PGPASSWORD.
    password = os.environ.get("PGPASSWORD", "")
    auth = "postgres" + (":" + urllib.parse.quote(password, safe="") if password else "")
    return f"postgres://{auth}@{PG_HOST}:{PG_PORT}/{db}"


def socket_url(socket_dir: str, db: str) -> str:
    # libpq and dj-database-url both read ?host= as the socket directory.
    return f"postgresql://postgres@/{db}?host={urllib.parse.quote(socket_dir, safe='/')}"


def with_database(url: str, db: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + db))


# psycopg2 from .venv, for machines with no psql client (e.g. embedded server).
PSYCOPG2_SNIPPET = """
import sys, psycopg2
conn = psycopg2.connect(sys.argv[1], connect_timeout=5)
conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
cur = conn.cursor()
cur.execute(sys.argv[2])
if cur.description:
    for row in cur.fetchall():
        print("|".join(str(v) for v in row))
"""


def venv_has(module: str) -> bool:
    return VENV_PYTHON.exists() and run([str(VENV_PYTHON), "-c", f"import {module}"])[0] == 0


def run_sql(url: str, sql: str) -> tuple[int, str] | None:
    """Run one statement; None when neither psql nor .venv's psycopg2 exists."""
    env = dict(os.environ, PGCONNECT_TIMEOUT="5")
    if shutil.which("psql"):
        return run(
            ["psql", "-X", "-w", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql], timeout=30, env=env
        )
    if venv_has("psycopg2"):
        return run([str(VENV_PYTHON), "-c", PSYCOPG2_SNIPPET, url, sql], timeout=30, env=env)
    return None


def ensure_database(url: str, db: str) -> None:
    """Check we can log in and create `db` when it is missing."""
    admin_url = with_database(url, "postgres")
    # db is checked against [A-Za-z_][A-Za-z0-9_]* in main(): safe to interpolate.
    result = run_sql(admin_url, f"SELECT 1 FROM pg_database WHERE datname = '{db}'")  # noqa: S608
    if result is None:
        log(
            "no psql and no .venv with psycopg2 yet: cannot check that database "
            f"'{db}' exists (run `make venv` first if migrations fail)"
        )
        return
    code, output = result
    if code != 0:
        if "password" in output.lower():
            raise ServiceError(
                f"PostgreSQL at {PG_HOST}:{PG_PORT} asks for a password.\n"
                "  Set PGPASSWORD (for user postgres) or DATABASE_URL and run again.\n"
                f"  Server said: {output}"
            )
        raise ServiceError(f"cannot log in to PostgreSQL ({redact(admin_url)}): {output}")
    if output.strip() == "1":
        return
    code, output = run_sql(admin_url, f'CREATE DATABASE "{db}"')
    # A concurrent run may have created it in between: that is fine.
    if code != 0 and "already exists" not in output:
        raise ServiceError(f"could not create database '{db}': {output}")
    log(f"created database '{db}'")


def redact(url: str) -> str:
    return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", url)


def start_debian_clusters() -> bool:
    """Start every cluster under /etc/postgresql; True when 5432 then answers."""
    conf = Path("/etc/postgresql")
    if not shutil.which("pg_ctlcluster") or not conf.is_dir():
        return False
    versions = sorted(p.name for p in conf.iterdir() if (p / "main").is_dir())
    if not versions:
        return False
    for version in versions:
        log(f"starting PostgreSQL cluster {version}/main")
        # Without systemd running (as on these machines) pg_ctlcluster must not hand
        # over to systemctl. Exit code 2 means "already running": not an error.
        cmd = ["pg_ctlcluster", version, "main", "start"]
        if not Path("/run/systemd/system").exists():
            cmd.insert(1, "--skip-systemctl-redirect")
        code, output = run(cmd, timeout=60)
        if code not in (0, 2):
            log(f"pg_ctlcluster {version} main start failed ({code}): {output}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if pg_accepting():
            return True
        time.sleep(0.5)
    return False


# Started in .venv's python: pgserver is not importable by the system python3.
# cleanup_mode=None leaves the server running after this process exits.
PGSERVER_START = """
import sys, pgserver
server = pgserver.get_server(sys.argv[1], cleanup_mode=None)
print(server.get_postmaster_info().socket_dir)
"""

PGSERVER_STOP = """
import logging, os, sys
logging.disable(logging.CRITICAL)  # pgserver logs a failed pg_ctl at length
from pathlib import Path
from pgserver._commands import pg_ctl
pgdata = Path(sys.argv[1])
if not (pgdata / "postmaster.pid").exists():
    print("not running")
    sys.exit(0)
# As root, pgserver runs PostgreSQL as its own system user "pgserver".
user = "pgserver" if os.geteuid() == 0 else None
try:
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    print("stopped")
except Exception:
    print("not running (stale postmaster.pid)")
"""


def ensure_pgserver() -> None:
    if not VENV_PYTHON.exists():
        raise ServiceError(
            "no PostgreSQL found and no .venv to install the embedded one into.\n"
            "  Run `make venv` first, or install PostgreSQL (apt-get install postgresql),\n"
            "  or set DATABASE_URL."
        )
    if venv_has("pgserver"):
        return
    log(f"installing {PGSERVER_REQUIREMENT} into .venv (embedded PostgreSQL 16)")
    code, output = run([str(VENV_PYTHON), "-m", "pip", "install", "-q", PGSERVER_REQUIREMENT], timeout=600)
    if code != 0:
        raise ServiceError(f"pip install {PGSERVER_REQUIREMENT} failed:\n{output}")


def start_embedded(db: str) -> str:
    ensure_pgserver()
    PGDATA.parent.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        log(
            "running as root: pgserver runs PostgreSQL as system user 'pgserver' "
            "(created if missing) and makes the folders above var/pgdata world-traversable"
        )
    log(f"starting embedded PostgreSQL in {PGDATA.relative_to(ROOT)} (log: var/pgdata/log)")
    code, output = run([str(VENV_PYTHON), "-W", "ignore", "-c", PGSERVER_START, str(PGDATA)], timeout=120)
    lines = output.splitlines()
    if code != 0 or not lines or not lines[-1].startswith("/"):
        raise ServiceError(f"embedded PostgreSQL (pgserver) did not start:\n{output}")
    url = socket_url(lines[-1], db)
    ensure_database(url, db)
    return url


def stop_embedded() -> int:
    if not venv_has("pgserver"):
        log("pgserver is not installed in .venv: nothing to stop")
        return 0
    code, output = run([str(VENV_PYTHON), "-W", "ignore", "-c", PGSERVER_STOP, str(PGDATA)], timeout=60)
    log(f"embedded PostgreSQL: {output}")
    return code


def database_url(db: str, force_embedded: bool) -> str:
    if force_embedded:
        log("forced embedded PostgreSQL (testing the fallback)")
        return start_embedded(db)
    if os.environ.get("DATABASE_URL"):
        log("PostgreSQL: using DATABASE_URL from the environment")
        return os.environ["DATABASE_URL"]
    if pg_accepting():
        log(f"PostgreSQL: found a server on {PG_HOST}:{PG_PORT}")
    elif start_debian_clusters():
        log(f"PostgreSQL: started the local server on {PG_HOST}:{PG_PORT}")
    else:
        # Installing the postgresql package is .ci/run's job (or the developer's):
        # here we only fall back to a server that lives inside .venv.
        log(
            f"PostgreSQL: nothing on {PG_HOST}:{PG_PORT} and no cluster to start; "
            "falling back to embedded PostgreSQL (apt-get install postgresql gives a real one)"
        )
        return start_embedded(db)
    url = local_url(db)
    ensure_database(url, db)
    return url


# --- Redis -------------------------------------------------------------------


def redis_answer() -> str:
    """What 127.0.0.1:6379 says to PING ('' when nothing answers)."""
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1.0) as sock:
            sock.settimeout(2.0)
            sock.sendall(b"PING\r\n")
            reply = sock.recv(128).decode("ascii", "replace").strip()
            return reply.splitlines()[0] if reply else ""
    except OSError:
        return ""


def redis_url(require: bool) -> str:
    """A Redis URL, or '' for eager Celery."""
    if "REDIS_URL" in os.environ:
        url = os.environ["REDIS_URL"]
        if url or not require:
            log("Redis: using REDIS_URL from the environment" + ("" if url else " (empty: no Redis)"))
            return url
    answer = redis_answer()
    if answer.startswith("+PONG"):
        log(f"Redis: found a server on {REDIS_HOST}:{REDIS_PORT}")
        return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
    if shutil.which("redis-server"):
        log(f"Redis: starting redis-server on {REDIS_HOST}:{REDIS_PORT}")
        # Nothing on disk: Redis is a broker and cache here, not a store.
        # It exits 0 even when the port is taken, so check again afterwards.
        run(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                REDIS_HOST,
                "--port",
                str(REDIS_PORT),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            timeout=30,
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            answer = redis_answer()
            if answer.startswith("+PONG"):
                return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
            time.sleep(0.3)
    detail = f"{REDIS_HOST}:{REDIS_PORT} answered {answer!r}" if answer else "no Redis server"
    if require:
        raise ServiceError(
            f"Redis is required here but there is {detail}.\n"
            "  Install it (apt-get install redis-server) or set REDIS_URL."
        )
    log(f"WARNING: {detail}: Celery tasks run eagerly in-process (no worker, no beat)")
    return ""


# --- main --------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="brokerage", help="database name (default: brokerage)")
    parser.add_argument(
        "--require-redis", action="store_true", help="fail instead of falling back to eager Celery without Redis"
    )
    # Hidden: exercise / tidy up the embedded fallback on a machine that has a server.
    parser.add_argument("--force-embedded", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stop-embedded", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.stop_embedded:
        return stop_embedded()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", args.db):
        parser.error("--db: letters, digits and underscores only")

    force_embedded = args.force_embedded or os.environ.get(FORCE_EMBEDDED_ENV, "") not in ("", "0")
    try:
        db_url = database_url(args.db, force_embedded)
        cache_url = redis_url(args.require_redis)
    except ServiceError as exc:
        log(f"ERROR: {exc}")
        return 1

    log(f"DATABASE_URL={redact(db_url)}")
    log(f"REDIS_URL={cache_url or '(none)'}")
    print(f"export DATABASE_URL={shlex.quote(db_url)}")
    print(f"export REDIS_URL={shlex.quote(cache_url)}")
    if not cache_url:
        print("export CELERY_TASK_ALWAYS_EAGER=1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
