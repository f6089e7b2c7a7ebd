"""The elderly service that is its resident's first of the calendar year carries a flag, so the
management rate counts each resident once a year. Existing rows are flagged here."""

from typing import Any

from django.db import migrations, models


def flag_first_services(apps: Any, schema_editor: Any) -> None:
    service = apps.get_model("chronic", "ElderlyService")
    seen: set[tuple[int, int]] = set()
    first: list[int] = []
    rows = service.objects.order_by("patient_id", "service_date", "id").values_list(
        "id", "patient_id", "service_date"
    )
    for pk, patient_id, day in rows.iterator(chunk_size=5000):
        if (patient_id, day.year) not in seen:
            seen.add((patient_id, day.year))
            first.append(pk)
    for i in range(0, len(first), 5000):
        service.objects.filter(pk__in=first[i : i + 5000]).update(first_in_year=True)


class Migration(migrations.Migration):
    dependencies = [
        ("chronic", "0002_reference_and_control"),
    ]

    operations = [
        migrations.AddField(
            model_name="elderlyservice",
            name="first_in_year",
            field=models.BooleanField(
                default=False, editable=False, verbose_name="first service of the year"
            ),
        ),
        migrations.RunPython(flag_first_services, migrations.RunPython.noop),
    ]
