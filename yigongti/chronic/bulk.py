"""Set-based inserts for the worklist rebuild and the demo's registries (tens of thousands of rows
at a time): COPY on PostgreSQL, one ``executemany`` per batch elsewhere, from plain dicts.

``bulk_create`` spends most of its time compiling each row through the ORM (``pre_save``,
``get_db_prep_save``, the per-row SQL assembly); here each column is adapted once per value by a
converter chosen per field, and missing fields take their model default. The caller owns the
transaction, the audit row and the ``*_changed`` signal. Primary keys are not returned: callers
that need them pass ``id`` (``next_ids``) and call ``reset_sequence`` afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models
from django.utils import timezone

BATCH = 5000
_MISSING = object()


def _converter(field: models.Field) -> Callable[[Any], Any]:
    pg = connection.vendor == "postgresql"
    ops = connection.ops
    if isinstance(field, models.JSONField):
        return lambda v: None if v is None else json.dumps(v, ensure_ascii=False)
    if isinstance(field, models.DateTimeField):
        return (lambda v: v) if pg else ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return (lambda v: v) if pg else (lambda v: None if v is None else v.isoformat())
    if isinstance(field, models.DecimalField):
        return (lambda v: v) if pg else (lambda v: None if v is None else str(v))
    if isinstance(field, models.BooleanField) and not pg:
        return lambda v: None if v is None else int(v)
    return lambda v: v


def insert(model: type[models.Model], rows: Iterable[dict[str, Any]], *, with_id: bool = False) -> int:
    """Insert ``rows`` (dicts keyed by field attname; ``created_at``/``updated_at`` are now)."""
    meta = model._meta
    fields = [f for f in meta.concrete_fields if with_id or not f.primary_key]
    now = timezone.now()
    defaults: list[Any] = []
    for f in fields:
        if f.attname in ("created_at", "updated_at"):
            defaults.append(now)
        elif f.has_default():
            defaults.append(_MISSING)  # a callable default (list, dict) is made per row
        elif f.null:
            defaults.append(None)
        else:
            defaults.append(_MISSING)
    convert = [_converter(f) for f in fields]
    names = [f.attname for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(meta.db_table)

    def values(row: dict[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, default, conv, f in zip(names, defaults, convert, fields, strict=True):
            v = row.get(name, default)
            if v is _MISSING:
                v = f.get_default()
            out.append(conv(v))
        return tuple(out)

    count = 0
    it = iter(rows)
    with connection.cursor() as cursor:
        while chunk := list(islice(it, BATCH)):
            tuples = [values(r) for r in chunk]
            if connection.vendor == "postgresql":
                with (
                    connection.wrap_database_errors,
                    cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
                ):
                    for t in tuples:
                        copy.write_row(t)
            else:
                marks = ", ".join(["%s"] * len(fields))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuples)  # noqa: S608 - model names
            count += len(tuples)
    return count


def next_ids(model: type[models.Model], count: int) -> range:
    """``count`` fresh primary keys above the highest one (the caller holds the only writer: the
    demo generator or a benchmark's set-up), for rows that others point at."""
    top = model._default_manager.aggregate(m=models.Max("pk"))["m"] or 0
    return range(top + 1, top + 1 + count)


def reset_sequence(*model_list: type[models.Model]) -> None:
    """After inserting explicit keys: PostgreSQL's sequences move past them (SQLite needs nothing)."""
    sql = connection.ops.sequence_reset_sql(no_style(), list(model_list))
    if sql:
        with connection.cursor() as cursor:
            for statement in sql:
                cursor.execute(statement)


def link_follow_ups(enrollment_ids: Iterable[int] | None = None) -> None:
    """Give every follow-up (of ``enrollment_ids``, default all) the date of its entry's next
    follow-up (``FollowUp.until``; empty for the latest): one statement, whatever the order the
    follow-ups were recorded in. Two on the same day: the later-recorded one is the latest."""
    from .models import FollowUp

    q = connection.ops.quote_name
    table = q(FollowUp._meta.db_table)
    sql = (
        f"UPDATE {table} SET until = (SELECT n.visit_date FROM {table} n "  # noqa: S608
        f"WHERE n.enrollment_id = {table}.enrollment_id AND (n.visit_date > {table}.visit_date "
        f"OR (n.visit_date = {table}.visit_date AND n.id > {table}.id)) ORDER BY n.visit_date, n.id LIMIT 1)"
    )
    params: list[Any] = []
    if enrollment_ids is not None:
        ids = sorted(set(enrollment_ids))
        if not ids:
            return
        sql += f" WHERE enrollment_id IN ({', '.join(['%s'] * len(ids))})"
        params = ids
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
