"""The indicator definition language: which sources exist, what may be filtered and measured.

A definition is JSON stored on the indicator (numerator and denominator)::

    {"source": "encounters",
     "filters": [{"field": "kind", "op": "in", "value": ["outpatient", "emergency"]},
                 {"field": "institution_level", "op": "in", "value": ["township", "village"]}],
     "measure": "count"}                      # or "sum" / "distinct" with "field"

A ``list`` field (a JSON list of codes, such as a contract's priority groups) takes ``contains``
with one code: ``{"field": "priority_groups", "op": "contains", "value": "elderly"}``.

Only what the registry below names may appear, so a definition can never reach a table or a
column it should not, and a mistake is refused with the part it is in (``validate``). Every
valid definition of a source and attribution is computed from one grouped query, read as a
small cube (``cube``), so the database does the counting and each source table is read once.

How a source is placed in time (``Source.timing``):

- ``flow``: each row belongs to the month of its date (visits, referrals, secondments);
- ``cumulative``: a stock that grows, dated by a real event date: a period's value counts every
  row dated up to the period's end;
- ``interval``: a stock whose rows come and go, each standing from its date until its end
  (``Source.end_fields``, the earliest that is filled; none: still standing): a period's value
  counts the rows standing at the period's end (the chronic registry: enrolled and not yet
  closed). Kept as +1 in the month a row starts and -1 in the month it ends, read as a
  cumulative sum;
- ``snapshot``: a stock without a usable date (residents: the table keeps no filing date, only
  the row's creation time, which is the load time for migrated records): every period reads
  today's rows;
- ``annual``: reference data per year (permanent population): a period reads its year's row;
- ``capacity``: a standing capacity (approved beds): a period's value is the capacity times the
  period's days, so occupied bed-days can be set against it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

#: Stand-in value: the county codes of the consortia on file (residents "of the county").
COUNTY_VALUE = "$county"


@dataclass(frozen=True)
class FieldSpec:
    """A filterable field: the ORM path and its type (which decides the allowed operators)."""

    path: str
    kind: str  # text | bool | number | date | datetime | ref | list
    choices: tuple[str, ...] = ()


OPERATORS: dict[str, frozenset[str]] = {
    "text": frozenset({"eq", "ne", "in", "not_in", "startswith", "isnull"}),
    "bool": frozenset({"eq", "isnull"}),
    "number": frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "isnull"}),
    "date": frozenset({"eq", "gt", "gte", "lt", "lte", "isnull"}),
    "datetime": frozenset({"isnull"}),
    "ref": frozenset({"isnull"}),  # a link to another row: present or not
    # a JSON list of codes (a contract's priority groups): holds the one code named
    "list": frozenset({"contains"}),
}

LEVELS = ("county", "township", "village", "external")
KINDS = (
    "lead_hospital",
    "tcm_hospital",
    "maternal_child",
    "chronic_disease",
    "emergency_centre",
    "township_centre",
    "village_clinic",
    "health_bureau",
    "external_hospital",
)


@dataclass(frozen=True)
class Source:
    """One table an indicator may count from."""

    name: str
    label: Any
    model: str  # "app_label.ModelName"
    timing: str  # flow | cumulative | snapshot | annual | capacity
    date_field: str | None  # the field that places a row in a month
    institutions: dict[str, str]  # attribute_to name -> ORM path of the institution id
    fields: dict[str, FieldSpec]
    sums: frozenset[str] = frozenset()
    distincts: dict[str, str] = field(default_factory=dict)
    base: Callable[[], Q] | None = None
    #: Fields shown in the records drill-down.
    record_fields: tuple[str, ...] = ()
    #: Filter fields the cube always groups by, in this order (``cube``): a text or bool field by
    #: its value, a date by whether it is empty. Name the fields the catalogue filters on.
    dimensions: tuple[str, ...] = ()
    #: ``interval`` timing: where a row stops standing (ORM paths of dates; the earliest filled).
    end_fields: tuple[str, ...] = ()
    #: The sums of the source's analytic index on SQLite (``analytic.analytic_index_sql``); None: no
    #: such index. A cube that needs only the dimensions and these sums is read in index order.
    analytic_sums: frozenset[str] | None = None

    @property
    def attribution(self) -> str:
        """The default ``attribute_to``: the first institution named (a SQLite analytic index is in
        its order)."""
        return next(iter(self.institutions))

    def model_class(self) -> Any | None:
        """The model, or None while the app that owns the table is not installed yet."""
        try:
            return apps.get_model(self.model)
        except (LookupError, ValueError):
            return None

    @property
    def available(self) -> bool:
        return self.model_class() is not None


def _inst_fields(prefix: str, name: str) -> dict[str, FieldSpec]:
    return {
        f"{name}_level": FieldSpec(f"{prefix}__level", "text", LEVELS),
        f"{name}_kind": FieldSpec(f"{prefix}__kind", "text", KINDS),
        f"{name}_code": FieldSpec(f"{prefix}__code", "text"),
    }


ENCOUNTER_KINDS = ("outpatient", "emergency", "inpatient", "home_visit", "online", "ai_consultation")
REFERRAL_DIRECTIONS = ("upward", "downward", "lateral", "out_of_county")
REFERRAL_STATUSES = (
    "submitted",
    "accepted",
    "rejected",
    "redirected",
    "arrived",
    "in_care",
    "completed",
    "followed_up",
    "cancelled",
)

SOURCES: dict[str, Source] = {
    "encounters": Source(
        name="encounters",
        label=_("Encounters"),
        model="encounters.Encounter",
        timing="flow",
        date_field="started_at",
        institutions={"institution": "institution_id"},
        fields={
            "kind": FieldSpec("kind", "text", ENCOUNTER_KINDS),
            "is_tcm": FieldSpec("is_tcm", "bool"),
            "in_county": FieldSpec("in_county", "bool"),
            "residence_county_code": FieldSpec("residence_county_code", "text"),
            "diagnosis_code": FieldSpec("diagnosis_code", "text"),
            "source": FieldSpec("source", "text"),
            "admitted_on": FieldSpec("admitted_on", "date"),
            "discharged_on": FieldSpec("discharged_on", "date"),
            "bed_days": FieldSpec("bed_days", "number"),
            "total_cost": FieldSpec("total_cost", "number"),
            "insurance_paid": FieldSpec("insurance_paid", "number"),
            "out_of_pocket": FieldSpec("out_of_pocket", "number"),
            "department_category": FieldSpec("department__category", "text"),
            "institution": FieldSpec("institution_id", "number"),
            **_inst_fields("institution", "institution"),
        },
        sums=frozenset({"bed_days", "total_cost", "insurance_paid", "out_of_pocket"}),
        distincts={"patient": "patient_id"},
        record_fields=("started_at", "kind", "diagnosis_code", "total_cost", "out_of_pocket", "bed_days"),
        dimensions=("kind", "in_county", "is_tcm", "residence_county_code", "discharged_on"),
        analytic_sums=frozenset({"bed_days", "total_cost", "insurance_paid", "out_of_pocket"}),
    ),
    "referrals": Source(
        name="referrals",
        label=_("Referrals"),
        model="referrals.Referral",
        timing="flow",
        date_field="submitted_at",
        institutions={"from_institution": "from_institution_id", "to_institution": "to_institution_id"},
        fields={
            "direction": FieldSpec("direction", "text", REFERRAL_DIRECTIONS),
            "status": FieldSpec("status", "text", REFERRAL_STATUSES),
            "green_channel": FieldSpec("green_channel_id", "ref"),
            "urgency": FieldSpec("urgency", "text"),
            "diagnosis_code": FieldSpec("diagnosis_code", "text"),
            "accepted_at": FieldSpec("accepted_at", "datetime"),
            "arrived_at": FieldSpec("arrived_at", "datetime"),
            "completed_at": FieldSpec("completed_at", "datetime"),
            "closed_at": FieldSpec("closed_at", "datetime"),
            **_inst_fields("from_institution", "from_institution"),
            **_inst_fields("to_institution", "to_institution"),
        },
        distincts={"patient": "patient_id"},
        base=lambda: Q(submitted_at__isnull=False),  # a draft counts nowhere
        record_fields=("number", "submitted_at", "direction", "status", "diagnosis_code"),
    ),
    "residents": Source(
        name="residents",
        label=_("Residents"),
        model="patients.Patient",
        timing="snapshot",
        date_field="created_at",
        institutions={"village": "village_id"},
        fields={
            "health_record_number": FieldSpec("health_record_number", "text"),
            "sex": FieldSpec("sex", "text", ("M", "F")),
            "birth_date": FieldSpec("birth_date", "date"),
            **_inst_fields("village", "village"),
        },
        base=lambda: Q(merged_into__isnull=True),
        record_fields=("created_at", "sex", "birth_date"),
    ),
    "secondments": Source(
        name="secondments",
        label=_("Secondments"),
        model="institutions.Secondment",
        timing="flow",
        date_field="start_date",
        institutions={"host": "host_id", "home": "home_id"},
        fields={
            "end_date": FieldSpec("end_date", "date"),
            "ended_early_on": FieldSpec("ended_early_on", "date"),
            "staff_profession": FieldSpec("staff__profession", "text"),
            **_inst_fields("host", "host"),
            **_inst_fields("home", "home"),
        },
        distincts={"staff": "staff_id"},
        record_fields=("start_date", "end_date", "purpose"),
    ),
    "beds": Source(
        name="beds",
        label=_("Approved beds (bed-days available)"),
        model="institutions.Department",
        timing="capacity",
        date_field=None,
        institutions={"institution": "institution_id"},
        fields={
            "category": FieldSpec("category", "text"),
            **_inst_fields("institution", "institution"),
        },
        sums=frozenset({"beds"}),
        record_fields=("code", "name", "category", "beds"),
    ),
    "population": Source(
        name="population",
        label=_("Permanent population"),
        model="indicators.PopulationReference",
        timing="annual",
        date_field="year",
        institutions={"institution": "institution_id"},
        fields={**_inst_fields("institution", "institution")},
        sums=frozenset({"permanent_residents"}),
        record_fields=("year", "permanent_residents"),
    ),
}


def _register_domain_sources() -> None:
    """Sources that other domain apps describe (their ``indicator_sources.sources()``); imported
    here, at the end of this module, because they build ``Source`` objects from it."""
    from yigongti.chronic import indicator_sources as chronic_sources
    from yigongti.familydoctor import indicator_sources as familydoctor_sources

    SOURCES.update(chronic_sources.sources())
    SOURCES.update(familydoctor_sources.sources())


_register_domain_sources()

#: Sources kept current by one domain signal: the signal names the touched cells, not the table.
CHRONIC_SOURCES = (
    "chronic_registry",
    "chronic_standing",
    "chronic_follow_ups",
    "elderly_services",
    "chronic_reference",
)
FAMILYDOCTOR_SOURCES = ("fd_contracts", "fd_tasks", "fd_home_visits")

MEASURES = ("count", "sum", "distinct")


@dataclass(frozen=True)
class Definition:
    """A validated definition; ``key`` names it in the aggregate table (same JSON, same key)."""

    source: str
    filters: tuple[tuple[str, str, Any], ...]
    measure: str
    field: str | None
    attribute_to: str

    @property
    def spec(self) -> Source:
        return SOURCES[self.source]

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "source": self.source,
            "filters": [{"field": f, "op": o, "value": v} for f, o, v in self.filters],
            "measure": self.measure,
        }
        if self.field:
            data["field"] = self.field
        data["attribute_to"] = self.attribute_to
        return data

    @functools.cached_property
    def key(self) -> str:
        canonical = json.dumps(self.as_json(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def presence(source: str) -> Definition:
    """Every row of a source: tells "no data" (nothing recorded) from a true zero."""
    spec = SOURCES[source]
    return Definition(source, (), "count", None, spec.attribution)


def _error(part: str, message: Any, **params: Any) -> ValidationError:
    return ValidationError(
        _("%(part)s: %(problem)s"), params={"part": part, "problem": message % params if params else message}
    )


def _check_value(part: str, spec: FieldSpec, op: str, value: Any) -> Any:
    """The value normalised for its field and operator, or a ValidationError naming the part."""
    if op == "isnull":
        if not isinstance(value, bool):
            raise _error(part, _("the value of isnull must be true or false"))
        return value
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise _error(part, _("the value of %(op)s must be a non-empty list"), op=op)
        return [_check_value(part, spec, "eq", v) for v in value]
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise _error(part, _("the value must be true or false"))
        return value
    if spec.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _error(part, _("the value must be a number"))
        try:
            return str(Decimal(str(value)))
        except ArithmeticError:
            raise _error(part, _("the value must be a number")) from None
    if spec.kind == "date":
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise _error(part, _("the value must be a date such as 2025-01-31")) from None
    if not isinstance(value, str) or not value or len(value) > 64:
        raise _error(part, _("the value must be a text of 1 to 64 characters"))
    if spec.kind == "list" and value not in spec.choices:
        raise _error(part, _("the value must be one code: %(choices)s"), choices=", ".join(spec.choices))
    if spec.choices and value not in spec.choices and value != COUNTY_VALUE:
        raise _error(part, _("the value must be one of: %(choices)s"), choices=", ".join(spec.choices))
    return value


def validate(data: Any, *, where: str = "") -> Definition:
    """Parse and check a definition; the error names the part (e.g. ``filters[1].op``)."""
    prefix = f"{where}." if where else ""
    if not isinstance(data, dict):
        raise _error(where or "definition", _("a definition must be a JSON object"))
    unknown_keys = set(data) - {"source", "filters", "measure", "field", "attribute_to"}
    if unknown_keys:
        raise _error(f"{prefix}{sorted(unknown_keys)[0]}", _("unknown key"))
    source = data.get("source")
    if source not in SOURCES:
        raise _error(
            f"{prefix}source", _("unknown source; use one of: %(choices)s"), choices=", ".join(SOURCES)
        )
    spec = SOURCES[source]
    filters_data = data.get("filters", [])
    if not isinstance(filters_data, list):
        raise _error(f"{prefix}filters", _("filters must be a list"))
    filters: list[tuple[str, str, Any]] = []
    for i, item in enumerate(filters_data):
        part = f"{prefix}filters[{i}]"
        if not isinstance(item, dict) or set(item) - {"field", "op", "value"} or "field" not in item:
            raise _error(part, _("a filter is an object with field, op and value"))
        name, op = item.get("field"), item.get("op", "eq")
        if name not in spec.fields:
            raise _error(
                f"{part}.field",
                _("unknown field for this source; use one of: %(choices)s"),
                choices=", ".join(sorted(spec.fields)),
            )
        fspec = spec.fields[name]
        if op not in OPERATORS[fspec.kind]:
            raise _error(
                f"{part}.op",
                _("operator not allowed for this field; use one of: %(choices)s"),
                choices=", ".join(sorted(OPERATORS[fspec.kind])),
            )
        if "value" not in item:
            raise _error(f"{part}.value", _("a value is required"))
        filters.append((name, op, _check_value(f"{part}.value", fspec, op, item["value"])))
    measure = data.get("measure", "count")
    column = data.get("field")
    if measure not in MEASURES:
        raise _error(f"{prefix}measure", _("unknown measure; use count, sum or distinct"))
    if measure == "count" and column is not None:
        raise _error(f"{prefix}field", _("a count takes no field"))
    if measure == "sum" and column not in spec.sums:
        raise _error(
            f"{prefix}field",
            _("a sum needs a numeric field of this source: %(choices)s"),
            choices=", ".join(sorted(spec.sums)) or "-",
        )
    if measure == "distinct" and column not in spec.distincts:
        raise _error(
            f"{prefix}field",
            _("a distinct count needs one of: %(choices)s"),
            choices=", ".join(sorted(spec.distincts)) or "-",
        )
    attribute_to = data.get("attribute_to", spec.attribution)
    if attribute_to not in spec.institutions:
        raise _error(
            f"{prefix}attribute_to",
            _("use one of: %(choices)s"),
            choices=", ".join(spec.institutions),
        )
    return Definition(source, tuple(filters), measure, column, attribute_to)


# --- compilation ----------------------------------------------------------------------------------

LOOKUP = {"eq": "", "gt": "__gt", "gte": "__gte", "lt": "__lt", "lte": "__lte", "in": "__in"}
LOOKUP.update({"startswith": "__startswith", "isnull": "__isnull"})


def county_codes() -> list[str]:
    from yigongti.institutions.models import Consortium

    return sorted(set(Consortium.objects.values_list("county_code", flat=True))) or ["-"]


def resolve(value: Any) -> Any:
    """A filter value with ``"$county"`` replaced by the county codes on file."""
    if value == COUNTY_VALUE:
        return county_codes()
    if isinstance(value, list) and COUNTY_VALUE in value:
        return sorted({*(v for v in value if v != COUNTY_VALUE), *county_codes()})
    return value


def filter_q(spec: Source, name: str, op: str, value: Any) -> Q:
    """One filter of a definition as a Q."""
    path = spec.fields[name].path
    value = resolve(value)
    if op in ("ne", "not_in"):
        many = op == "not_in" or isinstance(value, list)
        return ~Q(**{f"{path}__in" if many else path: value}) | Q(**{f"{path}__isnull": True})
    if op == "eq" and isinstance(value, list):
        return Q(**{f"{path}__in": value})
    if op == "contains":
        if connection.vendor == "postgresql":
            # JSON containment: the list holds the code (turning jsonb into text to match it
            # was most of the contracts' cube query)
            return Q(**{f"{path}__contains": [value]})
        # SQLite has no JSON containment: the code as a quoted JSON string inside the list's
        # text; codes are lower-case words, so the match is exact
        return Q(**{f"{path}__icontains": json.dumps(value)})
    return Q(**{f"{path}{LOOKUP[op]}": value})


def condition(definition: Definition, *, base: bool = True) -> Q:
    """The definition's filters as one Q (with the source's base condition unless ``base`` is
    False)."""
    spec = definition.spec
    q = spec.base() if spec.base and base else Q()
    for name, op, value in definition.filters:
        q &= filter_q(spec, name, op, value)
    return q


SHANGHAI = ZoneInfo(getattr(settings, "TIME_ZONE", "Asia/Shanghai"))


def month_bounds(month: dt.date) -> tuple[Any, Any]:
    """The month as [start, end) in the source's date type (aware datetimes in local time)."""
    nxt = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return month, nxt


