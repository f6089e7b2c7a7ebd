"""Indicator pages: the dashboard (every indicator, value, target, light), one indicator's
breakdown with its monthly trend and the ranking of members, the records behind one figure,
Excel exports of each table and the printable monthly report (PDF).

The consortium office and the bureau see their consortium / county by any grouping; staff of an
institution see their own institution(s) only, always per institution.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Max
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from yigongti.core.access import Scope
from yigongti.core.errors import InvalidInput
from yigongti.core.views import paginate, require_staff_scope, translate_domain_errors

from . import exports, periods, selectors
from .choices import GroupBy, Light, Unit
from .models import IndicatorCell
from .periods import Period

RECORDS_EXPORT_LIMIT = 10_000
UNIT_SUFFIX: dict[str, str] = {Unit.PERCENT: "%"}


def default_period() -> Period:
    """The year of the newest month with data (this year when there is none)."""
    newest = IndicatorCell.objects.filter(part__source="encounters").aggregate(m=Max("month"))["m"]
    year = newest.year if newest else timezone.localdate().year
    return periods.parse(str(year))


def _period(request: HttpRequest) -> Period:
    text = request.GET.get("period", "")
    return periods.parse(text) if text else default_period()


def _by(request: HttpRequest, scope: Scope, default: str = GroupBy.CONSORTIUM) -> str:
    if not scope.is_oversight:
        return GroupBy.INSTITUTION
    by = request.GET.get("by", default)
    if by not in GroupBy.values:
        raise InvalidInput(_("Group by consortium, institution, level or township."), field="by")
    return by


def period_choices(current: Period) -> list[tuple[str, str]]:
    """Years with data (and the current one), each with its quarters and months."""
    years = {current.year}
    for month in IndicatorCell.objects.filter(part__source="encounters").dates("month", "year"):
        years.add(month.year)
    out = []
    for year in sorted(years, reverse=True):
        out.append((str(year), str(year)))
        out += [(f"{year}-Q{q}", f"{year}-Q{q}") for q in range(1, 5)]
        out += [(f"{year}-{m:02d}", f"{year}-{m:02d}") for m in range(1, 13)]
    return out


def fmt(value: Decimal | None, unit: str) -> str:
    if value is None:
        return ""
    text = f"{value:,.0f}" if unit == Unit.COUNT else f"{value:,.2f}"
    suffix = UNIT_SUFFIX.get(unit, "")
    return f"{text} {suffix}".strip()


def display(row: selectors.Row) -> dict[str, Any]:
    unit = row.indicator.unit
    current = row.current
    return {
        "row": row,
        "value": fmt(current.value, unit) if current.value is not None else current.reason_text,
        "has_value": current.value is not None,
        "target": fmt(row.target, unit),
        "previous": fmt(row.previous.value, unit)
        if row.previous.value is not None
        else row.previous.reason_text,
        "change": "" if row.change is None else f"{row.change:+,.2f}",
        "change_pct": "" if row.change_pct is None else f"{row.change_pct:+,.2f} %",
        "numerator": "" if current.numerator is None else f"{current.numerator:,.2f}".rstrip("0").rstrip("."),
        "denominator": ""
        if current.denominator is None
        else f"{current.denominator:,.2f}".rstrip("0").rstrip("."),
        "light": row.light,
        "light_text": str(Light(row.light).label),
    }


def _wants_xlsx(request: HttpRequest) -> bool:
    return request.GET.get("format") == "xlsx"


def _value_sheet(rows: list[dict[str, Any]], with_group: bool) -> tuple[list[str], list[list[Any]]]:
    headers = [_("Code"), _("Indicator")]
    if with_group:
        headers.append(_("Group"))
    headers += [
        _("Value"),
        _("Numerator"),
        _("Denominator"),
        _("Target"),
        _("Status"),
        _("Previous period"),
        _("Change"),
    ]
    out = []
    for d in rows:
        r: selectors.Row = d["row"]
        line: list[Any] = [r.indicator.code, r.indicator.name]
        if with_group:
            line.append(r.group_name)
        line += [
            float(r.current.value) if r.current.value is not None else r.current.reason_text,
            None if r.current.numerator is None else float(r.current.numerator),
            None if r.current.denominator is None else float(r.current.denominator),
            None if r.target is None else float(r.target),
            d["light_text"],
            float(r.previous.value) if r.previous.value is not None else r.previous.reason_text,
            None if r.change is None else float(r.change),
        ]
        out.append(line)
    return headers, out


@login_required
@require_GET
@translate_domain_errors
def dashboard(request: HttpRequest) -> HttpResponse:
    scope = require_staff_scope(request)
    period = _period(request)
    by = _by(request, scope)
    rows = [display(r) for r in selectors.values_for(scope=scope, period=period, by=by)]
    if _wants_xlsx(request):
        headers, lines = _value_sheet(rows, with_group=True)
        return exports.xlsx(f"indicators-{period.code}-{by}", _("Indicators"), headers, lines)
    groups: dict[str, list[dict[str, Any]]] = {}
    for d in rows:
        groups.setdefault(d["row"].group_name, []).append(d)
    context = {
        "period": period,
        "by": by,
        "groups": groups,
        "period_choices": period_choices(period),
        "by_choices": GroupBy.choices if scope.is_oversight else [],
        "report_month": period.last_month.strftime("%Y-%m"),
    }
    return render(request, "indicators/dashboard.html", context)


def _ranking(rows: list[dict[str, Any]], lower_better: bool) -> list[dict[str, Any]]:
    valued = [d for d in rows if d["row"].current.value is not None]
    valued.sort(key=lambda d: d["row"].current.value, reverse=not lower_better)
    return valued + [d for d in rows if d["row"].current.value is None]


@login_required
@require_GET
@translate_domain_errors
def detail(request: HttpRequest, code: str) -> HttpResponse:
    scope = require_staff_scope(request)
    indicator = selectors.indicator_get(code)
    period = _period(request)
    by = _by(request, scope, GroupBy.INSTITUTION)
    rows = _ranking(
        [display(r) for r in selectors.values_for(scope=scope, period=period, by=by, codes=[code])],
        indicator.direction == "lower",
    )
    if _wants_xlsx(request):
        headers, lines = _value_sheet(rows, with_group=True)
        return exports.xlsx(f"{code}-{period.code}-{by}", indicator.code, headers, lines)
    trend = selectors.trend(scope=scope, indicator=indicator, year=period.year)
    target = next((d["row"].target for d in rows if d["row"].target is not None), None)
    chart = {
        "months": [m for m, _v in trend],
        "values": [None if v.value is None else float(v.value) for _m, v in trend],
        "target": None if target is None else float(target),
        "ranking": {
            "names": [d["row"].group_name for d in rows if d["has_value"]][:30],
            "values": [float(d["row"].current.value) for d in rows if d["has_value"]][:30],
        },
        "labels": {"value": indicator.name, "target": _("Target"), "month": _("Month")},
    }
    context = {
        "indicator": indicator,
        "period": period,
        "by": by,
        "rows": rows,
        "trend": [
            (m, fmt(v.value, indicator.unit) if v.value is not None else v.reason_text) for m, v in trend
        ],
        "chart": chart,
        "period_choices": period_choices(period),
        "by_choices": GroupBy.choices if scope.is_oversight else [],
        "drill": by == GroupBy.INSTITUTION,
        "plotly_style_ids": plotly_bundled_style_ids(),
    }
    return render(request, "indicators/detail.html", context)


@login_required
@require_GET
@translate_domain_errors
def records(request: HttpRequest, code: str) -> HttpResponse:
    scope = require_staff_scope(request)
    indicator = selectors.indicator_get(code)
    period = _period(request)
    institution = request.GET.get("institution", "")
    part = request.GET.get("part", "numerator")
    definition, qs = selectors.records_for(
        scope=scope,
        indicator=indicator,
        period=period,
        institution=institution,
        part=part,
        actor=request.user,
    )
    qs = qs.select_related(*selectors.record_related(definition))
    columns = list(definition.spec.record_fields)
    if definition.source in ("encounters", "referrals", "residents"):
        columns.append("patient")
    if definition.source == "secondments":
        columns.append("staff")
    model = qs.model
    labels = [_label(model, c) for c in columns]
    if _wants_xlsx(request):
        items = selectors.record_rows(definition, list(qs[:RECORDS_EXPORT_LIMIT]), scope)
        lines = [[_plain(item.get(c)) for c in columns] for item in items]
        return exports.xlsx(f"{code}-{period.code}-{institution}-{part}", indicator.code, labels, lines)
    page = paginate(request, qs)
    items = selectors.record_rows(definition, list(page.object_list), scope)
    where = (
        selectors.places().get(int(institution)) if institution.isascii() and institution.isdigit() else None
    )
    context = {
        "indicator": indicator,
        "period": period,
        "institution": institution,
        "institution_name": where.name if where else _("Unknown hospital outside the county"),
        "part": part,
        "labels": labels,
        "lines": [[_plain(item.get(c)) for c in columns] for item in items],
        "page_obj": page,
        "source_label": definition.spec.label,
        "has_denominator": indicator.denominator is not None,
    }
    return render(request, "indicators/records.html", context)


def _label(model: Any, name: str) -> str:
    if name == "patient":
        return _("Patient")
    if name == "staff":
        return _("Staff member")
    try:
        return str(model._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # a computed column (patient, staff) has no field
        return name


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Decimal):
        return float(value)
    return "" if value is None else value


@login_required
@require_GET
@translate_domain_errors
def report(request: HttpRequest) -> HttpResponse:
    """The printable monthly report: every indicator for the month and the year to date, and
    the members' values, as a PDF (WeasyPrint, with the Noto CJK fonts of the server)."""
    scope = require_staff_scope(request)
    period = _period(request)
    if period.kind != "month":
        raise InvalidInput(_("The monthly report needs a month such as 2025-03."), field="period")
    year_to_date = Period("year", dt.date(period.year, 1, 1), period.end)
    by = GroupBy.CONSORTIUM if scope.is_oversight else GroupBy.INSTITUTION
    month_rows = [display(r) for r in selectors.values_for(scope=scope, period=period, by=by)]
    ytd = {
        (d["row"].indicator.code, d["row"].group): d
        for d in (display(r) for r in selectors.values_for(scope=scope, period=year_to_date, by=by))
    }
    members = [display(r) for r in selectors.values_for(scope=scope, period=period, by=GroupBy.INSTITUTION)]
    member_table: dict[str, dict[str, str]] = {}
    for d in members:
        member_table.setdefault(d["row"].group_name, {})[d["row"].indicator.code] = d["value"]
    indicators = selectors.catalogue()
    html = render_to_string(
        "indicators/report.html",
        {
            "period": period,
            "rows": [(d, ytd.get((d["row"].indicator.code, d["row"].group))) for d in month_rows],
            "indicators": indicators,
            "members": sorted(member_table.items()),
            "generated": timezone.localtime(),
            "membership": scope.membership,
        },
        request=request,
    )
    return exports.pdf(f"indicators-{period.code}", html, request.build_absolute_uri("/"))


