"""SQLite's analytic indexes: a covering index per source that declares ``analytic_sums``, in the
cube's own column order (institution, local month, the dimensions, the date, the sums), so that
a cube over them is aggregated in index order without a sort (``cube.Cube._streams``)."""

from __future__ import annotations

from django.db import connection

from . import definitions
from .definitions import Source
from .months import sqlite_local_month_sql


def analytic_index_sql(spec: Source) -> str | None:
    """SQLite: ``CREATE INDEX`` for a source's analytic index — (institution, local month, the
    dimensions, the date, the sums), exactly the cube's GROUP BY expressions, so that a cube
    over them is aggregated in index order. None for a source without one."""
    model = spec.model_class()
    if spec.analytic_sums is None or model is None or spec.date_field is None:
        return None
    meta = model._meta
    q = connection.ops.quote_name

    def column(path: str) -> str:
        return q(meta.get_field(path.removesuffix("_id") if path.endswith("_id") else path).column)

    parts = [column(spec.institutions[spec.attribution])]
    date = column(spec.date_field)
    if meta.get_field(spec.date_field).get_internal_type() == "DateTimeField":
        parts.append(f"({sqlite_local_month_sql(date)})")
    else:
        parts.append(f"(substr({date}, 1, 7))")
    emptiness = []
    for name in spec.dimensions:
        fspec = spec.fields[name]
        if fspec.kind in ("text", "bool"):
            parts.append(column(fspec.path))
        else:
            parts.append(f"({column(fspec.path)} IS NULL)")
            emptiness.append(column(fspec.path))
    parts.append(date)
    parts += [column(name) for name in sorted(spec.analytic_sums)]
    # SQLite before 3.41 counts an index as covering only if it holds every column the query
    # names, even one the query uses only inside an indexed expression: without the column
    # itself, each index entry would be followed by a lookup of its table row
    parts += emptiness
    table = meta.db_table
    return f"CREATE INDEX {q(index_name(table))} ON {q(table)} ({', '.join(parts)})"


def index_name(table: str) -> str:
    return f"{table}_ygt_cube"


def ensure_indexes() -> list[str]:
    """Create the analytic indexes that are missing or defined otherwise than now (SQLite; after
    every migrate, because a table that Django rebuilds in a SQLite migration loses indexes its
    models do not declare); returns the sources whose index was made."""
    if connection.vendor != "sqlite":
        return []
    made = []
    with connection.cursor() as cursor:
        for spec in definitions.SOURCES.values():
            sql = analytic_index_sql(spec)
            model = spec.model_class()
            if sql is None or model is None:
                continue
            name = index_name(model._meta.db_table)
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name])
            found = cursor.fetchone()
            if found is not None and found[0] == sql:
                continue
            if found is not None:  # an index of an earlier definition (other columns)
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
            cursor.execute(sql)
            made.append(spec.name)
    return made
