"""Client tags as crm.profile.tags_clean keeps them: lower-cased, trimmed, one space, no blanks or repeats.

Leads entered or imported before the fix kept their case ("VIP" next to "vip"). The first spelling's
position is kept. Reversing does nothing: the original case is not needed and cannot be told apart.
"""

from django.db import migrations

LOWERCASE_TAGS = r"""
UPDATE crm_client AS client
SET tags = cleaned.tags
FROM (
    SELECT id,
           ARRAY(
               SELECT tag
               FROM (
                   SELECT lower(btrim(regexp_replace(raw, '\s+', ' ', 'g'))) AS tag, min(position) AS first
                   FROM unnest(crm_client.tags) WITH ORDINALITY AS item(raw, position)
                   GROUP BY 1
               ) AS distinct_tags
               WHERE tag <> ''
               ORDER BY first
           )::varchar(40)[] AS tags
    FROM crm_client
    WHERE cardinality(tags) > 0
) AS cleaned
WHERE client.id = cleaned.id AND client.tags IS DISTINCT FROM cleaned.tags
"""


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0004_client_name_and_kyc_pending_indexes"),
    ]

    operations = [
        migrations.RunSQL(LOWERCASE_TAGS, reverse_sql=migrations.RunSQL.noop, elidable=True),
    ]