PLOTLY = Path(str(__import__("plotly").__file__)).parent / "package_data" / "plotly.min.js"


@functools.cache
def plotly_stylesheet() -> str:
    """The rules plotly.js would inject as an inline <style> (refused by our CSP), read from
    its own source, so that the page can link them instead (plotly then skips the injection
    because the element ``#plotly.js-style-global`` has the class ``no-inline-styles``)."""
    source = PLOTLY.read_text(encoding="utf-8")
    start = source.rfind("{", 0, source.index('"X,X div":'))
    end = source.index("}", source.index("notifier-close:hover", start))
    rules = []
    for key, single, double in PLOTCSS_RULE.findall(source[start : end + 1]):
        selector = (" ," + key[1:] if key.startswith(",") else key).replace("X", ".js-plotly-plot .plotly")
        rules.append(f"{selector.replace('Y', '.plotly-notifier')}{{{single or double}}}")
    return "\n".join(rules) + "\n"


#: Stylesheets plotly.js bundles for traces we do not draw (maps) and injects unless an element
#: with their id exists; the page carries such an empty element so nothing is injected.
BUNDLED_STYLE = re.compile(
    r'getElementById\("([0-9a-f]{16,64})"\)\)\{var \w+=document\.createElement\("style"\)'
)


@functools.cache
def plotly_bundled_style_ids() -> list[str]:
    return BUNDLED_STYLE.findall(PLOTLY.read_text(encoding="utf-8"))


PLOTCSS_RULE = re.compile(r'"((?:[^"\\]|\\.)*)":(?:\'((?:[^\'\\]|\\.)*)\'|"((?:[^"\\]|\\.)*)")')


@require_GET
@cache_control(public=True, max_age=86400)
def plotly_css(request: HttpRequest) -> HttpResponse:
    return HttpResponse(plotly_stylesheet(), content_type="text/css; charset=utf-8")


@require_GET
@cache_control(public=True, max_age=86400)
def plotly_js(request: HttpRequest) -> FileResponse:
    """plotly.js from inside the installed wheel: county intranets have no internet and no CDN."""
    return FileResponse(PLOTLY.open("rb"), content_type="text/javascript")
