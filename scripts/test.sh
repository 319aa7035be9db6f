#!/usr/bin/env bash
# Every check CI runs: ruff, missing migrations, then pytest (arguments pass through).
# Usually started by `make test` (which builds .venv and installs Chromium first).
set -euo pipefail
cd "$(dirname "$0")/.."

# A real Redis is required: one test runs a task through a real Celery worker.
# Assign first: `eval "$(cmd)"` would hide a failure of cmd from set -e.
exports="$(python3 scripts/services.py --db brokerage --require-redis)"
eval "$exports"
export BROKERAGE_TESTING=1

echo "test: ruff check" >&2
.venv/bin/ruff check .
echo "test: makemigrations --check" >&2
.venv/bin/python manage.py makemigrations --check --dry-run

echo "test: pytest $*" >&2
status=0
.venv/bin/pytest "$@" || status=$?
exit "$status"
