"""Data for the indicator tests, written through the owning apps' services (so their signals fire)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from yigongti.core.testing import SmallCounty, make_patient
from yigongti.encounters.services import encounter_record
from yigongti.indicators.definitions import SHANGHAI

KINDS = ["outpatient", "outpatient", "outpatient", "emergency", "inpatient", "online", "ai_consultation"]


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), SHANGHAI)


def residents(county: SmallCounty, n: int = 4) -> list[Any]:
    villages = [county.village, county.other_village, county.foreign_village]
    return [
        make_patient(villages[i % 3], 100 + i, f"王{'一二三四五六七八'[i % 8]}", dt.date(1960 + i, 1, 5))
        for i in range(n)
    ]


def places(county: SmallCounty) -> list[Any]:
    return [
        county.lead,
        county.tcm,
        county.township,
        county.other_township,
        county.village,
        county.foreign_village,
    ]


def record(rng: random.Random, county: SmallCounty, people: list[Any], *, n: int, ext: str = "") -> list[Any]:
    """``n`` random encounters in 2024–2025 (a few outside the county), returned as rows."""
    rows = []
    for i in range(n):
        kind = rng.choice(KINDS)
        day = dt.date(2024, 11, 1) + dt.timedelta(days=rng.randrange(0, 420))
        outside = kind == "inpatient" and rng.random() < 0.2
        place = None if outside else rng.choice(places(county))
        if kind == "inpatient" and place is not None and place.level == "village":
            place = county.township
        cost = rng.randrange(20, 8000)
        paid = rng.randrange(0, cost)
        row, _ = encounter_record(
            actor=None,
            patient=rng.choice(people),
            institution=place,
            kind=kind,
            started_at=at(day, rng.randrange(0, 24)),
            discharged_on=day + dt.timedelta(days=rng.randrange(1, 9)) if kind == "inpatient" else None,
            is_tcm=rng.random() < 0.3,
            total_cost=str(cost),
            insurance_paid=str(paid),
            out_of_pocket=str(cost - paid),
            diagnosis_code="J06.9",
            residence_county_code="441823",
            in_county=not outside,
            facility_name="省人民医院" if outside else "",
            facility_area_code="440104" if outside else "",
            source_system="test" if ext else "",
            external_id=f"{ext}{i}" if ext else "",
        )
        rows.append(row)
    return rows
