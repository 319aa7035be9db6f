from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    """pg_trgm in the public schema, which every tenant schema's search path includes (crm search)."""

    dependencies = [("tenants", "0001_initial")]

    operations = [TrigramExtension()]
