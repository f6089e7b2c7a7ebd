"""Registry entries and follow-ups that can be read as of any day: the day an entry was closed,
and for each follow-up the date of the entry's next one (until then it is the latest). Existing
closed entries take the day of their ``chronic.close`` audit row (else of their last change);
every follow-up is linked to its successor."""

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations, models

#: The same statement as ``chronic.bulk.link_follow_ups`` (copied: a migration keeps its own).
LINK = (
    "UPDATE chronic_followup SET until = ("
    "SELECT n.visit_date FROM chronic_followup n WHERE n.enrollment_id = chronic_followup.enrollment_id "
    "AND (n.visit_date > chronic_followup.visit_date "
    "OR (n.visit_date = chronic_followup.visit_date AND n.id > chronic_followup.id)) "
    "ORDER BY n.visit_date, n.id LIMIT 1)"
)


def backfill(apps: Any, schema_editor: Any) -> None:
    enrollment = apps.get_model("chronic", "Enrollment")
    audit_event = apps.get_model("core", "AuditEvent")
    zone = ZoneInfo(getattr(settings, "TIME_ZONE", "Asia/Shanghai"))
    closes: dict[str, dt.datetime] = {}
    for object_id, at in audit_event.objects.filter(verb="chronic.close").values_list("object_id", "occurred_at"):
        closes[object_id] = at
    for pk, updated in enrollment.objects.filter(is_active=False).values_list("pk", "updated_at"):
        when = closes.get(str(pk), updated)
        enrollment.objects.filter(pk=pk).update(closed_on=when.astimezone(zone).date())
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(LINK)


class Migration(migrations.Migration):
    dependencies = [
        ("chronic", "0003_elderly_first_in_year"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="enrollment",
            name="closed_on",
            field=models.DateField(blank=True, null=True, verbose_name="closed on"),
        ),
        migrations.AddField(
            model_name="followup",
            name="until",
            field=models.DateField(blank=True, null=True, verbose_name="latest until"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
