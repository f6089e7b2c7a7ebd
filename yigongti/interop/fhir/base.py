"""The resource-type registry: one mapper per FHIR type over one of our tables.

A mapper says how a row reads as FHIR (``to_fhir``), which rows a caller may see
(``queryset``, always through the owning app's scoping), which search parameters it answers
(each turns a value into a ``Q``), which references ``_include`` follows, and, for the types we
accept, how a resource becomes a call to the owning app's service (``create``). The
CapabilityStatement is generated from this registry, so it claims exactly what is here.
"""

from __future__ import annotations

import datetime as dt
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yigongti.core.access import Scope

from .outcome import FhirError, Issue

#: Our own code systems and identifier namespaces (documented in docs/interop.md).
YGT = "https://yigongti.org/fhir"
OID_ID_NUMBER = "urn:oid:2.16.156.10011.1.3"
OID_OUTPATIENT = "urn:oid:2.16.156.10011.1.11"
OID_INPATIENT = "urn:oid:2.16.156.10011.1.12"
OID_INSURANCE = "urn:oid:2.16.156.10011.1.15"
SID_HEALTH_RECORD = f"{YGT}/sid/health-record-number"
SID_INSTITUTION = f"{YGT}/sid/institution-code"
SID_LOCAL_RECORD = f"{YGT}/sid/local-record-number"
SID_EMPLOYEE = f"{YGT}/sid/employee-number"


@dataclass
class Ctx:
    """Who is asking, in which scope, and the absolute base URL of the facade."""

    user: Any
    scope: Scope
    base: str

    @property
    def membership(self) -> Any:
        return self.scope.membership


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # token | string | date | reference | number
    doc: str
    to_q: Callable[[str, str], Q]  # (value, modifier) -> condition
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Include:
    """``_include=<Source>:<param>``: the target type and the target ids of some rows."""

    param: str
    target: str
    ids: Callable[[list[Any]], set[str]]


class EntryFailed(Exception):
    """Entry ``index`` of a many-resource write (``create_many``) failed with ``error``."""

    def __init__(self, index: int, error: FhirError) -> None:
        super().__init__(index, error)
        self.index = index
        self.error = error


@dataclass
class Written:
    """What a create did: the row, whether a new resource exists (201) or an existing one was
    used (200), and information for the client (the master index's decision)."""

    row: Any
    created: bool
    issues: list[Issue] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


class ResourceType(ABC):
    """Base of every mapper; subclasses fill the class attributes and override methods."""

    name: ClassVar[str] = ""
    model: ClassVar[type[Model]]
    interactions: ClassVar[tuple[str, ...]] = ("read", "search-type")
    conditional_create: ClassVar[bool] = False
    exportable: ClassVar[bool] = True
    documentation: ClassVar[str] = ""
    #: Elements a create accepts (top level); everything else is refused by name.
    accepted: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        self.search_params: dict[str, SearchParam] = {
            "_id": SearchParam("_id", "token", "Logical id", self.id_q),
            **{p.name: p for p in self.params()},
        }
        self.includes: dict[str, Include] = {f"{self.name}:{i.param}": i for i in self.include_list()}

    # -- to override ----------------------------------------------------------------------------
    def params(self) -> list[SearchParam]:
        return []

    def include_list(self) -> list[Include]:
        return []

    @abstractmethod
    def queryset(self, ctx: Ctx) -> QuerySet[Any]:
        """The rows of this type the caller may see."""

    @abstractmethod
    def to_fhir(self, row: Any, ctx: Ctx) -> dict[str, Any]:
        """The FHIR resource for one row."""

    def id_of(self, row: Any) -> str:
        return str(row.pk)

    def id_q(self, value: str, modifier: str = "") -> Q:
        return int_q("pk", value)

    def order(self) -> tuple[str, ...]:
        return ("pk",)

    def create(self, ctx: Ctx, resource: dict[str, Any]) -> Written:
        raise FhirError(405, "not-supported", _("Creating this resource type is not supported."))

    def create_many(self, ctx: Ctx, resources: list[dict[str, Any]]) -> list[Written]:
        """Several creates in the caller's transaction, in order (a type that can do better, such
        as Patient, overrides it); a failure raises ``EntryFailed`` naming the resource."""
        out = []
        for i, resource in enumerate(resources):
            try:
                out.append(self.create(ctx, resource))
            except FhirError as exc:
                raise EntryFailed(i, exc) from None
        return out

    def update(self, ctx: Ctx, resource_id: str, resource: dict[str, Any]) -> Written:
        raise FhirError(405, "not-supported", _("Updating this resource type is not supported."))

    def prepare(self, ctx: Ctx, rows: list[Any]) -> None:  # noqa: B027 - optional hook
        """Load, for many rows at once, what ``to_fhir`` shows beyond each row itself (called
        before rows are turned into resources; ``to_fhir`` must still work without it)."""

    def after_read(self, ctx: Ctx, rows: list[Any]) -> None:  # noqa: B027 - optional hook
        """Audit hook for reads of personal data (a no-op for reference data)."""

    def export_queryset(self, ctx: Ctx, patient_ids: set[int] | None) -> QuerySet[Any] | None:
        """Rows for ``$export``; at Patient level only rows of those residents (None: not in
        the Patient compartment)."""
        return self.queryset(ctx) if patient_ids is None else None

    # -- shared ---------------------------------------------------------------------------------
    def get(self, ctx: Ctx, resource_id: str) -> Any:
        row = self.queryset(ctx).filter(self.id_q(resource_id)).first()
        if row is None:
            raise FhirError(
                404,
                "not-found",
                _("%(type)s/%(id)s is not known, or is outside your scope.")
                % {"type": self.name, "id": resource_id[:64]},
            )
        return row

    def meta(self, row: Any) -> dict[str, Any]:
        updated = getattr(row, "updated_at", None)
        return {"lastUpdated": instant(updated)} if updated else {}

    def refuse_unknown(self, resource: dict[str, Any]) -> None:
        """Refuse, naming them, the top-level elements a create does not keep."""
        ignored = {"resourceType", "id", "meta", "text"}
        bad = sorted(k for k in resource if k not in self.accepted and k not in ignored)
        if bad:
            raise FhirError(
                422,
                "not-supported",
                _("These elements are not supported here and would be lost: %(names)s.")
                % {"names": ", ".join(f"{self.name}.{k.lstrip('_')}" for k in bad)},
                issues=[
                    Issue(
                        "error",
                        "not-supported",
                        _("The element %(name)s is not supported.")
                        % {"name": f"{self.name}.{k.lstrip('_')}"},
                        [f"{self.name}.{k.lstrip('_')}"],
                    )
                    for k in bad
                ],
            )


