"""Scoped reads of indicator values: from the aggregate cells only, never the source tables
(except the records drill-down, which lists the rows behind one cell).

A value is numerator ÷ denominator × scale (or the numerator alone). "No data" (nothing at all
recorded by the numerator's source in the period and place) and a zero denominator are told
apart from a real zero: the value is then None and ``reason`` says why.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import Scope
from yigongti.core.audit import audit
from yigongti.core.errors import InvalidInput, NotFound
from yigongti.institutions.choices import InstitutionKind, Level
from yigongti.institutions.models import Consortium, Institution

from . import definitions, engine
from .choices import Direction, GroupBy, Light
from .definitions import Definition
from .models import Indicator, IndicatorCell, IndicatorPart, IndicatorTarget
from .periods import Period, add_months

CENT = Decimal("0.01")
ZERO = Decimal(0)
NO_DATA = "no_data"
ZERO_DENOMINATOR = "zero_denominator"
UNAVAILABLE = "source_unavailable"
REASONS = {
    NO_DATA: _("No data"),
    ZERO_DENOMINATOR: _("The denominator is zero"),
    UNAVAILABLE: _("The source table is not installed yet"),
}
UNKNOWN = "unknown"
DATED = frozenset({"flow", "cumulative", "interval", "annual"})
OUTSIDE = "outside"


@dataclass
class Value:
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    value: Decimal | None = None
    reason: str = ""

    @property
    def reason_text(self) -> str:
        return str(REASONS.get(self.reason, ""))


@dataclass
class Row:
    indicator: Indicator
    group: str
    group_name: str
    current: Value
    previous: Value
    target: Decimal | None = None
    change: Decimal | None = None
    change_pct: Decimal | None = None
    light: str = Light.NONE
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Parts:
    """An indicator's validated parts and the presence counts that tell "no data" from zero."""

    num: Definition
    den: Definition | None
    num_presence: Definition
    den_presence: Definition | None
    installed: bool = True

    def keys(self) -> set[str]:
        out = {self.num.key, self.num_presence.key}
        if self.den is not None and self.den_presence is not None:
            out |= {self.den.key, self.den_presence.key}
        return out

    @functools.cached_property
    def witness_key(self) -> str:
        """The part of the presence count that tells "no data": a dated source's (asked for
        every value of a dashboard, hence kept)."""
        if self.num.spec.timing in DATED or self.den_presence is None or self.den is None:
            return self.num_presence.key
        return (self.den_presence if self.den.spec.timing in DATED else self.num_presence).key


def parts_of(indicator: Indicator) -> Parts:
    num, den = indicator.parts()
    return Parts(
        num,
        den,
        definitions.presence(num.source),
        None if den is None else definitions.presence(den.source),
        num.spec.available and (den is None or den.spec.available),
    )


def catalogue(codes: Iterable[str] | None = None) -> list[Indicator]:
    qs = Indicator.objects.filter(is_active=True)
    codes = [c for c in (codes or []) if c]
    if codes:
        qs = qs.filter(code__in=codes)
    return list(qs)


def indicator_get(code: str) -> Indicator:
    indicator = Indicator.objects.filter(code=code, is_active=True).first()
    if indicator is None:
        raise NotFound(_("No such indicator."))
    return indicator


def _ensure_parts(keys: set[str]) -> None:
    """A part missing from the table (a catalogue loaded after the tables were emptied) is
    computed once; afterwards the signals keep it current."""
    known = set(IndicatorPart.objects.filter(key__in=keys).values_list("key", flat=True))
    if keys - known:
        engine.sync_parts()


# --- the places a scope sees and how they group -------------------------------------------------


@dataclass(frozen=True)
class Place:
    id: int
    name: str
    consortium_id: int | None
    level: str
    township_id: int | None


def places() -> dict[int, Place]:
    out: dict[int, Place] = {}
    for pk, name, short, cons, level, kind, parent in Institution.objects.values_list(
        "pk", "name", "short_name", "consortium_id", "level", "kind", "parent_id"
    ):
        township = (
            pk if kind == InstitutionKind.TOWNSHIP_CENTRE else parent if level == Level.VILLAGE else None
        )
        out[pk] = Place(pk, short or name, cons, level, township)
    return out


def _scope_q(scope: Scope, column: str = "institution_id") -> Q:
    q = Q(**{f"{column}__in": scope.institution_ids})
    if scope.is_oversight:
        q |= Q(**{f"{column}__isnull": True})
    return q


