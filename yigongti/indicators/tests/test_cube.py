"""The cube (``indicators.cube``) against an independent count: for definitions whose filters go
every way the cube can take them (an institution's own attribute, a dimension's value or
emptiness, an extra value column, a true/false column computed by the database, a join), the
cells equal the drill-down's rows (``definitions.rows``) counted and summed here in Python by
institution and local month; chunked computations add up to the whole."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from yigongti.encounters.services import encounter_record
from yigongti.indicators import analytic, cube, definitions
from yigongti.indicators.definitions import SHANGHAI
from yigongti.institutions import services as inst

from .helpers import at, record, residents

pytestmark = pytest.mark.django_db


def enc(*filters: tuple[str, str, Any], measure: str = "count", field: str | None = None) -> Any:
    data: dict[str, Any] = {
        "source": "encounters",
        "filters": [{"field": f, "op": o, "value": v} for f, o, v in filters],
        "measure": measure,
    }
    if field:
        data["field"] = field
    return definitions.validate(data)


DEFINITIONS = [
    enc(),
    enc(("kind", "ne", "inpatient")),
    enc(("kind", "not_in", ["online", "ai_consultation"]), ("is_tcm", "eq", False)),
    enc(("kind", "in", ["outpatient", "emergency"]), ("institution_level", "in", ["township", "village"])),
    enc(("institution_level", "not_in", ["county"])),  # keeps care outside the county (no institution)
    enc(("institution_kind", "ne", "lead_hospital"), ("in_county", "eq", True)),
    enc(("institution_code", "isnull", True)),
    enc(("residence_county_code", "eq", "$county")),
    enc(("residence_county_code", "ne", "$county")),
    enc(("discharged_on", "isnull", False), measure="sum", field="bed_days"),
    enc(("discharged_on", "gte", "2025-03-01")),  # a date range: a column the database decides
    enc(("diagnosis_code", "startswith", "I1")),
    enc(("department_category", "eq", "internal_medicine")),  # through a join, with empty departments
    enc(("bed_days", "gt", "3"), measure="sum", field="total_cost"),
    enc(("kind", "eq", "inpatient"), measure="sum", field="out_of_pocket"),
    enc(measure="distinct", field="patient"),
]


def _month(value: dt.datetime) -> dt.date:
    return value.astimezone(SHANGHAI).date().replace(day=1)


def _by_hand(definition: Any) -> dict[tuple[int | None, dt.date], Decimal]:
    rows = definitions.rows(definition)
    assert rows is not None
    totals: dict[tuple[int | None, dt.date], Any] = defaultdict(Decimal)
    seen: dict[tuple[int | None, dt.date], set[int]] = defaultdict(set)
    for place, started, patient, bed_days, cost, own in rows.values_list(
        "institution_id", "started_at", "patient_id", "bed_days", "total_cost", "out_of_pocket"
    ):
        key = (place, _month(started))
        if definition.measure == "count":
            totals[key] += 1
        elif definition.measure == "distinct":
            seen[key].add(patient)
            totals[key] = Decimal(len(seen[key]))
        else:
            value = {"bed_days": bed_days, "total_cost": cost, "out_of_pocket": own}[definition.field]
            totals[key] += Decimal(value or 0)
    return {k: v for k, v in totals.items() if v}


@pytest.fixture
def varied(county: Any) -> Any:
    people = residents(county, 6)
    record(random.Random(23), county, people, n=80)
    internal = inst.department_create(
        actor=None, institution=county.township, code="NK", name="内科", category="internal_medicine", beds=10
    )
    rng = random.Random(5)
    for i in range(30):  # diagnoses, departments, other counties' residents, month ends in Beijing time
        day = dt.date(2025, 2, 28) if i % 3 == 0 else dt.date(2025, 1, 1) + dt.timedelta(days=i * 9)
        kind = "inpatient" if i % 4 == 0 else "outpatient"
        encounter_record(
            actor=None,
            patient=rng.choice(people),
            institution=county.township,
            department=internal if i % 2 else None,
            kind=kind,
            started_at=at(day, 23 if i % 3 == 0 else 9),
            discharged_on=day + dt.timedelta(days=i % 7 + 1) if kind == "inpatient" else None,
            total_cost=f"{100 + i}.{i % 10}5",
            insurance_paid="60",
            out_of_pocket=f"{40 + i}.{i % 10}5",
            diagnosis_code=["I10", "I11.9", "E11.9"][i % 3],
            residence_county_code="441823" if i % 5 else "440104",
            external_id=f"V{i}",
        )
    return county


def test_every_way_of_filtering_equals_counting_the_rows_by_hand(varied: Any) -> None:
    parts = [(d.key, d) for d in DEFINITIONS]
    cells = cube.compute(parts)
    got: dict[str, dict[Any, Decimal]] = defaultdict(dict)
    for key, place, month, value in cells:
        got[key][(place, month)] = value
    for definition in DEFINITIONS:
        expected = _by_hand(definition)
        assert got.get(definition.key, {}) == expected, definition.as_json()
    assert any(len(v) > 2 for v in got.values())


def test_chunks_add_up_to_the_whole(varied: Any, monkeypatch: Any) -> None:
    parts = [(d.key, d) for d in DEFINITIONS if d.measure != "distinct"]
    plan = cube.Cube.plan(parts)
    whole = Counter(plan.cells())
    monkeypatch.setattr(cube, "CHUNK_ROWS", 1)
    chunks = plan.chunks(3, plan.size())
    assert len(chunks) >= 3
    month = plan.month()
    totals: dict[Any, Any] = defaultdict(int)
    for extra in chunks:
        for key, value in plan.totals(extra, month).items():
            totals[key] += value
    assert Counter(plan.cells_of(totals)) == whole


def test_a_decimal_sum_is_exact_to_the_cent(varied: Any) -> None:
    definition = enc(measure="sum", field="out_of_pocket")
    cells = cube.compute([(definition.key, definition)])
    assert all(value == value.quantize(Decimal("0.01")) for _k, _i, _m, value in cells)
    assert sum(v for *_rest, v in cells) == sum(_by_hand(definition).values())


def _query_plan(plan: cube.Cube) -> str:
    qs = plan.source_rows()
    assert qs is not None
    month = plan.month()
    assert month is not None
    group = {"g_inst": plan._institution(), "g_month": month.expression, **plan.columns}
    sql, params = qs.values(**group).order_by().annotate(n=cube.Count("*")).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return " ".join(row[-1] for row in cursor.fetchall())


def test_the_encounters_cube_is_read_in_index_order_on_sqlite(varied: Any) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the analytic index is SQLite's")
    definition = enc(
        ("kind", "eq", "inpatient"), ("discharged_on", "isnull", False), measure="sum", field="bed_days"
    )
    plan = cube.Cube.plan([(definition.key, definition)])
    assert plan._streams()
    steps = _query_plan(plan)
    # covering: the index alone answers (no lookup of each encounter's row), in its order (no sort)
    assert "COVERING INDEX encounters_encounter_ygt_cube" in steps and "TEMP B-TREE" not in steps


def test_the_fulfilment_tasks_cube_streams_by_village_and_not_by_team(varied: Any) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the analytic index is SQLite's")
    done = {"field": "status", "op": "eq", "value": "done"}
    by_village = definitions.validate({"source": "fd_tasks", "filters": [done], "measure": "count"})
    plan = cube.Cube.plan([(by_village.key, by_village)])
    assert plan._streams()
    steps = _query_plan(plan)
    assert "COVERING INDEX familydoctor_task_ygt_cube" in steps and "TEMP B-TREE" not in steps
    # attributed to the team, the index (in village order) cannot serve the cube
    by_team = definitions.validate(
        {"source": "fd_tasks", "filters": [done], "measure": "count", "attribute_to": "team"}
    )
    assert not cube.Cube.plan([(by_team.key, by_team)])._streams()


def test_an_analytic_index_of_an_earlier_definition_is_replaced(varied: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute('DROP INDEX "familydoctor_task_ygt_cube"')
        cursor.execute('CREATE INDEX "familydoctor_task_ygt_cube" ON "familydoctor_task" ("village_id")')
    assert analytic.ensure_indexes() == ["fd_tasks"]
    assert analytic.ensure_indexes() == []  # as defined now: left alone
    sql = analytic.analytic_index_sql(definitions.SOURCES["fd_tasks"])
    assert sql is not None
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'familydoctor_task_ygt_cube'")
            assert cursor.fetchone()[0] == sql
        else:  # PostgreSQL normalises the definition: the index remembers ours in its comment
            cursor.execute("SELECT obj_description('familydoctor_task_ygt_cube'::regclass, 'pg_class')")
            assert cursor.fetchone()[0] == analytic._mark(sql)
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'familydoctor_task_ygt_cube'")
            assert "INCLUDE (due_on)" in cursor.fetchone()[0]


def _cube_of(source: str) -> cube.Cube:
    definition = definitions.validate({"source": source, "measure": "count"})
    return cube.Cube.plan([(definition.key, definition)])


def test_a_cube_costs_its_rows_and_those_of_the_tables_it_joins(varied: Any) -> None:
    """The rebuild orders its pieces by cost: a cube attributed or ended through a join reads
    the joined tables too."""
    residents_rows = _cube_of("residents").size()
    assert residents_rows > 0
    encounters = _cube_of("encounters")
    assert encounters.cost() == encounters.size() > 0
    visits = _cube_of("fd_home_visits")  # attributed through the contract to the resident's village
    assert visits.inst_path == "contract__patient__village_id"
    assert visits.cost() == visits.size() + _cube_of("fd_contracts").size() + residents_rows
    standing = _cube_of("chronic_standing")  # ends with its entry's closing date
    assert standing.cost() == standing.size() + _cube_of("chronic_registry").size()
