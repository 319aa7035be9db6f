"""Every tenant starts with the default verification levels and questionnaire (kyc.defaults)."""

from django.db import migrations

from kyc.defaults import kyc_defaults_ensure


def create_defaults(apps, schema_editor):
    kyc_defaults_ensure(apps.get_model("kyc", "VerificationLevel"), apps.get_model("kyc", "Questionnaire"))


class Migration(migrations.Migration):
    dependencies = [("kyc", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
