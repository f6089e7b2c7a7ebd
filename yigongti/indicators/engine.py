"""The aggregate cells: computed from scratch (``rebuild``) or for touched cells only (``refresh``).

Both paths run the same grouped query (``definitions.grouped_query``), one per (source,
attribution) with a filtered aggregate per part, the second restricted to the touched
institutions and months, so an incremental update always equals a computation from scratch
(``tests/test_engine.py`` checks it after random changes; the benchmark at county scale).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q

from yigongti.core import batching

from . import definitions
from .definitions import Definition
from .models import Indicator, IndicatorCell, IndicatorPart

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


Cell = tuple[str, int | None, dt.date | None, Decimal]


def _cells(parts: list[tuple[str, Definition]], extra: Q | None = None) -> list[Cell]:
    """The cells of parts sharing a source and attribution, from one grouped query, as plain
    tuples (part, institution, month, value).

    A zero is not stored (a missing cell sums as zero): conditional aggregation gives every
    part a value in every group that any of them has, and "no data" is told by the source's
    row count, never by a cell's absence."""
    qs = definitions.grouped_query([d for _k, d in parts], extra)
    if qs is None:
        return []
    timing = parts[0][1].spec.timing
    monthly = timing in ("flow", "cumulative", "annual")
    keys = [key for key, _d in parts]
    cells: list[Cell] = []
    for row in qs:
        inst, month = row[0], definitions.month_of(row[1], timing) if monthly else None
        for key, total in zip(keys, row[2 if monthly else 1 :], strict=True):
            if total:
                cells.append((key, inst, month, Decimal(total)))
    return cells


def _write(cells: list[Cell]) -> int:
    """Insert cells in bulk without model instances (building tens of thousands of them was
    most of a rebuild's time): COPY on PostgreSQL, one ``executemany`` on SQLite."""
    if not cells:
        return 0
    table = IndicatorCell._meta.db_table
    columns = "part_id, institution_id, month, value"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for cell in cells:
                    copy.write_row(cell)
        else:
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s)",  # noqa: S608 - constant names
                [(p, i, None if m is None else m.isoformat(), str(v)) for p, i, m, v in cells],
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


@transaction.atomic
def rebuild(sources: Iterable[str] | None = None) -> int:
    """Recompute every cell (of ``sources``, default all) from the source tables; returns the
    number of cells written."""
    only = None if sources is None else set(sources)
    wanted = wanted_definitions()
    if only is None:
        IndicatorCell.objects.all().delete()
        IndicatorPart.objects.all().delete()
    else:
        wanted = {k: d for k, d in wanted.items() if d.source in only}
        IndicatorPart.objects.filter(key__in=wanted).delete()
    IndicatorPart.objects.bulk_create(
        [IndicatorPart(key=k, source=d.source, definition=d.as_json()) for k, d in wanted.items()]
    )
    total = 0
    for group in _groups(wanted.items()):
        total += _write(_cells(group))
    return total


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
            stale.delete()
            written += _write(_cells(group, extra))
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
        if spec.timing in ("flow", "cumulative"):
            extra &= definitions.date_range_q(definition, start, end)
            stale = stale.filter(month__gte=start, month__lt=end)
        elif spec.timing == "annual":
            extra &= definitions.date_range_q(
                definition, dt.date(start.year, 1, 1), dt.date(end.year + 1, 1, 1)
            )
            stale = stale.filter(month__gte=dt.date(start.year, 1, 1), month__lt=dt.date(end.year + 1, 1, 1))
        stale.delete()
        written += _write(_cells(group, extra))
    return written


def snapshot() -> dict[tuple[str, int | None, dt.date | None], Decimal]:
    """Every cell as a dictionary (for the test that compares incremental with from-scratch)."""
    return {
        (p, i, m): v
        for p, i, m, v in IndicatorCell.objects.values_list("part_id", "institution_id", "month", "value")
    }
