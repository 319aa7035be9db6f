#!/usr/bin/env bash
# Run the demo: services, migrations, static files, demo data, Celery, gunicorn.
# Usually started by `make demo` (which builds .venv first). PORT=8000 by default.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8000}"
# Loopback only: the demo has published passwords. BIND=0.0.0.0 exposes it on purpose.
BIND="${BIND:-127.0.0.1}"
ROOT="$PWD"
mkdir -p var/log var/run

say() { echo "demo: $*" >&2; }

# --- Refuse to run twice -------------------------------------------------------
# A second demo would start a second Celery beat (duplicate periodic tasks) on the
# same schedule file. A lock held for the whole run tells a live demo from the
# leftovers of a killed one.
if command -v flock >/dev/null; then
    exec 9>var/run/demo.lock
    if ! flock -n 9; then
        say "another demo is already running from this checkout (it holds var/run/demo.lock;"
        say "its pids are in var/run/*.pid). Stop it first (Ctrl-C in its terminal)."
        exit 1
    fi
fi

# --- Leftovers of a run that was killed hard (kill -9) ---------------------------
# Only our own processes (this checkout's Celery or gunicorn) are stopped; a pid
# recycled by something else is left alone, and stale pid files are just removed.
ours() {
    local pid="$1" pattern="$2"
    [ -r "/proc/$pid/cmdline" ] || return 1
    [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$ROOT" ] || return 1
    # (grep without -q: with pipefail, an early exit could SIGPIPE tr and fail the test)
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -- "$pattern" >/dev/null
}
PIDFILES=(var/run/celery-worker.pid var/run/celery-beat.pid var/run/gunicorn.pid)
for pidfile in "${PIDFILES[@]}"; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    case "$pidfile" in *gunicorn*) pattern="gunicorn brokerage.wsgi" ;; *) pattern="celery -A brokerage" ;; esac
    if [ -n "$pid" ] && ours "$pid" "$pattern"; then
        say "stopping leftover $(basename "$pidfile" .pid) (pid $pid) of an earlier, killed run"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 20); do ours "$pid" "$pattern" || break; sleep 0.5; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
done

# Anything still on the port is not ours: say so before touching the database.
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    say "port $PORT is already in use by another program (see: ss -ltnp 'sport = :$PORT')."
    say "stop it or choose another port: PORT=8001 make demo"
    exit 1
fi

# --- Services ------------------------------------------------------------------
# Assign first: `eval "$(cmd)"` would hide a failure of cmd from set -e.
exports="$(python3 scripts/services.py --db brokerage)"
eval "$exports"

export BROKERAGE_DEMO=1
export DJANGO_DEBUG=0
export BROKERAGE_URL_SCHEME=http
export BROKERAGE_URL_PORT="$PORT"

# --- Database and files (all idempotent) ---------------------------------------
.venv/bin/python manage.py migrate_schemas --shared -v0
.venv/bin/python manage.py migrate_schemas --tenant -v0
.venv/bin/python manage.py collectstatic --noinput -v0
.venv/bin/python manage.py seed_demo

# --- Processes -----------------------------------------------------------------
BG_PIDS=()
stop_all() {
    trap - EXIT INT TERM
    [ "${#BG_PIDS[@]}" -gt 0 ] || return 0
    say "stopping web server and Celery"
    kill -TERM "${BG_PIDS[@]}" 2>/dev/null || true
    # Celery's warm shutdown lets running tasks finish; do not wait for ever.
    for _ in $(seq 30); do
        kill -0 "${BG_PIDS[@]}" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL "${BG_PIDS[@]}" 2>/dev/null || true
    rm -f "${PIDFILES[@]}"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Background processes must not inherit the lock (fd 9): a killed demo's
# orphans would otherwise keep the next run out.
if [ -n "${REDIS_URL:-}" ]; then
    for name in worker beat; do echo "=== $(date -Is) demo start ===" >>"var/log/celery-$name.log"; done
    .venv/bin/celery -A brokerage worker -l info --concurrency 2 \
        >>var/log/celery-worker.log 2>&1 9>&- &
    BG_PIDS+=($!); echo $! >var/run/celery-worker.pid
    .venv/bin/celery -A brokerage beat -l info \
        -S brokerage.beat.TenantBeatScheduler \
        --schedule var/celerybeat-schedule \
        >>var/log/celery-beat.log 2>&1 9>&- &
    BG_PIDS+=($!); echo $! >var/run/celery-beat.pid
    say "Celery worker log: var/log/celery-worker.log"
    say "Celery beat log:   var/log/celery-beat.log"
else
    say "no Redis: Celery tasks run eagerly inside the web server (no worker, no beat)"
fi

say "web server on http://localhost:$PORT/ (access log below; Ctrl-C stops everything)"
# Started in the background and waited for, so that a TERM to this script runs
# the trap at once (bash defers traps while a foreground child runs).
# --no-control-socket: gunicorn 27 otherwise puts one in ~/.gunicorn/, shared by
# every gunicorn of this user; the demo does not use it.
.venv/bin/gunicorn brokerage.wsgi --bind "$BIND:$PORT" --workers 3 --access-logfile - \
    --no-control-socket 9>&- &
web_pid=$!
BG_PIDS+=("$web_pid"); echo "$web_pid" >var/run/gunicorn.pid

# Celery dying straight away (bad config, broker gone) should not go unnoticed.
sleep 3
for pidfile in var/run/celery-worker.pid var/run/celery-beat.pid; do
    [ -f "$pidfile" ] || continue
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        name="$(basename "$pidfile" .pid)"
        say "$name exited at start; last lines of var/log/$name.log:"
        tail -n 20 "var/log/$name.log" >&2
        exit 1
    fi
done

status=0
wait "$web_pid" || status=$?
say "web server exited with status $status"
exit "$status"
