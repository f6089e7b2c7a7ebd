"""Months of the indicator cubes: the local month of a datetime or a date, computed by the
database (``cube``), and an ``interval`` row's end month.

PostgreSQL places a datetime in its local month by ``width_bucket`` over the local month starts
(a binary search on integers: converting each row to the zone cost more than the whole scan) and
truncates a date as a timestamp without a zone. SQLite computes the local month with a
fixed-offset text expression, exact for Asia/Shanghai (no daylight saving since 1991).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    DateField,
    DateTimeField,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import TruncMonth
from django.db.models.lookups import IsNull, LessThan

from .definitions import SHANGHAI, Source


def _offset_hours() -> int | None:
    offset = dt.datetime(2000, 1, 1, tzinfo=SHANGHAI).utcoffset()
    return None if offset is None else int(offset.total_seconds() // 3600)


def sqlite_local_month_sql(column: str) -> str:
    """SQLite: the local month ('YYYY-MM') of a UTC datetime stored as ISO text.

    Django's TruncMonth with a zone is a Python function per row on SQLite; a fixed offset in SQL
    is exact for Asia/Shanghai (no daylight saving since 1991). ``datetime()`` is called only
    where the offset can change the month: before the 28th, UTC plus eight hours stays in the
    same month, and the month is the text's first seven characters."""
    hours = _offset_hours() or 0
    if not 0 <= hours < 24:  # pragma: no cover - the zone is fixed; keep the shortcut honest
        return f"substr(datetime({column}, '{hours:+d} hours'), 1, 7)"
    return (
        f"CASE WHEN substr({column}, 9, 2) < '28' THEN substr({column}, 1, 7) "
        f"ELSE substr(datetime({column}, '{hours:+d} hours'), 1, 7) END"
    )


def postgres_local_month_sql(column: str) -> str:
    """PostgreSQL: the first instant of a timestamptz's local month, as a timestamp without a
    zone. Only for a cube read from its analytic index (``analytic``), which holds this
    expression computed: computed per row it is slower than ``width_bucket``."""
    return f"date_trunc('month', timezone('{SHANGHAI.key}', {column}))"


def postgres_local_month(column: str) -> Any:
    return Func(F(column), template=postgres_local_month_sql("%(expressions)s"), output_field=DateTimeField())


def local_month(column: str) -> Any:
    """The local month of a UTC datetime column as the database computes it (SQLite only; on
    PostgreSQL the cube uses ``width_bucket``, see ``_month_expression``)."""
    if connection.vendor != "sqlite" or _offset_hours() is None:
        return TruncMonth(column, tzinfo=SHANGHAI)
    return Func(F(column), template=sqlite_local_month_sql("%(expressions)s"), output_field=CharField())


def _next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of every month from ``first``'s to ``last``'s."""
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = _next_month(month)
    return months


@dataclass
class Month:
    """How a cube row's month column becomes the first day of a month."""

    expression: Any = None
    buckets: list[dt.date] = field(default_factory=list)  # PostgreSQL datetimes: bucket i → month

    def of(self, value: Any) -> dt.date | None:
        if value is None:
            return None
        if self.buckets:
            return self.buckets[int(value) - 1]
        if isinstance(value, dt.datetime):
            return value.date().replace(day=1)
        if isinstance(value, dt.date):
            return value.replace(day=1)
        if isinstance(value, str):  # SQLite: 'YYYY-MM' or a date's ISO text
            return dt.date(int(value[:4]), int(value[5:7]), 1)
        return dt.date(int(value), 1, 1)  # a year


def month_expression(spec: Source, model: Any, qs: QuerySet[Any]) -> Month | None:
    """The month column for a dated source (None for capacities and snapshots, and for a dated
    source with no rows in ``qs``)."""
    if spec.timing == "annual":
        return Month(F(spec.date_field or "year"))
    if spec.timing not in ("flow", "cumulative", "interval"):
        return Month()
    name = spec.date_field or ""
    is_datetime = model._meta.get_field(name).get_internal_type() == "DateTimeField"
    if not is_datetime:
        return Month(date_month(F(name)))
    if connection.vendor == "sqlite":
        return Month(local_month(name))
    bounds = qs.aggregate(lo=Min(name), hi=Max(name))
    if bounds["lo"] is None:
        return None
    months = _month_starts(bounds["lo"].astimezone(SHANGHAI).date(), bounds["hi"].astimezone(SHANGHAI).date())
    edges = [dt.datetime.combine(m, dt.time(), SHANGHAI) for m in [*months, _next_month(months[-1])]]
    return Month(Func(F(name), Value(edges), function="width_bucket", output_field=IntegerField()), months)


def index_month(spec: Source, model: Any) -> Month | None:
    """PostgreSQL: the month expression of a source's analytic index (``analytic``), for a cube
    read from it; None where it is the usual one (a date's month)."""
    name = spec.date_field or ""
    if (
        connection.vendor != "postgresql"
        or model._meta.get_field(name).get_internal_type() != "DateTimeField"
    ):
        return None
    return Month(postgres_local_month(name))


def date_month_sql(column: str) -> str:
    """A date's month as the database computes it: SQLite its 'YYYY-MM' text, PostgreSQL the first
    day, truncated as a timestamp without a zone (a timestamptz would be converted per row). The
    one spelling for cubes and analytic indexes: PostgreSQL uses an index only for the expression
    it holds."""
    if connection.vendor == "sqlite":
        return f"substr({column}, 1, 7)"
    return f"DATE_TRUNC('month', {column}::timestamp)::date"


def date_month(expression: Any) -> Any:
    """``date_month_sql`` as an expression."""
    output: Any = CharField() if connection.vendor == "sqlite" else DateField()
    return Func(expression, template=date_month_sql("%(expressions)s"), output_field=output)


def _earliest(a: Any, b: Any) -> Any:
    """The earlier of two dates, either of which may be empty (empty if both are)."""
    return Case(
        When(IsNull(a, True), then=b),
        When(IsNull(b, True), then=a),
        When(LessThan(a, b), then=a),
        default=b,
        output_field=DateField(),
    )


def end_month(spec: Source) -> Any:
    """An ``interval`` row's end month: of the earliest of its filled end dates (NULL: none)."""
    ends: list[Any] = [F(path) for path in spec.end_fields]
    earliest = ends[0]
    for other in ends[1:]:
        earliest = _earliest(earliest, other)
    return date_month(earliest)
