#!/bin/sh
# While payments is being built: regenerate payments/migrations/0001_initial.py from the models.
# Serialised with flock so parallel workers do not interleave. Keeps the hand-written 0002.
set -eu
cd "$(dirname "$0")/.."
exec 9>/tmp/payments-remigrate.lock
flock 9
mv payments/migrations/0002_ledger_rules.py /tmp/0002_ledger_rules.py.$$
rm -f payments/migrations/0001_initial.py
BROKERAGE_TESTING=1 .venv/bin/python manage.py makemigrations payments >/dev/null 2>&1 || status=$?
mv /tmp/0002_ledger_rules.py.$$ payments/migrations/0002_ledger_rules.py
ls payments/migrations/0001_initial.py >/dev/null
exit "${status:-0}"
