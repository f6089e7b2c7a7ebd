"""The demo county's indicator reference data: targets per consortium and year, the permanent
population of each village (so that the health-record filing rate lands near Liupanshui's
95.27 %), and the aggregate cells of the sources that were bulk-loaded without signals.

Runs last, after every other demo step: residents (bulk loads send ``residents_changed``),
encounters and referrals have already sent their signals (their cells are current); departments,
secondments, the population and the chronic and family-doctor rows are recomputed here because
those steps write in bulk.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db.models import Count

from yigongti.indicators import engine
from yigongti.indicators import seed as catalogue
from yigongti.indicators.definitions import CHRONIC_SOURCES, FAMILYDOCTOR_SOURCES
from yigongti.indicators.models import Indicator, IndicatorTarget, PopulationReference
from yigongti.institutions.choices import InstitutionKind
from yigongti.institutions.models import Institution
from yigongti.patients.models import Patient

from .structure import County

#: Share of permanent residents with a health record (Liupanshui 95.27 %), ± per village.
FILING_RATE = 0.9527
FILING_SPREAD = 0.025


def generate(county: County, *, seed: int, as_of: dt.date, residents: int) -> dict[str, int]:
    rng = random.Random(f"{seed}/indicators")
    years = (as_of.year - 1, as_of.year)
    targets = 0
    for code, value in seed_targets().items():
        indicator = Indicator.objects.filter(code=code).first()
        if indicator is None:
            continue
        for year in years:
            IndicatorTarget.objects.update_or_create(
                indicator=indicator,
                consortium=county.consortium,
                year=year,
                defaults={"value": Decimal(str(value))},
            )
            targets += 1
    filed = dict(
        Patient.objects.filter(merged_into__isnull=True, health_record_number__isnull=False)
        .values_list("village_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    rows = []
    villages = Institution.objects.filter(
        kind=InstitutionKind.VILLAGE_CLINIC, parent__consortium=county.consortium
    )
    for village_id in villages.order_by("pk").values_list("pk", flat=True):
        count = filed.get(village_id, 0)
        if not count:
            continue
        for year in years:
            rate = FILING_RATE + rng.uniform(-FILING_SPREAD, FILING_SPREAD)
            people = max(count, round(count / rate)) if rate < 1 else count
            rows.append(PopulationReference(institution_id=village_id, year=year, permanent_residents=people))
    PopulationReference.objects.bulk_create(rows, batch_size=2000)
    # residents, encounters and referrals sent their signals; the structure (departments,
    # secondments), the population above and the chronic and family-doctor steps' rows were
    # written in bulk (bulk_create, no signal)
    bulk = ["beds", "secondments", "population", *CHRONIC_SOURCES, *FAMILYDOCTOR_SOURCES]
    cells = engine.rebuild(sources=bulk)
    return {"indicator_targets": targets, "population_rows": len(rows), "indicator_cells": cells}


def seed_targets() -> dict[str, object]:
    return dict(catalogue.TARGETS)