def _group_of(by: str, inst: int | None, where: dict[int, Place], home: int | None) -> str:
    place = where.get(inst) if inst is not None else None
    if by == GroupBy.INSTITUTION:
        return str(inst) if inst is not None else UNKNOWN
    if by == GroupBy.LEVEL:
        return place.level if place else Level.EXTERNAL
    if by == GroupBy.TOWNSHIP:
        if place and place.township_id:
            return str(place.township_id)
        return place.level if place else Level.EXTERNAL
    if place and place.consortium_id:
        return str(place.consortium_id)
    return str(home) if home else OUTSIDE  # out-of-county care counts for the residents' consortium


def group_names(by: str, where: dict[int, Place]) -> dict[str, str]:
    names: dict[str, str] = {
        UNKNOWN: str(_("Unknown hospital outside the county")),
        OUTSIDE: str(_("Outside the consortia")),
    }
    if by in (GroupBy.LEVEL, GroupBy.TOWNSHIP):
        names.update({k: str(v) for k, v in Level.choices})
    if by == GroupBy.CONSORTIUM:
        names.update({str(pk): n for pk, n in Consortium.objects.values_list("pk", "name")})
    else:
        names.update({str(pk): p.name for pk, p in where.items()})
    return names


def _home_consortium(scope: Scope) -> int | None:
    if scope.consortium_id:
        return scope.consortium_id
    return None


# --- sums over cells ----------------------------------------------------------------------------


def _month_sql(timing: str, period: Period, adapt: Any) -> tuple[str, list[Any]]:
    """The cells of a part with this timing that count in the period, as SQL on ``month``."""
    if timing == "flow":
        return "(month >= %s AND month < %s)", [adapt(period.start), adapt(period.end)]
    if timing in ("cumulative", "interval"):  # an interval's cells are +1 / -1: summed, the rows standing
        return "month < %s", [adapt(period.end)]
    if timing == "annual":
        return "month = %s", [adapt(dt.date(period.year, 1, 1))]
    return "month IS NULL", []  # capacity, snapshot


#: SQLite sums decimals as floats with 15 significant digits (Django's converter does the same).
_FROM_FLOAT = Context(prec=15).create_decimal_from_float


def sums_over(
    defs: Iterable[Definition],
    periods: Sequence[Period],
    scope: Scope,
    institution: int | None = None,
) -> list[dict[tuple[str, int | None], Decimal]]:
    """For each period, (part key, institution id) -> the part's measure over it, in scope.

    One grouped query per timing reads the cells of every period at once, with a conditional
    sum per period, in plain SQL: the dashboard by institution answers thousands of groups, and
    Django's per-row converters and its compilation of the scope's long ``IN`` list for every
    period were a large share of its time."""
    by_timing: dict[str, set[str]] = defaultdict(set)
    for d in defs:
        by_timing[d.spec.timing].add(d.key)
    out: list[dict[tuple[str, int | None], Decimal]] = [{} for _ in periods]
    if not periods:
        return out
    adapt = connection.ops.adapt_datefield_value
    table = IndicatorCell._meta.db_table
    inst_ids = sorted(scope.institution_ids)
    scope_sql = f"institution_id IN ({', '.join(['%s'] * len(inst_ids))})" if inst_ids else "FALSE"
    if scope.is_oversight:
        scope_sql = f"({scope_sql} OR institution_id IS NULL)"
    float_sums = connection.vendor == "sqlite"
    for timing, keys in by_timing.items():
        conditions = [_month_sql(timing, p, adapt) for p in periods]
        columns = ", ".join(f"CAST(SUM(CASE WHEN {sql} THEN value END) AS NUMERIC)" for sql, _p in conditions)
        params: list[Any] = [v for _sql, ps in conditions for v in ps]
        where = " OR ".join(sql for sql, _p in conditions)
        params += [v for _sql, ps in conditions for v in ps]
        part_sql = ", ".join(["%s"] * len(keys))
        params += sorted(keys)
        params += inst_ids
        # the table name and the SQL pieces are constants; every value is a parameter
        sql = (
            f"SELECT part_id, institution_id, {columns} FROM {table} "  # noqa: S608
            f"WHERE ({where}) AND part_id IN ({part_sql}) AND {scope_sql}"
        )
        if institution is not None:
            sql += " AND institution_id = %s"
            params.append(institution)
        sql += " GROUP BY part_id, institution_id"
        factors = [Decimal(p.days) if timing == "capacity" else Decimal(1) for p in periods]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for row in cursor.fetchall():
                group = (row[0], row[1])
                for i, total in enumerate(row[2:]):
                    if total is None:
                        continue
                    if float_sums:
                        total = _FROM_FLOAT(total)
                    out[i][group] = (total * factors[i]).quantize(CENT)
    return out


