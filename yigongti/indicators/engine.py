"""The aggregate cells: computed from scratch (``rebuild``) or for touched cells only (``refresh``).

Both paths run the same cube query (``cube``), one per (source, attribution), the second
restricted to the touched institutions and months, so an incremental update always equals a
computation from scratch
(``tests/test_engine.py`` checks it after random changes; the benchmark at county scale).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Q

from yigongti.core import batching

from . import cube, definitions, parallel
from .cube import Cell
from .definitions import Definition
from .models import Indicator, IndicatorCell, IndicatorPart

#: COPY's text format for an empty field.
NULL = "\\N"

#: A touched cell: (institution id or None, first day of the month, or None for "every month").
Key = tuple[int | None, dt.date | None]


def wanted_definitions() -> dict[str, Definition]:
    """Every definition the active catalogue uses, plus each source's row count, by key."""
    wanted: dict[str, Definition] = {}
    sources: set[str] = set()
    for indicator in Indicator.objects.filter(is_active=True):
        for part in indicator.parts():
            if part is not None:
                wanted[part.key] = part
                sources.add(part.source)
    for source in sources:
        p = definitions.presence(source)
        wanted[p.key] = p
    return wanted


def _cells(
    parts: list[tuple[str, Definition]], extra: Q | None = None, span: tuple[dt.date, dt.date] | None = None
) -> list[Cell]:
    """The cells of parts sharing a source and attribution, as plain tuples (part, institution,
    month, value), from one cube query (``cube``); ``extra`` restricts the rows, ``span`` names
    the months [first, end) it keeps.

    A zero is not stored (a missing cell sums as zero): "no data" is told by the source's row
    count, never by a cell's absence."""
    return cube.compute(parts, extra, span)


def _write(cells: list[Cell], *, emptied: bool = False) -> int:
    """Insert cells in bulk without model instances (building tens of thousands of them was
    most of a rebuild's time): COPY on PostgreSQL, one statement on SQLite.

    ``emptied``: the table was truncated in this transaction (a full rebuild). PostgreSQL then
    copies the rows frozen, marked visible to every transaction: the dashboard's sums read the
    cell index alone (an index-only scan) at once, instead of visiting the table for every cell
    until autovacuum has passed (about half of their time). Nobody else can see the table before
    the rebuild commits (TRUNCATE's lock), and a rolled-back rebuild drops those rows with the
    truncated storage."""
    if not cells:
        return 0
    table = IndicatorCell._meta.db_table
    columns = "part_id, institution_id, month, value"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY's text format written as one block: the fields are a hex key, numbers and ISO
            # dates (nothing to escape), and formatting them here is several times quicker than
            # handing psycopg one row at a time
            text = "".join(
                f"{p}\t{NULL if i is None else i}\t{NULL if m is None else m.isoformat()}\t{v}\n"
                for p, i, m, v in cells
            )
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(
                    f"COPY {table} ({columns}) FROM STDIN" + (" WITH (FREEZE)" if emptied else "")
                ) as copy,
            ):
                copy.write(text)
        else:
            # one statement over a JSON array: SQLite unpacks it in C (the GIL released, so the
            # rebuild's other connections go on), where executemany binds every row in Python
            days: dict[dt.date | None, str] = {None: "null"}
            for _p, _i, m, _v in cells:
                if m is not None and m not in days:
                    days[m] = f'"{m.isoformat()}"'
            rows = ",".join(f'["{p}",{"null" if i is None else i},{days[m]},"{v}"]' for p, i, m, v in cells)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT json_extract(value, '$[0]'), "  # noqa: S608
                "json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]') "
                "FROM json_each(%s)",
                [f"[{rows}]"],
            )
    return len(cells)


def _groups(parts: Iterable[tuple[str, Definition]]) -> list[list[tuple[str, Definition]]]:
    """Parts by (source, attribution): each group is one query."""
    groups: dict[tuple[str, str], list[tuple[str, Definition]]] = defaultdict(list)
    for key, definition in parts:
        groups[(definition.source, definition.attribute_to)].append((key, definition))
    return list(groups.values())


