"""A rebuild on several connections (``indicators.parallel``) writes exactly the cells of one in a
single connection, also when every source is cut into chunks; a piece that fails fails the whole
rebuild and leaves the cells as they were; inside a caller's transaction the rebuild stays in it.
The pieces need committed rows and a database other connections can read: PostgreSQL here
(SQLite's test database lives in one connection's memory)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.db import connection, transaction

from yigongti.core.testing import build_small_county
from yigongti.familydoctor.tests.conftest import active, fd  # noqa: F401 - the fixture
from yigongti.indicators import cube, definitions, engine, parallel
from yigongti.indicators.models import IndicatorCell

from .helpers import record, residents


def _county_with_data() -> Any:
    county = build_small_county()
    record(random.Random(31), county, residents(county, 8), n=120)
    return county


def _needs_server() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("pieces on other connections need a server database")


@pytest.mark.django_db(transaction=True)
def test_pieces_on_several_connections_give_the_cells_of_one(settings: Any, monkeypatch: Any) -> None:
    _needs_server()
    _county_with_data()
    settings.YGT_INDICATOR_WORKERS = 1
    assert parallel.workers() == 1
    engine.rebuild()
    alone = engine.snapshot()
    settings.YGT_INDICATOR_WORKERS = 3
    monkeypatch.setattr(cube, "CHUNK_ROWS", 1)  # every source in pieces
    used: list[int] = []
    real = parallel.compute

    def spy(cubes: Any, n: int, outputs: Any = None) -> Any:
        used.append(n)
        return real(cubes, n, outputs)

    monkeypatch.setattr(parallel, "compute", spy)
    engine.rebuild()
    assert used == [3]
    assert engine.snapshot() == alone
    assert any(p for p, _i, _m in alone if p)


@pytest.mark.django_db(transaction=True)
def test_a_failed_piece_fails_the_rebuild_and_keeps_the_cells(settings: Any, monkeypatch: Any) -> None:
    _needs_server()
    _county_with_data()
    settings.YGT_INDICATOR_WORKERS = 2
    engine.rebuild()
    before = engine.snapshot()
    real = cube.Cube.totals

    def failing(self: Any, extra: Any = None, month: Any = None) -> Any:
        if self.spec.name == "encounters":
            raise RuntimeError("the connection broke")
        return real(self, extra, month)

    monkeypatch.setattr(cube.Cube, "totals", failing)
    with pytest.raises(RuntimeError, match="connection broke"):
        engine.rebuild()
    assert engine.snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_inside_a_callers_transaction_the_rebuild_sees_its_rows(settings: Any) -> None:
    county = build_small_county()
    settings.YGT_INDICATOR_WORKERS = 4
    engine.rebuild()
    with transaction.atomic():
        assert parallel.workers() == 1
        record(random.Random(2), county, residents(county, 2), n=10)
        # the signals have kept the cells; a rebuild in the same transaction must agree
        incremental = engine.snapshot()
        engine.rebuild()
        assert engine.snapshot() == incremental


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_leaves_every_cell_page_visible_to_all(settings: Any) -> None:
    """The full rebuild copies its cells frozen: the dashboard's sums are index-only scans at once,
    without waiting for autovacuum to mark the new pages."""
    _needs_server()
    _county_with_data()
    settings.YGT_INDICATOR_WORKERS = 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_visibility'")
        if cursor.fetchone() is None:
            pytest.skip("the pg_visibility extension (PostgreSQL contrib) is not installed")
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_visibility")
    engine.rebuild()
    table = IndicatorCell._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT all_visible FROM pg_visibility_map_summary(%s::regclass)", [table])
        (visible,) = cursor.fetchone()
        cursor.execute("SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int", [table])
        (pages,) = cursor.fetchone()
    assert pages > 0
    assert visible == pages


@pytest.mark.django_db(transaction=True)
def test_postgresql_reads_a_cube_from_its_analytic_index_once_the_pages_are_visible(fd: Any) -> None:  # noqa: F811
    """The encounters' and the tasks' cubes: read from the index alone, group by group, only when
    nearly every page of the table is all-visible (after VACUUM); equal to hashing the table."""
    _needs_server()
    record(random.Random(31), fd, residents(fd, 8), n=120)
    active(fd)  # a signed contract and its year of fulfilment tasks
    groups = engine._groups(engine.wanted_definitions().items())
    plans = {
        (g[0][1].source, g[0][1].attribute_to): cube.Cube.plan(g)
        for g in groups
        if g[0][1].source in ("encounters", "fd_tasks")
    }
    indexed = [plans[("encounters", "institution")], plans[("fd_tasks", "village")]]
    assert not any(plan._reads_index() for plan in indexed)  # just written, not yet all-visible
    hashed = [plan.totals() for plan in indexed]
    with connection.cursor() as cursor:
        cursor.execute("VACUUM encounters_encounter")
        cursor.execute("VACUUM familydoctor_task")
    seen: list[str] = []

    def explain(execute: Any, query: str, params: Any, many: bool, context: Any) -> Any:
        if "GROUP BY" in query:  # the cube's plan, in its own transaction and settings
            with connection.connection.cursor() as raw:  # past this wrapper
                raw.execute("EXPLAIN " + query, params)
                seen.append(" ".join(row[0] for row in raw.fetchall()))
        return execute(query, params, many, context)

    for plan, before in zip(indexed, hashed, strict=True):
        assert plan._reads_index()
        assert plan.chunks(4, 10**9) == [None]  # read whole, in the index's order
        seen.clear()
        with connection.execute_wrapper(explain):
            assert plan.totals() == before
        model = plan.spec.model_class()
        assert model is not None
        table = model._meta.db_table
        assert len(seen) == 1
        assert f"Index Only Scan using {table}_ygt_cube" in seen[0]
        assert "GroupAggregate" in seen[0] and "HashAggregate" not in seen[0] and "Sort" not in seen[0]
    # a cube that needs a column the index does not hold is hashed as before
    by_team = definitions.validate({"source": "fd_tasks", "measure": "count", "attribute_to": "team"})
    assert not cube.Cube.plan([(by_team.key, by_team)])._reads_index()