def sums(
    defs: Iterable[Definition], period: Period, scope: Scope, institution: int | None = None
) -> dict[tuple[str, int | None], Decimal]:
    """(part key, institution id) -> the part's measure over the period, within the scope."""
    return sums_over(defs, [period], scope, institution)[0]


def value_of(indicator: Indicator, parts: Parts, totals: dict[str, Decimal]) -> Value:
    if not parts.installed:
        return Value(reason=UNAVAILABLE)
    # "No data": the dated source recorded nothing here and then (the numerator's, or, when the
    # numerator is a stock or a capacity that is always on file, the denominator's).
    if not totals.get(parts.witness_key, ZERO):
        return Value(reason=NO_DATA)
    num = totals.get(parts.num.key, ZERO)
    if parts.den is None:
        return Value(numerator=num, value=num.quantize(CENT, ROUND_HALF_UP))
    den = totals.get(parts.den.key, ZERO)
    if not den:
        return Value(numerator=num, denominator=den, reason=ZERO_DENOMINATOR)
    return Value(num, den, ratio(num, den, indicator.scale))


def ratio(num: Decimal, den: Decimal, scale: Decimal) -> Decimal:
    """The one rounding every value goes through (the benchmark's reference uses it too)."""
    return (num * scale / den).quantize(CENT, ROUND_HALF_UP)


def light_of(indicator: Indicator, value: Decimal | None, target: Decimal | None) -> str:
    if value is None or target is None or indicator.direction == Direction.NEUTRAL:
        return Light.NONE
    if indicator.direction == Direction.HIGHER:
        return (
            Light.GREEN if value >= target else Light.AMBER if value >= target * Decimal("0.9") else Light.RED
        )
    return Light.GREEN if value <= target else Light.AMBER if value <= target * Decimal("1.1") else Light.RED


def _targets(indicators: list[Indicator], years: set[int]) -> dict[tuple[int, int, int], Decimal]:
    rows = IndicatorTarget.objects.filter(indicator__in=indicators, year__in=years)
    return {(t.indicator_id, t.consortium_id, t.year): t.value for t in rows}


def values_for(
    *,
    scope: Scope,
    period: Period,
    by: str = GroupBy.CONSORTIUM,
    codes: Iterable[str] | None = None,
    institution: int | None = None,
) -> list[Row]:
    """Every indicator's value per group, with the previous period, change, target and light."""
    if by not in GroupBy.values:
        raise InvalidInput(_("Group by consortium, institution, level or township."), field="by")
    if institution is not None and not scope.sees_institution(institution):
        raise NotFound(_("No such institution in your scope."))
    indicators = catalogue(codes)
    parts = {i.pk: parts_of(i) for i in indicators}
    all_defs = {d.key: d for p in parts.values() for d in (p.num, p.den, p.num_presence, p.den_presence) if d}
    _ensure_parts(set(all_defs))
    where = places()
    home = _home_consortium(scope)
    now: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    before: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    cells_now, cells_before = sums_over(all_defs.values(), [period, period.previous()], scope, institution)
    group_of: dict[int | None, str] = {}
    for bucket, totals in ((now, cells_now), (before, cells_before)):
        for (part, inst), total in totals.items():
            group = group_of.get(inst)
            if group is None:
                group = group_of[inst] = _group_of(by, inst, where, home)
            bucket[group][part] += total
    groups = sorted(set(now) | set(before))
    if not groups:
        groups = (
            [str(institution)]
            if institution
            else [str(home) if home and by == GroupBy.CONSORTIUM else OUTSIDE]
        )
    names = group_names(by, where)
    targets = _targets(indicators, {period.year})
    rows: list[Row] = []
    fallback = home or _single_consortium()  # once, not once per group
    consortium_of = {group: _row_consortium(by, group, where, home, fallback) for group in groups}
    for indicator in indicators:
        p = parts[indicator.pk]
        for group in groups:
            current = value_of(indicator, p, now.get(group, {}))
            previous = value_of(indicator, p, before.get(group, {}))
            cons = consortium_of[group]
            target = targets.get((indicator.pk, cons, period.year)) if cons else None
            row = Row(indicator, group, names.get(group, group), current, previous, target)
            if current.value is not None and previous.value is not None:
                row.change = current.value - previous.value
                if previous.value:
                    row.change_pct = ((current.value - previous.value) * 100 / previous.value).quantize(
                        CENT, ROUND_HALF_UP
                    )
            row.light = light_of(indicator, current.value, target)
            rows.append(row)
    return rows


