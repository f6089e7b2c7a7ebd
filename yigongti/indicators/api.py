"""Indicators over JSON under /api/: the catalogue, values by group and period, the breakdown of
one indicator with its monthly trend, and the records behind one institution's figure."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Field, Query, Router, Schema

from yigongti.accounts.choices import Role
from yigongti.core.access import request_scope
from yigongti.core.api import ERRORS, InSchema, PageIn, PageOut, Text, authorized

from . import periods, selectors
from .choices import GroupBy

router = Router(tags=["indicators"])

#: Every role that works at an institution; staff see their own institution's figures.
READERS = authorized(*(r for r in Role.values if r != Role.RESIDENT))


class CatalogueOut(Schema):
    code: str
    name: str
    name_zh: str
    name_en: str
    description: str
    area: str
    unit: str
    scale: float
    direction: str
    source_document: str
    numerator: dict[str, Any]
    denominator: dict[str, Any] | None


class ValueOut(Schema):
    code: str
    name: str
    unit: str
    direction: str
    period: str
    group: str
    group_name: str
    value: float | None
    numerator: float | None
    denominator: float | None
    reason: str = Field(description="no_data, zero_denominator or source_unavailable when value is null")
    target: float | None
    light: str
    previous_period: str
    previous_value: float | None
    change: float | None = Field(description="value minus the previous period's, in the indicator's unit")
    change_pct: float | None = Field(description="relative change on the previous period, per cent")


class ValuesIn(InSchema):
    period: str = Field(..., max_length=10, description="2025, 2025-Q1 or 2025-03")
    by: GroupBy = GroupBy.CONSORTIUM
    code: str = Field("", max_length=64, description="One indicator's code (default: all)")


class BreakdownIn(InSchema):
    period: str = Field(..., max_length=10, description="2025, 2025-Q1 or 2025-03")
    by: GroupBy = GroupBy.INSTITUTION


class TrendPointOut(Schema):
    month: str
    value: float | None
    numerator: float | None
    denominator: float | None
    reason: str


class BreakdownOut(Schema):
    indicator: CatalogueOut
    period: str
    by: str
    rows: list[ValueOut]
    trend: list[TrendPointOut]


class RecordsIn(PageIn):
    period: str = Field(..., max_length=10, description="2025, 2025-Q1 or 2025-03")
    institution: str = Field(..., max_length=12, description="An institution id, or 'unknown'")
    part: str = Field("numerator", max_length=12, description="numerator or denominator")


class RecordOut(Schema):
    id: int
    fields: dict[str, Any]


class RecordsPage(PageOut[RecordOut]):
    source: str


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def catalogue_out(indicator: Any) -> CatalogueOut:
    return CatalogueOut(
        code=indicator.code,
        name=indicator.name,
        name_zh=indicator.name_zh,
        name_en=indicator.name_en,
        description=indicator.description,
        area=indicator.area,
        unit=indicator.unit,
        scale=float(indicator.scale),
        direction=indicator.direction,
        source_document=indicator.source_document,
        numerator=indicator.numerator,
        denominator=indicator.denominator,
    )


def value_out(
    row: selectors.Row, period: periods.Period, _cache: dict[Any, Any] | None = None
) -> dict[str, Any]:
    """A plain dictionary in ``ValueOut``'s shape (thousands of rows by institution: building
    schema objects, or one helper call per number, was most of the request's Python).
    ``_cache`` keeps what every row of one answer shares (the indicator's fields, the period
    codes) computed once."""
    cache = {} if _cache is None else _cache
    indicator = row.indicator
    head = cache.get(indicator.pk)
    if head is None:
        if "previous" not in cache:
            cache["previous"] = period.previous().code
        head = cache[indicator.pk] = (
            indicator.code,
            indicator.name,
            indicator.unit,
            indicator.direction,
            period.code,
            cache["previous"],
        )
    code, name, unit, direction, period_code, previous_code = head
    now, before = row.current, row.previous
    value, numerator, denominator = now.value, now.numerator, now.denominator
    target, previous, change, change_pct = row.target, before.value, row.change, row.change_pct
    return {
        "code": code,
        "name": name,
        "unit": unit,
        "direction": direction,
        "period": period_code,
        "group": row.group,
        "group_name": row.group_name,
        "value": None if value is None else float(value),
        "numerator": None if numerator is None else float(numerator),
        "denominator": None if denominator is None else float(denominator),
        "reason": now.reason,
        "target": None if target is None else float(target),
        "light": row.light,
        "previous_period": previous_code,
        "previous_value": None if previous is None else float(previous),
        "change": None if change is None else float(change),
        "change_pct": None if change_pct is None else float(change_pct),
    }


@router.get(
    "/indicators/catalogue",
    response={200: list[CatalogueOut], **ERRORS},
    summary="The indicator catalogue: definitions, units, directions and source documents",
    auth=READERS,
)
def catalogue(request: HttpRequest) -> list[CatalogueOut]:
    return [catalogue_out(i) for i in selectors.catalogue()]


@router.get(
    "/indicators",
    response={200: list[ValueOut], **ERRORS},
    summary="Every indicator's value for a period, by consortium, institution, level or township",
    auth=READERS,
)
def values(request: HttpRequest, filters: Query[ValuesIn]) -> HttpResponse:
    scope = request_scope(request)
    period = periods.parse(filters.period)
    by = _by_for(scope, filters.by)
    if filters.code:
        selectors.indicator_get(filters.code)
    rows = selectors.values_for(
        scope=scope, period=period, by=by, codes=[filters.code] if filters.code else None
    )
    # Built as plain dictionaries in ValueOut's shape and sent as they are: validating thousands
    # of rows (by institution) again through the schema took most of the request's time.
    cache: dict[Any, Any] = {}
    return JsonResponse([value_out(r, period, cache) for r in rows], safe=False)


def _by_for(scope: Any, by: str) -> str:
    """Staff see their own institutions only, so their figures are always per institution."""
    return by if scope.is_oversight else GroupBy.INSTITUTION


@router.get(
    "/indicators/{code}/breakdown",
    response={200: BreakdownOut, **ERRORS},
    summary="One indicator by group for a period, with its monthly trend over the period's year",
    auth=READERS,
)
def breakdown(request: HttpRequest, code: Text, filters: Query[BreakdownIn]) -> BreakdownOut:
    scope = request_scope(request)
    indicator = selectors.indicator_get(code)
    period = periods.parse(filters.period)
    by = _by_for(scope, filters.by)
    rows = selectors.values_for(scope=scope, period=period, by=by, codes=[code])
    trend = selectors.trend(scope=scope, indicator=indicator, year=period.year)
    return BreakdownOut(
        indicator=catalogue_out(indicator),
        period=period.code,
        by=by,
        rows=[ValueOut(**value_out(r, period)) for r in rows],
        trend=[
            TrendPointOut(
                month=m,
                value=_f(v.value),
                numerator=_f(v.numerator),
                denominator=_f(v.denominator),
                reason=v.reason,
            )
            for m, v in trend
        ],
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "as_tuple"):
        return str(value)
    return value


@router.get(
    "/indicators/{code}/records",
    response={200: RecordsPage, **ERRORS},
    summary="The records behind one institution's numerator or denominator (personal data masked)",
    auth=READERS,
)
def records(request: HttpRequest, code: Text, filters: Query[RecordsIn]) -> dict[str, Any]:
    from yigongti.core.api import paginate

    scope = request_scope(request)
    indicator = selectors.indicator_get(code)
    period = periods.parse(filters.period)
    definition, qs = selectors.records_for(
        scope=scope,
        indicator=indicator,
        period=period,
        institution=filters.institution,
        part=filters.part,
        actor=request.user,
    )
    page, meta = paginate(qs.select_related(*selectors.record_related(definition)), filters)
    items = [
        {"id": r["id"], "fields": {k: _jsonable(v) for k, v in r.items() if k != "id"}}
        for r in selectors.record_rows(definition, page, scope)
    ]
    return {**meta, "items": items, "source": definition.source}
