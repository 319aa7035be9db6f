"""The audit table refuses UPDATE and DELETE: records are only ever added.

TRUNCATE is left to the table owner (test teardown uses it); in production the
application's database role should not own the table, so it cannot truncate either.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION brokerage_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER brokerage_auditrecord_no_update_delete
    BEFORE UPDATE OR DELETE ON brokerage_auditrecord
    FOR EACH ROW EXECUTE FUNCTION brokerage_audit_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS brokerage_auditrecord_no_update_delete ON brokerage_auditrecord;
DROP FUNCTION IF EXISTS brokerage_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("brokerage", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
