"""The seed elderly management rate counted a resident served in two months twice in a year; it
now counts only each resident's first service of the year (``chronic`` migration 0003 flags it).
An installation whose row still holds the old seed numerator gets the new one; an official's own
correction is left alone. The parts follow after migrate (``engine.sync_parts``)."""

from typing import Any

from django.db import migrations

OLD = {"source": "elderly_services", "filters": [], "measure": "distinct", "field": "patient"}
NEW = {
    "source": "elderly_services",
    "filters": [{"field": "first_in_year", "op": "eq", "value": True}],
    "measure": "distinct",
    "field": "patient",
}


def count_once_a_year(apps: Any, schema_editor: Any) -> None:
    indicator = apps.get_model("indicators", "Indicator")
    indicator.objects.filter(code="elderly_management_rate", numerator=OLD).update(numerator=NEW)


def count_every_service(apps: Any, schema_editor: Any) -> None:
    indicator = apps.get_model("indicators", "Indicator")
    indicator.objects.filter(code="elderly_management_rate", numerator=NEW).update(numerator=OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("indicators", "0003_cell_covering_index"),
        ("chronic", "0003_elderly_first_in_year"),
    ]

    operations = [migrations.RunPython(count_once_a_year, count_every_service)]
