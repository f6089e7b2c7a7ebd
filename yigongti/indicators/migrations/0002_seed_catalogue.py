"""The seed catalogue (``seed.CATALOGUE``), so every database, test databases included, has it."""

from django.db import migrations


def load(apps, schema_editor):
    from yigongti.indicators import seed

    seed.load(apps)


class Migration(migrations.Migration):
    dependencies = [("indicators", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