def _row_consortium(
    by: str, group: str, where: dict[int, Place], home: int | None, fallback: int | None
) -> int | None:
    """The consortium whose target applies to a group's row: the institution's, else the user's
    own (``home``); for other groups the user's own or, failing that, the county's only one
    (``fallback``, looked up once per answer instead of once per row)."""
    if by == GroupBy.CONSORTIUM and group.isdigit():
        return int(group)
    if by == GroupBy.INSTITUTION and group.isdigit() and int(group) in where:
        return where[int(group)].consortium_id or home
    return fallback


def _single_consortium() -> int | None:
    ids = list(Consortium.objects.values_list("pk", flat=True)[:2])
    return ids[0] if len(ids) == 1 else None


def trend(
    *, scope: Scope, indicator: Indicator, year: int, institution: int | None = None
) -> list[tuple[str, Value]]:
    """The indicator month by month over a year (for the chart), within the scope."""
    if institution is not None and not scope.sees_institution(institution):
        raise NotFound(_("No such institution in your scope."))
    p = parts_of(indicator)
    defs = [d for d in (p.num, p.den, p.num_presence, p.den_presence) if d]
    _ensure_parts({d.key for d in defs})
    out = []
    start = dt.date(year, 1, 1)
    months = [Period("month", add_months(start, i), add_months(start, i + 1)) for i in range(12)]
    for month, cells in zip(months, sums_over(defs, months, scope, institution), strict=True):
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for (part, _inst), total in cells.items():
            totals[part] += total
        out.append((month.code, value_of(indicator, p, totals)))
    return out


# --- the records behind a figure -----------------------------------------------------------------


def records_for(
    *,
    scope: Scope,
    indicator: Indicator,
    period: Period,
    institution: str,
    part: str = "numerator",
    actor: Any = None,
) -> tuple[Definition, QuerySet[Any]]:
    """The source rows behind one institution's numerator (or denominator) in a period.

    ``institution`` is an institution id, or ``unknown`` for care at an unrecorded hospital
    outside the county (oversight roles only). A place outside the scope is NotFound."""
    p = parts_of(indicator)
    definition = p.den if part == "denominator" else p.num
    if part not in ("numerator", "denominator") or definition is None:
        raise InvalidInput(_("Choose the numerator or the denominator."), field="part")
    qs = definitions.rows(definition)
    if qs is None:
        raise NotFound(_("The source table is not installed yet."))
    spec = definition.spec
    column = spec.institutions[definition.attribute_to]
    if institution == UNKNOWN and scope.is_oversight:
        qs = qs.filter(**{f"{column}__isnull": True})
    elif institution.isascii() and institution.isdigit() and scope.sees_institution(int(institution)):
        qs = qs.filter(**{column: int(institution)})
    else:
        raise NotFound(_("No such institution in your scope."))
    if spec.timing == "flow":
        qs = qs.filter(definitions.date_range_q(definition, period.start, period.end))
    elif spec.timing == "cumulative":
        qs = qs.filter(definitions.date_range_q(definition, dt.date(2000, 1, 1), period.end))
    elif spec.timing == "interval":
        qs = qs.filter(definitions.standing_q(definition, period.end))
    elif spec.timing == "annual":
        qs = qs.filter(year=period.year)
    # a capacity or a snapshot: today's rows, whatever the period
    order = spec.date_field if spec.date_field and spec.timing != "annual" else "pk"
    audit(
        actor=actor,
        verb="indicator.records_read",
        subject=indicator,
        after={"period": period.code, "institution": institution, "part": part},
        membership=scope.membership,
    )
    return definition, qs.order_by(f"-{order}", "-pk")


def mask_name(name: str) -> str:
    """张三丰 → 张**: enough to tell rows apart on a screen, not to identify anyone."""
    return (name[:1] + "*" * max(len(name) - 1, 1)) if name else ""


def record_rows(definition: Definition, rows: list[Any], scope: Scope) -> list[dict[str, Any]]:
    """Rows as plain dictionaries; a resident's name only if the scope may read that resident."""
    out = []
    for row in rows:
        item: dict[str, Any] = {"id": row.pk}
        for name in definition.spec.record_fields:
            value = getattr(row, name, None)
            item[name] = (
                value if isinstance(value, str | int | bool | Decimal | dt.date | type(None)) else str(value)
            )
        patient = getattr(row, "patient", None) if definition.source != "residents" else row
        if patient is not None and definition.source in ("encounters", "referrals", "residents"):
            readable = patient.village_id is not None and patient.village_id in scope.resident_village_ids
            item["patient"] = patient.name if readable else mask_name(patient.name)
        staff = getattr(row, "staff", None)
        if staff is not None:
            item["staff"] = staff.name
        out.append(item)
    return out


def record_related(definition: Definition) -> list[str]:
    if definition.source in ("encounters", "referrals"):
        return ["patient"]
    if definition.source == "secondments":
        return ["staff"]
    return []
