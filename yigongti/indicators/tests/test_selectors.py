"""Values from the cells: groups, no data, zero denominators, targets, scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from yigongti.accounts.choices import Role
from yigongti.core.access import scope_for
from yigongti.core.errors import InvalidInput, NotFound
from yigongti.encounters.models import Encounter
from yigongti.indicators import periods, selectors
from yigongti.indicators.definitions import SHANGHAI
from yigongti.indicators.models import PopulationReference

pytestmark = pytest.mark.django_db


def _row(rows, code, group=None):
    return next(r for r in rows if r.indicator.code == code and (group is None or r.group == group))


def test_the_consortium_value_is_the_share_of_the_rows(data):
    scope = scope_for(data.users[Role.CONSORTIUM_OFFICE])
    period = periods.parse("2025-03")
    row = _row(selectors.values_for(scope=scope, period=period), "grassroots_visit_share")
    visits = Encounter.objects.filter(
        kind__in=["outpatient", "emergency"],
        in_county=True,
        started_at__gte=dt.datetime(2025, 3, 1, tzinfo=SHANGHAI),
        started_at__lt=dt.datetime(2025, 4, 1, tzinfo=SHANGHAI),
    )
    grassroots = visits.filter(institution__level__in=["township", "village"]).count()
    assert row.current.numerator == grassroots and row.current.denominator == visits.count()
    assert row.current.value == (Decimal(grassroots) * 100 / visits.count()).quantize(Decimal("0.01"))
    assert row.target == Decimal("65") and row.light in ("green", "amber", "red")
    assert row.group == str(data.consortium.pk)


def test_a_period_without_data_is_no_data_never_zero(data):
    scope = scope_for(data.users[Role.HEALTH_BUREAU])
    rows = selectors.values_for(scope=scope, period=periods.parse("2023"))
    assert rows
    for row in rows:
        if row.current.reason != selectors.UNAVAILABLE:
            assert row.current.value is None and row.current.reason == selectors.NO_DATA, row.indicator.code
    assert _row(rows, "grassroots_visit_share").current.reason_text


def test_a_zero_denominator_is_said_so(data):
    scope = scope_for(data.users[Role.CONSORTIUM_OFFICE])

    def filing(year):
        return selectors.values_for(
            scope=scope, period=periods.parse(year), codes=["health_record_filing_rate"]
        )[0]

    assert filing("2026").current.reason == selectors.NO_DATA  # no population on file that year
    PopulationReference.objects.create(institution=data.other_village, year=2024, permanent_residents=0)
    row = filing("2024")
    assert row.current.reason == selectors.ZERO_DENOMINATOR and row.current.value is None
    assert row.current.numerator == 6 and row.current.reason_text
    assert filing("2025").current.value == Decimal("150.00")  # 6 records, 4 residents on file


def test_groups_add_up_to_the_consortium(data):
    scope = scope_for(data.users[Role.CONSORTIUM_OFFICE])
    period = periods.parse("2025")
    total = _row(
        selectors.values_for(scope=scope, period=period, codes=["cost_per_inpatient"]), "cost_per_inpatient"
    )
    for by in ("institution", "level", "township"):
        rows = selectors.values_for(scope=scope, period=period, by=by, codes=["cost_per_inpatient"])
        assert sum(r.current.numerator or 0 for r in rows) == total.current.numerator
        assert sum(r.current.denominator or 0 for r in rows) == total.current.denominator


def test_staff_see_only_their_institutions(data):
    scope = scope_for(data.users[Role.VILLAGE_DOCTOR])
    rows = selectors.values_for(scope=scope, period=periods.parse("2025"), by="institution")
    assert {r.group for r in rows} <= {str(data.village.pk)}
    with pytest.raises(NotFound):
        selectors.values_for(scope=scope, period=periods.parse("2025"), institution=data.lead.pk)


def test_bad_periods_and_groupings_are_refused():
    for text in ("2025-13", "2025-Q5", "25", "1999", "x"):
        with pytest.raises(InvalidInput):
            periods.parse(text)
    assert periods.parse("2025-Q2").previous().code == "2025-Q1"
    assert periods.parse("2025-01").previous().code == "2024-12"
    assert periods.parse("2025").previous().code == "2024"


def test_records_are_masked_for_the_office_and_readable_in_the_village(data):
    period = periods.parse("2025-03")
    indicator = selectors.indicator_get("grassroots_visit_share")
    office = scope_for(data.users[Role.CONSORTIUM_OFFICE])
    definition, qs = selectors.records_for(
        scope=office, indicator=indicator, period=period, institution=str(data.village.pk)
    )
    rows = selectors.record_rows(definition, list(qs.select_related("patient")), office)
    person = data.patients["people"][0]
    assert rows and all(r["patient"] != person.name for r in rows)
    assert any(r["patient"] == person.name[0] + "*" for r in rows)
    village = scope_for(data.users[Role.VILLAGE_DOCTOR])
    definition, qs = selectors.records_for(
        scope=village, indicator=indicator, period=period, institution=str(data.village.pk)
    )
    assert person.name in {r["patient"] for r in selectors.record_rows(definition, list(qs), village)}
    with pytest.raises(NotFound):
        selectors.records_for(
            scope=village, indicator=indicator, period=period, institution=str(data.lead.pk)
        )