@transaction.atomic
def sync_parts() -> dict[str, Definition]:
    """Make the part table match the catalogue: new parts computed, unused ones dropped."""
    wanted = wanted_definitions()
    existing = set(IndicatorPart.objects.values_list("key", flat=True))
    IndicatorPart.objects.exclude(key__in=wanted).delete()
    new = [(k, d) for k, d in wanted.items() if k not in existing]
    for key, definition in new:
        IndicatorPart.objects.create(key=key, source=definition.source, definition=definition.as_json())
    for group in _groups(new):
        _write(_cells(group))
    return wanted


def rebuild(sources: Iterable[str] | None = None) -> int:
    """Recompute every cell (of ``sources``, default all) from the source tables; returns the
    number of cells written.

    Started outside any transaction, the cube queries run on several connections at once
    (``parallel``); inside one (a test, a caller's batch) they run here, in order, so they see
    the caller's uncommitted rows."""
    n = parallel.workers()
    with transaction.atomic():
        _hold_cells()
        only = None if sources is None else set(sources)
        wanted = wanted_definitions()
        before = dict(IndicatorCell.objects.order_by().values_list("part_id").annotate(n=Count("*")))
        if only is None:
            _empty_cells()
            IndicatorPart.objects.all().delete()
        else:
            wanted = {k: d for k, d in wanted.items() if d.source in only}
            IndicatorPart.objects.filter(key__in=wanted).delete()
        IndicatorPart.objects.bulk_create(
            [IndicatorPart(key=k, source=d.source, definition=d.as_json()) for k, d in wanted.items()]
        )
        groups = _groups(wanted.items())
        cubes = [cube.Cube.plan(group) for group in groups]
        # the cells each cube wrote last time: a cube with many is best computed early, so that
        # writing them overlaps the other queries instead of following them
        outputs = [sum(before.get(key, 0) for key, _d in group) for group in groups]
        with _index_afterwards(only is None):
            return sum(_write(cells, emptied=only is None) for cells in parallel.compute(cubes, n, outputs))


@contextlib.contextmanager
def _index_afterwards(full: bool) -> Iterator[None]:
    """A full rebuild fills the emptied cell table without its covering index and builds the
    index once at the end: one sort instead of a B-tree insert per cell (most of the cost of
    writing them). The rebuild's transaction holds the table meanwhile (TRUNCATE's lock on
    PostgreSQL, the write lock on SQLite), so nobody reads it without its index."""
    if not full:
        yield
        return
    q = connection.ops.quote_name
    meta = IndicatorCell._meta
    statements = []
    for index in meta.indexes:  # plain column indexes, as the model declares them
        columns = ", ".join(q(str(getattr(meta.get_field(name), "column", name))) for name in index.fields)
        statements.append(
            (q(index.name or ""), f"CREATE INDEX {q(index.name or '')} ON {q(meta.db_table)} ({columns})")
        )
    with connection.cursor() as cursor:
        for name, _create in statements:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with connection.cursor() as cursor:
        for _name, create in statements:
            cursor.execute(create)


