"""Cells from source rows: one grouped query per (source, attribution), read as a small cube.

The database groups a source's rows by (institution, month, and the values the catalogue's
filters look at) and returns a row count and the sums the parts need; Python then adds each
cube row to every part whose filters it meets. The work per source row no longer grows with
the number of indicators (the earlier engine evaluated one condition per part on every row and
joined the institution table for filters on its level or kind), and the institution's own
attributes are read from a ~200-row map. Per filter:

- on the attributed institution itself (``institution_level``, ``village_kind``, its id): decided
  once per institution in Python, no join;
- on a field the source names as a dimension, or any bool or choice field: its value is a cube
  column, tested in Python;
- anything else (a date range, a code prefix, a number): a true/false cube column computed by the
  database from the filter's own ``Q``, so the SQL semantics are the drill-down's.

Python repeats only the five operators whose SQL meaning is plain equality and emptiness
(``eq``, ``in``, ``ne``, ``not_in``, ``isnull``, with ``ne``/``not_in`` keeping empty fields as
``definitions.filter_q`` does). Distinct counts do not add up across cube rows: their parts keep a
filtered ``COUNT(DISTINCT …)`` query of their own.

Months come from ``months``. A source with ``analytic_sums`` has a covering index (``analytic``)
in the cube's own column order, so the cube is read in order and aggregated without a sort or a
hash table (PostgreSQL: once the table's pages are all-visible); without one, SQLite is told not
to walk an index by institution (which looks each row up at random: 12 s instead of 3 s for the
encounters).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    Func,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.expressions import RawSQL

from . import analytic, definitions
from .definitions import Definition, Source
from .months import Month, end_month, index_month, month_expression

#: (part key, institution id or None, first day of the month or None, value)
Cell = tuple[str, int | None, dt.date | None, Decimal]

#: A cube's totals: (part index, institution, month) → count, sum, or whole cents.
Totals = dict[tuple[int, Any, Any], Any]

#: A source of fewer rows than this is computed in one piece.
CHUNK_ROWS = 200_000
#: PostgreSQL: rows per 8 kB page assumed for a table not yet analysed.
ROWS_PER_PAGE = 50

#: Operators Python decides the same way as SQL on a plain value.
PY_OPS = frozenset({"eq", "in", "ne", "not_in", "isnull"})
#: Attributes of an institution a filter may name (``<prefix>__level`` …), read from the map.
INST_ATTRS = ("level", "kind", "code")


# --- tests that Python applies to cube columns ------------------------------------------------------


def _convert(kind: str) -> Callable[[Any], Any]:
    if kind == "bool":
        return bool  # SQLite gives 0/1
    if kind == "number":
        return lambda v: Decimal(str(v))
    return str


def _accept(op: str, value: Any, kind: str) -> Callable[[Any], bool]:
    """One filter on a plain value, decided as ``definitions.filter_q`` decides it in SQL."""
    if op == "isnull":
        want = bool(value)
        return lambda v: (v is None) is want
    convert = _convert(kind)
    allowed = frozenset(convert(v) for v in (value if isinstance(value, list) else [value]))
    if op in ("eq", "in"):
        return lambda v: v is not None and convert(v) in allowed
    return lambda v: v is None or convert(v) not in allowed  # ne, not_in keep empty fields


def _flag(want: bool) -> Callable[[Any], bool]:
    """A true/false cube column; NULL (an unknown condition) counts as false, as in a FILTER."""
    return lambda v: bool(v) is want


# --- the plan ---------------------------------------------------------------------------------------


@dataclass
class _Part:
    key: str
    measure: str  # the cube's measure column: "n" (rows) or "s<i>" (a sum)
    rows: list[tuple[str, Callable[[Any], bool]]]  # (cube column, test)
    place: list[tuple[str, Callable[[Any], bool]]]  # (institution attribute, test)
    #: an ``interval`` source's row count (the part that tells "no data" from zero) counts the
    #: rows started by a period's end, ended or not: a register emptied since still has data
    started: bool = False


@dataclass
class Cube:
    """The cube query of one (source, attribution) and how its rows become the parts' cells."""

    spec: Source
    inst_path: str
    columns: dict[str, Any] = field(default_factory=dict)  # name → expression, in GROUP BY order
    plain: set[str] = field(default_factory=set)  # columns that are the analytic index's
    sums: list[str] = field(default_factory=list)
    parts: list[_Part] = field(default_factory=list)
    distinct: list[tuple[str, Definition]] = field(default_factory=list)
    _names: dict[Any, str] = field(default_factory=dict)

    @classmethod
    def plan(cls, parts: list[tuple[str, Definition]]) -> Cube:
        first = parts[0][1]
        cube = cls(first.spec, first.spec.institutions[first.attribute_to])
        for name in cube.spec.dimensions:  # always, in order: the analytic index's columns
            cube._dimension(name)
        cube.plain = set(cube.columns)
        base = None
        if cube.spec.base and connection.vendor == "sqlite":
            # SQLite would find the rows the base condition keeps through its index (nearly every
            # row, each looked up at random); as a cube column the table is read in order
            flag = ExpressionWrapper(cube.spec.base(), output_field=BooleanField())
            base = (cube._column(("base",), flag), _flag(True))
        for key, definition in parts:
            if definition.measure == "distinct":
                cube.distinct.append((key, definition))
                continue
            part = _Part(key, "n", [base] if base else [], [])
            part.started = definition == definitions.presence(definition.source)
            if definition.measure == "sum":
                name = definition.field or ""
                if name not in cube.sums:
                    cube.sums.append(name)
                part.measure = f"s{cube.sums.index(name)}"
            for name, op, value in definition.filters:
                cube._add_filter(part, name, op, value)
            cube.parts.append(part)
        return cube

    def _column(self, ident: Any, expression: Any) -> str:
        if ident not in self._names:
            self._names[ident] = f"c{len(self._names)}"
            self.columns[self._names[ident]] = expression
        return self._names[ident]

    def _dimension(self, name: str) -> str:
        """A declared dimension: a text or bool field by its value, another kind by emptiness."""
        spec = self.spec.fields[name]
        if spec.kind in ("text", "bool"):
            return self._column(("value", name), F(spec.path))
        empty = ExpressionWrapper(Q(**{f"{spec.path}__isnull": True}), output_field=BooleanField())
        return self._column(("empty", name), empty)

    def _place_attribute(self, path: str) -> str | None:
        """The institution attribute a filter path names when it is the attributed institution's
        own (constant across a cube row's institution), else None."""
        if path == self.inst_path:
            return "id"
        if self.inst_path.endswith("_id"):
            head, _sep, attr = path.rpartition("__")
            if head == self.inst_path[:-3] and attr in INST_ATTRS:
                return attr
        return None

    def _add_filter(self, part: _Part, name: str, op: str, value: Any) -> None:
        spec = self.spec.fields[name]
        resolved = definitions.resolve(value)
        attribute = self._place_attribute(spec.path)
        if attribute is not None and op in PY_OPS:
            part.place.append((attribute, _accept(op, resolved, "number" if attribute == "id" else "text")))
            return
        if name in self.spec.dimensions and spec.kind in ("text", "bool") and op in PY_OPS:
            part.rows.append((self._dimension(name), _accept(op, resolved, spec.kind)))
            return
        if name in self.spec.dimensions and op == "isnull":
            part.rows.append((self._dimension(name), _flag(bool(resolved))))
            return
        if (spec.kind == "bool" or (spec.kind == "text" and spec.choices)) and op in PY_OPS:
            column = self._column(("value", name), F(spec.path))
            part.rows.append((column, _accept(op, resolved, spec.kind)))
            return
        condition = definitions.filter_q(self.spec, name, op, value)
        flag = ExpressionWrapper(condition, output_field=BooleanField())
        ident = ("filter", name, op, json.dumps(value, sort_keys=True, default=str))
        part.rows.append((self._column(ident, flag), _flag(True)))

    # -- the query ---------------------------------------------------------------------------------

    def _streams(self) -> bool:
        """The cube can be read from the source's analytic index, in order (no sort, no hash
        table), when it needs nothing else: the index's institution (the source's first
        attribution), its dimensions and its sums. SQLite always reads it then; PostgreSQL when
        ``_reads_index`` also holds."""
        allowed = self.spec.analytic_sums
        return (
            allowed is not None
            and self.inst_path == self.spec.institutions[self.spec.attribution]
            and set(self.columns) <= self.plain
            and set(self.sums) <= allowed
        )

    def _reads_index(self) -> bool:
        """PostgreSQL: the whole cube (not a piece of it, not a refresh) is read from the analytic
        index alone and aggregated group by group, when the cube streams, the source has no base
        condition (a filter on a column the index does not hold), and the index is ready
        (``analytic.index_ready``: nearly every page of the table all-visible)."""
        return (
            connection.vendor == "postgresql"
            and self.spec.base is None
            and self._streams()
            and analytic.index_ready(self.spec)
        )

    def _institution(self) -> Any:
        if connection.vendor != "sqlite" or self._streams():
            return F(self.inst_path)
        # a unary + keeps SQLite from walking an index by institution and looking every row up
        return Func(F(self.inst_path), template="+%(expressions)s", output_field=BigIntegerField())

    def _places(self, model: Any) -> dict[str, int]:
        """Decimal places of each sum column (0 for whole numbers)."""
        out = {}
        for i, name in enumerate(self.sums):
            out[f"s{i}"] = getattr(model._meta.get_field(name), "decimal_places", None) or 0
        return out

    def source_rows(self, extra: Q | None = None, *, base: bool = True) -> QuerySet[Any] | None:
        """The source's rows (``base``: only those its base condition keeps), restricted by
        ``extra``; None while the source's app is not installed."""
        model = self.spec.model_class()
        if model is None:
            return None
        qs = model._default_manager.all()
        if self.spec.base and base:
            qs = qs.filter(self.spec.base())
        return qs if extra is None else qs.filter(extra)

    def totals(
        self, extra: Q | None = None, month: Month | None = None, span: tuple[dt.date, dt.date] | None = None
    ) -> Totals:
        """The parts' totals in the rows ``extra`` selects: {(part index, institution, month):
        count, sum, or whole cents of a decimal sum}. Totals of disjoint row sets add up.

        ``span``: ``extra`` keeps only the months [first, end); on SQLite the local month is then
        also bounded, so the analytic index is entered at (institution, month) instead of read
        through every month of each touched institution."""
        qs = self.source_rows(extra, base=("base",) not in self._names)
        month = month or (self.month(extra) if qs is not None else None)
        if qs is None or month is None or not self.parts:
            return {}
        indexed = extra is None and span is None and self._reads_index()
        if indexed:  # the month as the index holds it (``analytic``)
            month = index_month(self.spec, qs.model) or month
        if span and connection.vendor == "sqlite" and self.spec.timing in ("flow", "cumulative"):
            first, end = (f"{day.year:04d}-{day.month:02d}" for day in span)
            qs = qs.alias(g_bound=month.expression).filter(g_bound__gte=first, g_bound__lt=end)
        group: dict[str, Any] = {"g_inst": self._institution()}
        if month.expression is not None:
            group["g_month"] = month.expression
        if self.spec.timing == "interval":
            group["g_end"] = end_month(self.spec)
        group.update(self.columns)
        measures: dict[str, Any] = {"n": Count("*")}
        for i, name in enumerate(self.sums):
            measures[f"s{i}"] = Sum(name)
        query = qs.values(**group).order_by().annotate(**measures).values_list(*group, *measures).query
        sql, params = query.sql_with_params()
        # PostgreSQL, read from the index: in index order, group by group. The planner, which
        # cannot estimate a cube's groups, would hash a scan of the table (twice as long) or sort
        # it; both are turned off for this query only, in a transaction of its own (a savepoint
        # inside the caller's), and put back as they were.
        planned = transaction.atomic() if indexed else contextlib.nullcontext()
        with planned, connection.cursor() as cursor:
            if indexed:
                cursor.execute(
                    "SELECT current_setting('enable_hashagg'), current_setting('enable_sort'), "
                    "set_config('enable_hashagg', 'off', true), set_config('enable_sort', 'off', true)"
                )
                hashagg, sort, _h, _s = cursor.fetchone()
            # the rows as the driver gives them, without Django's converters: the tests below take
            # SQLite's 0/1 for booleans and ``_whole`` its float sums (the converters cost as much
            # Python as the evaluation, and Python holds the lock the other pieces' threads need)
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            if indexed:
                cursor.execute(
                    "SELECT set_config('enable_hashagg', %s, true), set_config('enable_sort', %s, true)",
                    [hashagg, sort],
                )
        places = self._places(qs.model)
        totals = self._evaluate(rows, [*group, *measures], month, places)
        if span and self.spec.timing == "interval":
            # a row starting in the span may end after it, or the other way round: only the
            # span's months are being recomputed
            lo, hi = span
            totals = {k: v for k, v in totals.items() if k[2] is not None and lo <= k[2] < hi}
        return totals

    def month(self, extra: Q | None = None) -> Month | None:
        """The month column for rows ``extra`` selects (None: a dated source with no such rows).
        Chunks of one computation share the month of the whole (its buckets span every chunk)."""
        qs = self.source_rows(extra)
        return None if qs is None else month_expression(self.spec, qs.model, qs)

    def size(self) -> int:
        """About how many rows the source has (from the planner's statistics on PostgreSQL, the
        row-id span on SQLite): what ``chunks`` cuts the work by."""
        model = self.spec.model_class()
        return 0 if model is None else _rows(model)

    def cost(self) -> int:
        """About how much work the cube's query is, for ordering the rebuild's pieces
        (``parallel``): the source's rows plus those of every table joined to attribute a row
        or to end it. PostgreSQL hash-joins them, reading every row: 33 k home visits attributed
        through contract and resident took as long as 600 k plain rows, and ordered by their own
        rows they ran last, one connection busy while the other waited (rebuild at 400 k
        residents 2.30 -> 2.24 s, medians of eight in turn; on SQLite, which looks each joined
        row up, the order made no difference)."""
        model = self.spec.model_class()
        if model is None:
            return 0
        joined: set[Any] = set()
        for path in (self.inst_path, *(self.spec.end_fields if self.spec.timing == "interval" else ())):
            current = model
            for name in path.split("__")[:-1]:
                current = current._meta.get_field(name).related_model
                joined.add(current)
        return _rows(model) + sum(_rows(other) for other in joined if other is not model)

    def chunks(self, n: int, size: int) -> list[Q | None]:
        """Disjoint row sets covering the source, about equal, so that ``n`` connections can
        compute a big cube side by side (``parallel``); one chunk (None) for a small source, and
        for one attributed through a join (each chunk would build the joined tables' hashes
        again on PostgreSQL, where one query with hash joins does better).

        PostgreSQL: ranges of the table's pages (a TID range scan reads just its pages). SQLite:
        ranges of the attributed institution when the cube streams from the analytic index
        (which is in that order), else ranges of the row id."""
        model = self.spec.model_class()
        joined = "__" in self.inst_path and connection.vendor == "postgresql"
        if model is None or n < 2 or size < CHUNK_ROWS or joined or self._reads_index():
            # PostgreSQL reads an indexed cube whole: its index is in institution order, and the
            # other connections meanwhile compute the other cubes
            return [None]
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int", [table]
                )
                pages = int(cursor.fetchone()[0])
                step = pages // n + 1
                return [_tid_range(table, i * step, None if i == n - 1 else (i + 1) * step) for i in range(n)]
            cursor.execute(f"SELECT min(rowid) FROM {table}")  # noqa: S608
            (low,) = cursor.fetchone()
            if not self._streams():
                step = size // n + 1
                return [Q(pk__gte=low + i * step, pk__lt=low + (i + 1) * step) for i in range(n)]
            # quantiles of the institution, walked in the analytic index (the row-id span stands
            # in for the number of rows: a chunk may come out smaller, never wrong)
            column = connection.ops.quote_name(model._meta.get_field(self.inst_path[:-3]).column)
            edges = []
            for i in range(1, n):
                cursor.execute(
                    f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL "  # noqa: S608
                    f"ORDER BY {column} LIMIT 1 OFFSET %s",
                    [size * i // n],
                )
                found = cursor.fetchone()
                if found is not None:
                    edges.append(found[0])
        field = self.inst_path
        bounds = [None, *sorted(set(edges)), None]
        out: list[Q | None] = [Q(**{f"{field}__isnull": True})]
        for lo, hi in itertools.pairwise(bounds):
            q = Q(**{f"{field}__isnull": False})
            if lo is not None:
                q &= Q(**{f"{field}__gte": lo})
            if hi is not None:
                q &= Q(**{f"{field}__lt": hi})
            out.append(q)
        return out

    def cells_of(self, totals: Totals) -> list[Cell]:
        places = self._places(self.spec.model_class()) if self.sums else {}
        cells: list[Cell] = []
        for (i, inst, when), total in totals.items():
            if total:
                part = self.parts[i]
                value = Decimal(total)
                decimals = places.get(part.measure, 0)
                cells.append((part.key, inst, when, value.scaleb(-decimals) if decimals else value))
        return cells

    def distinct_cells(self, extra: Q | None = None) -> list[Cell]:
        """Cells of the distinct-count parts (not additive: never computed in chunks)."""
        qs = self.source_rows(extra)
        month = self.month(extra) if qs is not None and self.distinct else None
        if qs is None or month is None:
            return []
        return _distinct_cells(self.distinct, qs, self._institution(), month)

    def cells(self, extra: Q | None = None, span: tuple[dt.date, dt.date] | None = None) -> list[Cell]:
        """The cells of the planned parts (restricted by ``extra`` and ``span``), zeros left out."""
        return self.cells_of(self.totals(extra, span=span)) + self.distinct_cells(extra)

    def _evaluate(
        self, rows: Iterable[tuple[Any, ...]], names: list[str], month: Month, places: dict[str, int]
    ) -> Totals:
        at = {name: i for i, name in enumerate(names)}
        order = list(self.columns)
        plans = [
            ([(order.index(c), test) for c, test in p.rows], at[p.measure], places.get(p.measure, 0))
            for p in self.parts
        ]
        dims = [at[name] for name in order]
        where = _Places(self.parts)
        matching: dict[tuple[Any, ...], list[int]] = {}
        # (a row's values, its institution) -> what to add: (part, measure column, decimal places,
        # whether an interval's row stops standing in that part), decided once per pair
        todo: dict[tuple[Any, ...], list[tuple[int, int, int, bool]]] = {}
        totals: Totals = defaultdict(int)
        months: dict[Any, dt.date | None] = {}
        dated = "g_month" in at
        ending = at.get("g_end")
        for row in rows:
            values = tuple([row[i] for i in dims])
            found = matching.get(values)
            if found is None:
                found = matching[values] = [
                    i for i, (tests, _m, _p) in enumerate(plans) if all(t(values[c]) for c, t in tests)
                ]
            inst = row[0]
            adds = todo.get((values, inst))
            if adds is None:
                adds = todo[(values, inst)] = [
                    (i, plans[i][1], plans[i][2], not self.parts[i].started)
                    for i in found
                    if where.admits(i, inst)
                ]
            raw = row[1] if dated else None
            when = months[raw] if raw in months else months.setdefault(raw, month.of(raw))
            ended = None
            if ending is not None and (end := row[ending]) is not None:
                ended = months[end] if end in months else months.setdefault(end, month.of(end))
            for i, measure, decimals, stops in adds:
                value = row[measure]
                if value:
                    whole = _whole(value, decimals) if decimals else value
                    totals[(i, inst, when)] += whole
                    if ended is not None and stops:  # an interval's rows stop standing
                        totals[(i, inst, ended)] -= whole
        return totals


def _whole(value: Any, places: int) -> Any:
    """A sum as an exact whole number of its smallest unit: a decimal sum arrives from SQLite as a
    binary float (its rounding error over one cube row's few hundred rows is far below half a
    cent), from PostgreSQL as an exact Decimal."""
    if not places:
        return value
    return int(
        (Decimal(value) if isinstance(value, Decimal) else Decimal(repr(value)))
        .scaleb(places)
        .to_integral_value()
    )


def _rows(model: Any) -> int:
    """About how many rows a table has: the planner's statistics on PostgreSQL, the row-id span
    on SQLite (both without reading the table)."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # reltuples is -1 until the table is first analysed: then guess from its pages
            cursor.execute(
                "SELECT reltuples, pg_relation_size(oid) / current_setting('block_size')::int "
                "FROM pg_class WHERE oid = %s::regclass",
                [table],
            )
            tuples, pages = cursor.fetchone() or (0, 0)
            return int(tuples) if tuples > 0 else int(pages) * ROWS_PER_PAGE
        # two subqueries: SQLite answers each from one end of the table's tree, not by a scan
        cursor.execute(f"SELECT (SELECT min(rowid) FROM {table}), (SELECT max(rowid) FROM {table})")  # noqa: S608
        low, high = cursor.fetchone()
        return 0 if low is None else high - low + 1


def _tid_range(table: str, first: int, end: int | None) -> Q:
    """PostgreSQL: the rows on pages [first, end) of ``table`` (a TID range scan)."""
    sql = f"{table}.ctid >= %s::tid" + ("" if end is None else f" AND {table}.ctid < %s::tid")
    params = [f"({first},0)"] + ([] if end is None else [f"({end},0)"])
    return Q(RawSQL(sql, params, output_field=BooleanField()))  # noqa: S611 - a quoted table name


class _Places:
    """Whether each part's filters on the attributed institution admit an institution, decided
    once per (part, institution) from the institutions' map (no join per source row)."""

    def __init__(self, parts: list[_Part]) -> None:
        self.parts = parts
        self.known: dict[tuple[int, Any], bool] = {}
        self._map: dict[int, dict[str, Any]] | None = None

    def admits(self, i: int, inst: Any) -> bool:
        tests = self.parts[i].place
        if not tests:
            return True
        key = (i, inst)
        if key not in self.known:
            attrs = self.institutions().get(inst, {}) if inst is not None else {}
            self.known[key] = all(test(attrs.get(name)) for name, test in tests)
        return self.known[key]

    def institutions(self) -> dict[int, dict[str, Any]]:
        if self._map is None:
            from yigongti.institutions.models import Institution

            self._map = {
                pk: {"id": pk, "level": level, "kind": kind, "code": code}
                for pk, level, kind, code in Institution.objects.values_list("pk", *INST_ATTRS)
            }
        return self._map


def _distinct_cells(
    parts: list[tuple[str, Definition]], qs: QuerySet[Any], inst: Any, month: Month
) -> list[Cell]:
    """Distinct counts (distinct per institution and month) do not add up across cube rows: one
    filtered ``COUNT(DISTINCT …)`` per part, in one grouped query."""
    group: dict[str, Any] = {"g_inst": inst}
    if month.expression is not None:
        group["g_month"] = month.expression
    measures = {
        f"m{i}": Count(
            d.spec.distincts[d.field or ""],
            distinct=True,
            filter=definitions.condition(d, base=False) or None,
        )
        for i, (_k, d) in enumerate(parts)
    }
    cells: list[Cell] = []
    for row in qs.values(**group).order_by().annotate(**measures).values_list(*group, *measures):
        when = month.of(row[1]) if "g_month" in group else None
        for (key, _d), total in zip(parts, row[len(group) :], strict=True):
            if total:
                cells.append((key, row[0], when, Decimal(total)))
    return cells


def compute(
    parts: list[tuple[str, Definition]], extra: Q | None = None, span: tuple[dt.date, dt.date] | None = None
) -> list[Cell]:
    """The cells of parts sharing a source and attribution (one cube query, plus one for their
    distinct counts), in the rows ``extra`` keeps, of the months [first, end) of ``span``."""
    return Cube.plan(parts).cells(extra, span)
