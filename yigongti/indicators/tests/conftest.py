from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest

from yigongti.indicators.models import Indicator, IndicatorTarget, PopulationReference

from .helpers import at, record, residents


@pytest.fixture
def data(county: Any) -> Any:
    """Encounters in 2024–2025, population for 2025, a 2025 target; nothing at all in 2023."""
    from yigongti.encounters.services import encounter_record

    people = residents(county, 6)
    record(random.Random(11), county, people, n=60)
    # two known grassroots visits and one county visit in March 2025, for exact figures
    for place in (county.village, county.township, county.lead):
        encounter_record(
            actor=None,
            patient=people[0],
            institution=place,
            kind="outpatient",
            started_at=at(dt.date(2025, 3, 3)),
            total_cost="50",
            insurance_paid="30",
            out_of_pocket="20",
            residence_county_code="441823",
        )
    PopulationReference.objects.create(institution=county.village, year=2025, permanent_residents=4)
    IndicatorTarget.objects.create(
        indicator=Indicator.objects.get(code="grassroots_visit_share"),
        consortium=county.consortium,
        year=2025,
        value=Decimal("65"),
    )
    county.patients["people"] = people
    return county
