"""The aggregate cells: computed from scratch (``rebuild``) or for touched cells only (``refresh``).

Both paths run the same grouped query (``definitions.grouped_query``), one per part, the second
restricted to the touched institutions and months, so an incremental update always equals a
computation from scratch (``tests/test_engine.py`` checks it after random changes).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

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


def _cells(part_key: str, definition: Definition, extra: Q | None = None) -> list[IndicatorCell]:
    qs = definitions.grouped_query(definition, extra)
    if qs is None:
        return []
    timing = definition.spec.timing
    return [
        IndicatorCell(
            part_id=part_key,
            institution_id=inst,
            month=definitions.month_of(month, timing),
            value=Decimal(total or 0),
        )
        for inst, *rest in qs
        for month, total in [(rest[0], rest[1]) if len(rest) == 2 else (None, rest[0])]
    ]


@transaction.atomic
def sync_parts() -> dict[str, Definition]:
    """Make the part table match the catalogue: new parts computed, unused ones dropped."""
    wanted = wanted_definitions()
    existing = set(IndicatorPart.objects.values_list("key", flat=True))
    IndicatorPart.objects.exclude(key__in=wanted).delete()
    for key, definition in wanted.items():
        if key not in existing:
            IndicatorPart.objects.create(key=key, source=definition.source, definition=definition.as_json())
            IndicatorCell.objects.bulk_create(_cells(key, definition), batch_size=5000)
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
    total = 0
    for key, definition in wanted.items():
        IndicatorPart.objects.create(key=key, source=definition.source, definition=definition.as_json())
        cells = _cells(key, definition)
        IndicatorCell.objects.bulk_create(cells, batch_size=5000)
        total += len(cells)
    return total


def _inst_q(field: str, ids: set[int | None]) -> Q:
    q = Q(**{f"{field}__in": [i for i in ids if i is not None]})
    if None in ids:
        q |= Q(**{f"{field}__isnull": True})
    return q


@transaction.atomic
def refresh(source: str, keys: Iterable[Key], *, every_institution: bool = False) -> int:
    """Recompute the cells of ``source``'s parts at the touched (institution, month) keys.

    A key's month None means every month of that institution (a capacity or a moved row);
    ``every_institution`` recomputes whole months (for sources whose signal names one side of
    a row attributed to either side, such as referrals)."""
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
    for part in IndicatorPart.objects.filter(source=source):
        definition = part.parsed()
        spec = definition.spec
        inst_field = spec.institutions[definition.attribute_to]
        for month, insts in by_month.items():
            extra = Q() if every_institution else _inst_q(inst_field, insts)
            stale = IndicatorCell.objects.filter(part=part)
            if not every_institution:
                stale = stale.filter(_inst_q("institution_id", insts))
            if month is not None and spec.timing not in ("capacity", "snapshot"):
                start, end = definitions.month_bounds(month)
                if spec.timing == "annual":
                    start, end = dt.date(month.year, 1, 1), dt.date(month.year + 1, 1, 1)
                extra &= definitions.date_range_q(definition, start, end)
                stale = stale.filter(month__gte=start, month__lt=end)
            stale.delete()
            cells = _cells(part.key, definition, extra)
            IndicatorCell.objects.bulk_create(cells, batch_size=5000)
            written += len(cells)
    return written


def _refresh_range(source: str, insts: set[int | None], start: dt.date, end: dt.date, every: bool) -> int:
    """Recompute the cells of ``insts`` (or all) in [start, end): equal to refreshing each
    touched month, with one grouped query per part."""
    written = 0
    for part in IndicatorPart.objects.filter(source=source):
        definition = part.parsed()
        spec = definition.spec
        extra = Q() if every else _inst_q(spec.institutions[definition.attribute_to], insts)
        stale = IndicatorCell.objects.filter(part=part)
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
        cells = _cells(part.key, definition, extra)
        IndicatorCell.objects.bulk_create(cells, batch_size=5000)
        written += len(cells)
    return written


def snapshot() -> dict[tuple[str, int | None, dt.date | None], Decimal]:
    """Every cell as a dictionary (for the test that compares incremental with from-scratch)."""
    return {
        (p, i, m): v
        for p, i, m, v in IndicatorCell.objects.values_list("part_id", "institution_id", "month", "value")
    }