def standing_q(definition: Definition, on: dt.date) -> Q:
    """An ``interval`` source's rows standing on the day ``on`` (started before it, and no end
    on or before it)."""
    spec = definition.spec
    q = Q(**{f"{spec.date_field}__lt": on})
    for path in spec.end_fields:
        q &= Q(**{f"{path}__isnull": True}) | Q(**{f"{path}__gte": on})
    return q


def rows(definition: Definition) -> QuerySet[Any] | None:
    """The source rows the definition selects (None: the source's app is not installed yet)."""
    model = definition.spec.model_class()
    if model is None:
        return None
    return model._default_manager.filter(condition(definition))


def date_range_q(definition: Definition, start: dt.date, end: dt.date) -> Q:
    """Rows dated in [start, end) (months, as dates); for an ``interval`` source, rows that
    start or end in it (the rows whose cells in those months their change can touch)."""
    spec = definition.spec
    name = spec.date_field
    if name is None:
        return Q()
    if spec.timing == "interval":
        q = Q(**{f"{name}__gte": start, f"{name}__lt": end})
        for path in spec.end_fields:
            q |= Q(**{f"{path}__gte": start, f"{path}__lt": end})
        return q
    if spec.timing == "annual":
        return Q(**{f"{name}__gte": start.year, f"{name}__lt": max(end.year, start.year + 1)})
    model = spec.model_class()
    is_datetime = model is not None and model._meta.get_field(name).get_internal_type() == "DateTimeField"
    if is_datetime:
        lo = dt.datetime.combine(start, dt.time(), SHANGHAI)
        hi = dt.datetime.combine(end, dt.time(), SHANGHAI)
        return Q(**{f"{name}__gte": lo, f"{name}__lt": hi})
    return Q(**{f"{name}__gte": start, f"{name}__lt": end})