def _empty_cells() -> None:
    """Every cell gone, for a rebuild of all of them. PostgreSQL: TRUNCATE (rolled back with the
    transaction like any write) leaves fresh storage and indexes, where DELETE would leave as
    many dead rows as cells for the next rebuild's inserts to step over; readers of the
    dashboard wait the few seconds until the rebuild commits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {IndicatorCell._meta.db_table}")
    else:
        IndicatorCell.objects.all().delete()


def _hold_cells() -> None:
    """Inside a rebuild's transaction: no writer changes cells until it commits (a writer that
    waits recomputes its own cells afterwards, so nothing is lost). SQLite's write lock, taken at
    BEGIN, already does this. On PostgreSQL also: memory for the cube's hash tables, and no wait
    for the WAL flush at commit (a rebuild lost in a crash is a rebuild to run again; the cells
    before it are intact)."""
    if connection.vendor != "postgresql":
        return
    parallel.tune(local=True)
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {IndicatorCell._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute("SET LOCAL synchronous_commit = off")


def _inst_q(field: str, ids: set[int | None]) -> Q:
    q = Q(**{f"{field}__in": [i for i in ids if i is not None]})
    if None in ids:
        q |= Q(**{f"{field}__isnull": True})
    return q


def refresh(source: str, keys: Iterable[Key], *, every_institution: bool = False) -> int:
    """Recompute the cells of ``source``'s parts at the touched (institution, month) keys.

    A key's month None means every month of that institution (a capacity or a moved row);
    ``every_institution`` recomputes whole months (for sources whose signal names one side of
    a row attributed to either side, such as referrals). Inside ``core.batching.coalesced()``
    (a transaction Bundle) the keys are collected and the cells recomputed once, for all of
    them, when the block ends: 0 is returned now."""
    touched = set(keys)
    work = functools.partial(_refresh_now, source, every_institution=every_institution)
    if batching.collect(("indicators.refresh", source, every_institution), touched, work):
        return 0
    return _refresh_now(source, touched, every_institution=every_institution)


@transaction.atomic
def _refresh_now(source: str, keys: Iterable[Key], *, every_institution: bool = False) -> int:
    by_month: dict[dt.date | None, set[int | None]] = defaultdict(set)
    for inst, month in keys:
        by_month[month.replace(day=1) if month else None].add(inst)
    if not by_month:
        return 0
    if len(by_month) > 2 and None not in by_month:
        # many months (a bulk load): one range per part instead of one query per month
        insts = set().union(*by_month.values())
        first, last = min(m for m in by_month if m), max(m for m in by_month if m)
        return _refresh_range(source, insts, first, definitions.month_bounds(last)[1], every_institution)
    written = 0
    for group in _groups((p.key, p.parsed()) for p in IndicatorPart.objects.filter(source=source)):
        spec = group[0][1].spec
        inst_field = spec.institutions[group[0][1].attribute_to]
        for month, insts in by_month.items():
            extra = Q() if every_institution else _inst_q(inst_field, insts)
            stale = IndicatorCell.objects.filter(part_id__in=[k for k, _d in group])
            if not every_institution:
                stale = stale.filter(_inst_q("institution_id", insts))
            if month is not None and spec.timing not in ("capacity", "snapshot"):
                start, end = definitions.month_bounds(month)
                if spec.timing == "annual":
                    start, end = dt.date(month.year, 1, 1), dt.date(month.year + 1, 1, 1)
                extra &= definitions.date_range_q(group[0][1], start, end)
                stale = stale.filter(month__gte=start, month__lt=end)
                span = (start, end)
            else:
                span = None
            stale.delete()
            written += _write(_cells(group, extra, span))
    return written


def _refresh_range(source: str, insts: set[int | None], start: dt.date, end: dt.date, every: bool) -> int:
    """Recompute the cells of ``insts`` (or all) in [start, end): equal to refreshing each
    touched month, with one grouped query per part."""
    written = 0
    for group in _groups((p.key, p.parsed()) for p in IndicatorPart.objects.filter(source=source)):
        definition = group[0][1]
        spec = definition.spec
        extra = Q() if every else _inst_q(spec.institutions[definition.attribute_to], insts)
        stale = IndicatorCell.objects.filter(part_id__in=[k for k, _d in group])
        if not every:
            stale = stale.filter(_inst_q("institution_id", insts))
        span = None
        if spec.timing in ("flow", "cumulative", "interval"):
            extra &= definitions.date_range_q(definition, start, end)
            stale = stale.filter(month__gte=start, month__lt=end)
            span = (start, end)
        elif spec.timing == "annual":
            extra &= definitions.date_range_q(
                definition, dt.date(start.year, 1, 1), dt.date(end.year + 1, 1, 1)
            )
            stale = stale.filter(month__gte=dt.date(start.year, 1, 1), month__lt=dt.date(end.year + 1, 1, 1))
        stale.delete()
        written += _write(_cells(group, extra, span))
    return written


def snapshot() -> dict[tuple[str, int | None, dt.date | None], Decimal]:
    """Every cell as a dictionary (for the test that compares incremental with from-scratch)."""
    return {
        (p, i, m): v
        for p, i, m, v in IndicatorCell.objects.values_list("part_id", "institution_id", "month", "value")
    }
