"""Incremental aggregates always equal a computation from scratch."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core.management import call_command

from yigongti.encounters.services import encounter_record
from yigongti.indicators import engine
from yigongti.indicators.definitions import SHANGHAI, presence
from yigongti.indicators.models import IndicatorCell, PopulationReference
from yigongti.institutions import services as inst

from .helpers import at, places, record, residents

pytestmark = pytest.mark.django_db


def test_random_incremental_changes_equal_a_rebuild(county):
    rng = random.Random(7)
    people = residents(county, 6)
    engine.rebuild()
    assert engine.snapshot()  # the residents and beds are counted already
    rows = record(rng, county, people, n=40, ext="e")
    for step in range(25):
        choice = rng.random()
        if choice < 0.5:  # a re-sent encounter moves in time and place
            row = rng.choice(rows)
            place = rng.choice(places(county)) if row.in_county else None
            if row.kind == "inpatient" and place is not None and place.level == "village":
                place = county.township
            day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(0, 300))
            encounter_record(
                actor=None,
                patient=row.patient,
                institution=place,
                kind=row.kind,
                started_at=at(day),
                discharged_on=day + dt.timedelta(days=2) if row.kind == "inpatient" else None,
                is_tcm=not row.is_tcm,
                total_cost="100",
                insurance_paid="60",
                out_of_pocket="40",
                residence_county_code="441823",
                in_county=row.in_county,
                facility_name=row.facility_name,
                facility_area_code=row.facility_area_code,
                source_system="test",
                external_id=row.external_id,
            )
        elif choice < 0.75:
            rows += record(rng, county, people, n=3, ext=f"s{step}-")
        elif choice < 0.85:
            dept = inst.department_create(
                actor=None,
                institution=rng.choice([county.lead, county.township]),
                code=f"D{step}",
                name=f"科{step}",
                category="surgery",
                beds=rng.randrange(5, 30),
            )
            assert dept.beds > 0
        else:
            PopulationReference.objects.update_or_create(
                institution=rng.choice([county.village, county.other_village]),
                year=2025,
                defaults={"permanent_residents": rng.randrange(100, 900)},
            )
    incremental = engine.snapshot()
    engine.rebuild()
    assert engine.snapshot() == incremental
    assert IndicatorCell.objects.filter(part__source="encounters").exists()


def test_the_rebuild_command_recomputes_lost_cells(county):
    rng = random.Random(3)
    record(rng, county, residents(county, 3), n=10)
    before = engine.snapshot()
    IndicatorCell.objects.all().delete()
    call_command("indicators_rebuild", verbosity=0)
    assert engine.snapshot() == before


def test_a_resident_moving_village_leaves_the_old_cell(county):
    person = residents(county, 1)[0]
    engine.rebuild()
    old_village = person.village_id
    person.village = county.foreign_village
    person.save()
    incremental = engine.snapshot()
    engine.rebuild()
    assert engine.snapshot() == incremental
    assert any(i == county.foreign_village.pk for _p, i, _m in incremental)
    assert old_village != county.foreign_village.pk


def test_a_refresh_over_many_months_equals_a_rebuild(county):
    rng = random.Random(5)
    record(rng, county, residents(county, 4), n=30)
    expected = engine.snapshot()
    months = {dt.date(2025, m, 1) for m in (1, 2, 5, 9)}
    IndicatorCell.objects.filter(part__source="encounters", month__in=months).delete()
    engine.refresh("encounters", {(i.pk, m) for m in months for i in places(county)} | {(None, min(months))})
    assert engine.snapshot() == expected


def test_a_visit_is_counted_in_its_local_month_at_a_month_end(county):
    """Months are Beijing time: 23:59 on 31 January is January, 00:00 on 1 February (16:00 UTC
    the day before) is February; on SQLite only days from the 28th on take the exact path."""
    person = residents(county, 1)[0]
    times = [
        dt.datetime(2025, 1, 31, 23, 59, tzinfo=SHANGHAI),  # UTC 31 Jan 15:59
        dt.datetime(2025, 2, 1, 0, 0, tzinfo=SHANGHAI),  # UTC 31 Jan 16:00
        dt.datetime(2025, 2, 28, 7, 0, tzinfo=SHANGHAI),  # UTC 27 Feb 23:00
        dt.datetime(2025, 3, 1, 7, 59, tzinfo=SHANGHAI),  # UTC 28 Feb 23:59
        dt.datetime(2025, 3, 27, 12, 0, tzinfo=SHANGHAI),  # UTC 27 Mar 04:00
    ]
    for i, when in enumerate(times):
        encounter_record(
            actor=None,
            patient=person,
            institution=county.township,
            kind="outpatient",
            started_at=when,
            total_cost="10",
            external_id=f"EDGE{i}",
        )
    incremental = engine.snapshot()
    engine.rebuild()
    assert engine.snapshot() == incremental
    rows = presence("encounters")
    months = {m: v for (p, i, m), v in incremental.items() if p == rows.key and i == county.township.pk}
    assert months == {dt.date(2025, 1, 1): 1, dt.date(2025, 2, 1): 2, dt.date(2025, 3, 1): 2}