def instant(value: dt.datetime) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


def coding(system: str, code: str, display: str = "") -> dict[str, Any]:
    data = {"system": system, "code": code}
    if display:
        data["display"] = display
    return data


def int_id(value: str) -> int | None:
    """The integer a logical id names, or None when it can name no row of ours (not ASCII
    digits, which ``str.isdigit`` alone lets through as ², or too long for a key)."""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 18 else None


def int_q(field_name: str, value: str) -> Q:
    """Rows whose ``field_name`` is the id ``value`` names (none when it names no row)."""
    ident = int_id(value)
    return Q(**{field_name: ident}) if ident is not None else Q(pk__in=[])


def split_token(value: str) -> tuple[str | None, str]:
    """``system|code`` → (system, code); ``code`` → (None, code); ``|code`` → ('', code)."""
    if "|" in value:
        system, code = value.split("|", 1)
        return system, code
    return None, value


def reference_id(value: str, target: str) -> str:
    """The id of a reference search value (``Type/id``, an absolute URL, or a bare id)."""
    value = value.rstrip("/")
    parts = value.split("/")
    if len(parts) >= 2 and parts[-2] == target:
        return parts[-1]
    if len(parts) == 1:
        return value
    return ""


_DATE = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(\d{4})(?:-(\d{2})(?:-(\d{2})(T[0-9:.+\-Z]*)?)?)?$")


def date_range(value: str) -> tuple[str, dt.date, dt.date]:
    """A FHIR date search value → (prefix, first day, day after the last) at its precision."""
    m = _DATE.match(value)
    if not m:
        raise FhirError(400, "invalid", _("Not a FHIR date search value: %(value)s") % {"value": value[:40]})
    prefix = m.group(1) or "eq"
    year, month, day = int(m.group(2)), m.group(3), m.group(4)
    try:
        if day:
            start = dt.date(year, int(month), int(day))
            end = start + dt.timedelta(days=1)
        elif month:
            start = dt.date(year, int(month), 1)
            end = dt.date(year + (start.month == 12), start.month % 12 + 1, 1)
        else:
            start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    except ValueError:
        raise FhirError(
            400, "invalid", _("Not a FHIR date search value: %(value)s") % {"value": value[:40]}
        ) from None
    return prefix, start, end


def date_q(field_name: str, value: str, *, is_datetime: bool = False) -> Q:
    prefix, start, end = date_range(value)
    lo: Any = start
    hi: Any = end
    if is_datetime:
        zone = timezone.get_current_timezone()
        lo = dt.datetime.combine(start, dt.time(), tzinfo=zone)
        hi = dt.datetime.combine(end, dt.time(), tzinfo=zone)
    f = field_name
    conditions = {
        "eq": Q(**{f"{f}__gte": lo, f"{f}__lt": hi}),
        "ne": ~Q(**{f"{f}__gte": lo, f"{f}__lt": hi}),
        "gt": Q(**{f"{f}__gte": hi}),
        "sa": Q(**{f"{f}__gte": hi}),
        "ge": Q(**{f"{f}__gte": lo}),
        "lt": Q(**{f"{f}__lt": lo}),
        "eb": Q(**{f"{f}__lt": lo}),
        "le": Q(**{f"{f}__lt": hi}),
    }
    if prefix not in conditions:
        raise FhirError(
            400, "not-supported", _("The date prefix %(prefix)s is not supported.") % {"prefix": prefix}
        )
    return conditions[prefix]


def string_q(fields: Iterable[str], value: str, modifier: str) -> Q:
    """FHIR string search: starts-with by default, ``:contains``, ``:exact``."""
    lookup = {"": "istartswith", "contains": "icontains", "exact": "exact"}.get(modifier)
    if lookup is None:
        raise FhirError(
            400, "not-supported", _("The modifier :%(m)s is not supported here.") % {"m": modifier}
        )
    condition = Q()
    for name in fields:
        condition |= Q(**{f"{name}__{lookup}": value})
    return condition


class Registry:
    def __init__(self) -> None:
        self.types: dict[str, ResourceType] = {}

    def add(self, mapper: ResourceType) -> None:
        self.types[mapper.name] = mapper

    def get(self, name: str) -> ResourceType:
        mapper = self.types.get(name)
        if mapper is None:
            raise FhirError(
                404, "not-supported", _("The resource type %(type)s is not supported.") % {"type": name[:64]}
            )
        return mapper


registry = Registry()
