"""Ledger rules PostgreSQL enforces itself, whatever code writes to the tables.

- At commit, every transaction's lines sum to zero per currency, it has at
  least two lines, and each line's currency is its account's currency
  (a deferred constraint trigger, so lines can be inserted one by one), and
  lines join a transaction only in the database transaction that posted it
  (`posted_xact`, a column only the database reads), so history cannot grow.
- The check function keeps the search path it was created with (its tenant's
  schema), because deferred checks can run after the connection has moved on.
- Posted transactions and lines are never updated or deleted; corrections
  are reversals. TRUNCATE stays possible for test database flushes.
"""

from django.db import migrations

BALANCED = """
-- The database transaction that posted each ledger transaction: lines may join it only then.
ALTER TABLE payments_ledgertransaction ADD COLUMN posted_xact bigint NOT NULL DEFAULT txid_current();

CREATE FUNCTION payments_ledger_transaction_balanced() RETURNS trigger AS $$
DECLARE
    txn bigint := NEW.transaction_id;
    bad record;
    posted record;
BEGIN
    SELECT l.currency, sum(l.amount) AS total INTO bad
      FROM payments_ledgerline l
     WHERE l.transaction_id = txn
     GROUP BY l.currency
    HAVING sum(l.amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: % lines sum to %', txn, bad.currency, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT t.posted_xact, count(l.id) AS lines INTO posted
      FROM payments_ledgertransaction t JOIN payments_ledgerline l ON l.transaction_id = t.id
     WHERE t.id = txn
     GROUP BY t.posted_xact;
    IF posted.posted_xact <> txid_current() THEN
        RAISE EXCEPTION 'ledger transaction % was posted earlier: lines cannot be added to it', txn
            USING ERRCODE = 'check_violation';
    END IF;
    IF posted.lines < 2 THEN
        RAISE EXCEPTION 'ledger transaction % has fewer than two lines', txn USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM payments_ledgeraccount a WHERE a.id = NEW.account_id AND a.currency <> NEW.currency) THEN
        RAISE EXCEPTION 'ledger line % is in %, not its account''s currency', NEW.id, NEW.currency
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET search_path FROM CURRENT;

CREATE CONSTRAINT TRIGGER payments_ledgerline_balanced
    AFTER INSERT ON payments_ledgerline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_transaction_balanced();

CREATE FUNCTION payments_ledger_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable: post a reversal instead', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payments_ledgerline_immutable
    BEFORE UPDATE OR DELETE ON payments_ledgerline
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_immutable();

CREATE TRIGGER payments_ledgertransaction_immutable
    BEFORE UPDATE OR DELETE ON payments_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_immutable();
"""

UNDO = """
DROP TRIGGER payments_ledgertransaction_immutable ON payments_ledgertransaction;
DROP TRIGGER payments_ledgerline_immutable ON payments_ledgerline;
DROP FUNCTION payments_ledger_immutable();
DROP TRIGGER payments_ledgerline_balanced ON payments_ledgerline;
DROP FUNCTION payments_ledger_transaction_balanced();
ALTER TABLE payments_ledgertransaction DROP COLUMN posted_xact;
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [migrations.RunSQL(BALANCED, UNDO)]
