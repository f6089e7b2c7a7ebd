"""The demo county's encounters: every row passes the rules the services apply, the shares land
near the seed reports' figures, the year before has stays, and the sample CSV imports into it."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Q, Sum

from yigongti.encounters.bulk import people_by_identifier
from yigongti.encounters.models import Encounter
from yigongti.encounters.rules import COLUMNS, Person, Place, clean
from yigongti.encounters.signals import encounters_changed
from yigongti.institutions.models import Institution

AS_OF = dt.date(2025, 6, 30)
SAMPLE = Path(__file__).resolve().parents[3] / "docs" / "samples" / "encounters.csv"
received: list[set] = []


def _receiver(sender, **kwargs):
    received.append(kwargs["keys"])


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        encounters_changed.connect(_receiver)
        try:
            call_command(
                "generate_county", "--residents=3000", "--seed=7", f"--as-of={AS_OF}", stdout=StringIO()
            )
        finally:
            encounters_changed.disconnect(_receiver)
        yield
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_every_demo_row_passes_the_service_rules(demo):
    places = {
        i.pk: Place(i.pk, i.level, i.area_code) for i in Institution.objects.only("pk", "level", "area_code")
    }
    departments = dict(
        Encounter.objects.values_list("department_id", "department__institution_id").distinct()
    )
    now = dt.datetime(2025, 6, 30, tzinfo=dt.UTC)
    rows = Encounter.objects.values("id", *COLUMNS, "patient__village__area_code")
    checked = 0
    for row in rows.iterator():
        dept = row["department_id"]
        values = clean(
            person=Person(row["patient_id"], row["patient__village__area_code"]),
            place=places.get(row["institution_id"]),
            department=(dept, departments[dept]) if dept else None,
            **{
                c: row[c]
                for c in COLUMNS
                if c not in ("patient_id", "institution_id", "department_id", "bed_days")
            },
            now=now,
        )
        assert values["bed_days"] == row["bed_days"]
        checked += 1
    assert checked > 15_000


@pytest.mark.django_db
def test_shares_land_near_the_seed_figures(demo):
    start = dt.datetime(2024, 6, 29, 16, tzinfo=dt.UTC)
    year = Encounter.objects.filter(started_at__gte=start)
    visits = year.filter(kind__in=["outpatient", "emergency"])
    grassroots = visits.filter(institution__level__in=["township", "village"])
    assert 0.60 < grassroots.count() / visits.count() < 0.75
    assert visits.filter(in_county=True).count() / visits.count() > 0.90
    stays = year.filter(kind="inpatient")
    assert 0.85 < stays.filter(in_county=True).count() / stays.count() < 0.97
    assert 0.38 < grassroots.filter(is_tcm=True).count() / grassroots.count() < 0.56
    money = year.aggregate(total=Sum("total_cost"), own=Sum("out_of_pocket"))
    assert 0.22 < money["own"] / money["total"] < 0.38
    online = year.filter(kind__in=["online", "ai_consultation"]).count()
    assert 0.01 < online / year.count() < 0.08
    per_resident = year.count() / 3000
    assert 5.5 < per_resident < 7.0
    kinds = dict(year.values_list("kind").annotate(n=Count("id")))
    assert set(kinds) == {"outpatient", "emergency", "inpatient", "home_visit", "online", "ai_consultation"}


@pytest.mark.django_db
def test_the_year_before_has_stays_only_and_the_signal_named_every_month(demo):
    start = dt.datetime(2024, 6, 29, 16, tzinfo=dt.UTC)
    before = Encounter.objects.filter(started_at__lt=start)
    assert set(before.values_list("kind", flat=True).distinct()) == {"inpatient"}
    assert before.count() > 300
    written = {
        (i, d.replace(day=1))
        for i, d in (
            (row[0], row[1].astimezone(dt.timezone(dt.timedelta(hours=8))).date())
            for row in Encounter.objects.values_list("institution_id", "started_at")
        )
    }
    assert written == set().union(*received)
    outside = Encounter.objects.filter(in_county=False)
    assert outside.exists() and not outside.filter(~Q(source="insurance")).exists()
    assert not outside.filter(kind="inpatient", discharged_on__isnull=True).exists()


@pytest.mark.django_db
def test_the_sample_csv_imports_into_the_demo_county(demo):
    numbers = [f"441823101001{n:05d}" for n in range(1, 11)]
    found = people_by_identifier(numbers)
    assert set(numbers) <= set(found)
    out = StringIO()
    call_command("import_encounters", str(SAMPLE), "--no-progress", stdout=out)
    assert Encounter.objects.filter(source_system="encounters").count() == 13, out.getvalue()
