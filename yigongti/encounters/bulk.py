"""The bulk path: many encounters from a file or an interface, in chunks of whole transactions.

Each row is checked by the same rules as a single write (``rules.clean``); a bad row becomes a
``RowError`` (line, field, message) and is skipped, the good rows of its chunk are written. Rows
carry ``external_id``: a row already imported under the same ``(source_system, external_id)`` is
compared and updated only if a value changed, so re-running a file (after an interruption, or
with corrections) never duplicates anything. New rows go in by COPY on PostgreSQL and one
``executemany`` elsewhere; each chunk writes one audit row (``encounter.import``: the counts and
the line range) and sends ``encounters_changed`` once, inside its transaction.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yigongti.core import idnumbers
from yigongti.core.access import scope_for
from yigongti.core.audit import audit
from yigongti.core.errors import Conflict, DomainError, InvalidInput
from yigongti.institutions.models import Department, Institution
from yigongti.patients.models import Patient

from .choices import EncounterSource
from .models import Encounter
from .rules import COLUMNS, Person, Place, clean
from .signals import Key, month_key, send_changed

DEFAULT_CHUNK = 5000
TRUE = frozenset({"1", "true", "t", "yes", "y", "是", "√"})
FALSE = frozenset({"0", "false", "f", "no", "n", "否", ""})


@dataclass(slots=True)
class RawEncounter:
    """One incoming encounter as text (a CSV row) or typed values (an interface).

    The patient is named by health-record number or ID number (exact identifiers only: no
    probabilistic linking here; given both, they must name the same resident); ``institution``
    and ``department`` are codes.
    """

    line: int
    external_id: str
    kind: str
    started_at: str | dt.datetime | None
    health_record_number: str = ""
    id_number: str = ""
    institution: str = ""
    department: str = ""
    admitted_on: str | dt.date | None = None
    discharged_on: str | dt.date | None = None
    is_tcm: str | bool = False
    total_cost: Any = None
    insurance_paid: Any = None
    out_of_pocket: Any = None
    diagnosis_code: str = ""
    residence_county_code: str = ""
    in_county: str | bool | None = None
    facility_name: str = ""
    facility_area_code: str = ""


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    external_id: str
    field: str | None
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0


# --- parsing text ------------------------------------------------------------------------------


def _datetime(value: str | dt.datetime | None, name: str) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    text = value.strip().replace("/", "-")
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            _("%(value)s is not a date and time (YYYY-MM-DD HH:MM).") % {"value": text[:30]}, field=name
        ) from None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _date(value: str | dt.date | None, name: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    text = value.strip().replace("/", "-")
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10]) if len(text) >= 10 else dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            _("%(value)s is not a date (YYYY-MM-DD).") % {"value": text[:30]}, field=name
        ) from None


def _flag(value: str | bool | None, name: str, *, empty: bool | None) -> bool | None:
    if value is None or isinstance(value, bool):
        return value if value is not None else empty
    text = value.strip().lower()
    if text == "":
        return empty
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise InvalidInput(_("Write 1 or 0 (yes or no)."), field=name)


# --- looking up --------------------------------------------------------------------------------


class Directory:
    """Institutions and departments by code, loaded once per import (a few thousand rows)."""

    def __init__(self) -> None:
        self.places: dict[str, Place] = {
            code: Place(pk, level, area)
            for pk, code, level, area in Institution.objects.values_list("pk", "code", "level", "area_code")
        }
        self.departments: dict[tuple[int, str], int] = {
            (inst, code): pk
            for pk, inst, code in Department.objects.values_list("pk", "institution_id", "code")
        }

    def place(self, code: str) -> Place | None:
        code = code.strip()
        if not code:
            return None
        found = self.places.get(code)
        if found is None:
            raise InvalidInput(
                _("Unknown institution code %(code)s.") % {"code": code[:20]}, field="institution"
            )
        return found

    def department(self, place: Place | None, code: str) -> tuple[int, int] | None:
        code = code.strip()
        if not code:
            return None
        pk = self.departments.get((place.pk, code)) if place is not None else None
        if pk is None or place is None:
            raise InvalidInput(
                _("Unknown department code %(code)s at this institution.") % {"code": code[:20]},
                field="department",
            )
        return pk, place.pk


def _person(row: RawEncounter, people: dict[str, Person]) -> Person:
    """The resident the row names, by health-record number and/or ID number."""
    hrn = (row.health_record_number or "").strip()
    number = idnumbers.normalize(row.id_number or "")
    if not hrn and not number:
        raise InvalidInput(_("The patient's health-record or ID number is required."), field="patient")
    by_hrn = people.get(hrn) if hrn else None
    by_id = people.get(number) if number else None
    if hrn and by_hrn is None:
        raise InvalidInput(
            _("Unknown patient %(number)s.") % {"number": hrn[:20]}, field="health_record_number"
        )
    if number and by_id is None:
        raise InvalidInput(_("Unknown patient %(number)s.") % {"number": number[:20]}, field="id_number")
    if by_hrn is not None and by_id is not None and by_hrn.pk != by_id.pk:
        raise InvalidInput(
            _("The health-record number and the ID number belong to different residents."), field="id_number"
        )
    person = by_hrn or by_id
    assert person is not None  # noqa: S101 - one of the two was given and found
    return person


def people_by_identifier(refs: Iterable[str]) -> dict[str, Person]:
    """Residents by health-record number or normalised ID number, merged ones resolved to the
    survivor. One query per chunk (plus one for survivors, rarely)."""
    refs = {r for r in refs if r}
    ids = {idnumbers.normalize(r) for r in refs if 15 <= len(r) <= 18}
    found: dict[str, Person] = {}
    merged: dict[str, int] = {}
    fields = ("pk", "health_record_number", "id_number", "merged_into_id", "village__area_code")
    # Two index probes: SQLite answers an OR of two IN lists by scanning the table.
    rows = [
        *Patient.objects.filter(health_record_number__in=refs).values_list(*fields),
        *Patient.objects.filter(id_number__in=ids).values_list(*fields),
    ]
    for pk, hrn, id_number, merged_into, area in rows:
        for key in (hrn, id_number):  # the same resident under both of their numbers
            if key:
                if merged_into:
                    merged[key] = merged_into
                else:
                    found[key] = Person(pk, area or "")
    if merged:
        survivors = {
            pk: Person(pk, area or "")
            for pk, area in Patient.objects.filter(pk__in=set(merged.values())).values_list(
                "pk", "village__area_code"
            )
        }
        for key, pk in merged.items():
            if pk in survivors:
                found[key] = survivors[pk]
    return found


# --- one chunk ---------------------------------------------------------------------------------


class _Chunk:
    def __init__(self, importer: _Importer, rows: Sequence[RawEncounter | RowError]) -> None:
        self.importer = importer
        self.rows = rows
        self.good: dict[str, tuple[int, dict[str, Any]]] = {}

    def check(self) -> None:
        imp = self.importer
        raw = [r for r in self.rows if isinstance(r, RawEncounter)]
        people = people_by_identifier(
            ref.strip() for r in raw for ref in (r.health_record_number, r.id_number) if ref
        )
        for row in self.rows:
            if isinstance(row, RowError):
                imp.report.errors.append(row)
                continue
            try:
                values = self._clean(row, people)
            except DomainError as exc:
                imp.report.errors.append(RowError(row.line, row.external_id, exc.field, str(exc.message)))
                continue
            self.good[values["external_id"]] = (row.line, values)

    def _clean(self, row: RawEncounter, people: dict[str, Person]) -> dict[str, Any]:
        imp = self.importer
        external_id = (row.external_id or "").strip()
        if not external_id:
            raise InvalidInput(_("Every imported encounter needs its external id."), field="external_id")
        person = _person(row, people)
        place = imp.directory.place(row.institution)
        return clean(
            person=person,
            place=place,
            department=imp.directory.department(place, row.department),
            kind=row.kind.strip() if isinstance(row.kind, str) else row.kind,
            started_at=_datetime(row.started_at, "started_at"),
            admitted_on=_date(row.admitted_on, "admitted_on"),
            discharged_on=_date(row.discharged_on, "discharged_on"),
            is_tcm=bool(_flag(row.is_tcm, "is_tcm", empty=False)),
            total_cost=row.total_cost,
            insurance_paid=row.insurance_paid,
            out_of_pocket=row.out_of_pocket,
            diagnosis_code=row.diagnosis_code,
            residence_county_code=row.residence_county_code,
            in_county=_flag(row.in_county, "in_county", empty=None),
            facility_name=row.facility_name,
            facility_area_code=row.facility_area_code,
            source=imp.source,
            source_system=imp.source_system,
            external_id=external_id,
            now=imp.now,
        )

    def write(self) -> None:
        imp = self.importer
        if not self.good:
            return
        existing = {
            row["external_id"]: row
            # ``exclude`` repeats the partial unique index's condition, so the planner uses it.
            for row in Encounter.objects.filter(
                source_system=imp.source_system, external_id__in=list(self.good)
            )
            .exclude(external_id="")
            .values("id", *COLUMNS)
        }
        new: list[dict[str, Any]] = []
        changed: list[tuple[int, dict[str, Any]]] = []
        keys: set[Key] = set()
        unchanged = 0
        for external_id, (_line, values) in self.good.items():
            old = existing.get(external_id)
            if old is None:
                new.append(values)
            elif any(old[c] != values[c] for c in COLUMNS):
                changed.append((old["id"], values))
                keys.add(month_key(old["institution_id"], old["started_at"]))
            else:
                unchanged += 1
                continue
            keys.add(month_key(values["institution_id"], values["started_at"]))
        lines = [line for line, _values in self.good.values()]
        try:
            with transaction.atomic():
                insert_rows(new)
                _update_rows(changed)
                if new or changed:
                    audit(
                        actor=imp.actor,
                        verb="encounter.import",
                        object_type="encounters.encounter",
                        after={
                            "source": imp.source,
                            "source_system": imp.source_system,
                            "created": len(new),
                            "updated": len(changed),
                            "unchanged": unchanged,
                            "lines": [min(lines), max(lines)],
                        },
                        membership=imp.membership,
                    )
                    send_changed(keys)
        except IntegrityError:
            raise Conflict(
                _("Another import wrote some of these encounters at the same time; run the import again."),
                field="external_id",
            ) from None
        imp.report.created += len(new)
        imp.report.updated += len(changed)
        imp.report.unchanged += unchanged


#: Positions of the date and time columns (SQLite needs them adapted; COPY takes Python values).
_DATETIMES = (COLUMNS.index("started_at"), len(COLUMNS), len(COLUMNS) + 1)
_DATES = (COLUMNS.index("admitted_on"), COLUMNS.index("discharged_on"))


def _adapted(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row as the SQLite driver wants it: datetimes as UTC text, dates as ISO text."""
    values = list(row)
    ops = connection.ops
    for i in _DATETIMES:
        if isinstance(values[i], dt.datetime):
            values[i] = ops.adapt_datetimefield_value(values[i])
    for i in _DATES:
        if values[i] is not None:
            values[i] = ops.adapt_datefield_value(values[i])
    return tuple(values)


def insert_rows(rows: Sequence[dict[str, Any]] | Sequence[tuple[Any, ...]]) -> int:
    """Insert checked rows (dicts keyed by ``COLUMNS``, or tuples in that order): COPY on
    PostgreSQL, one ``executemany`` elsewhere. The caller owns the transaction, the audit and the
    signal."""
    if not rows:
        return 0
    now = timezone.now()
    table = Encounter._meta.db_table
    columns = (*COLUMNS, "created_at", "updated_at")
    names = ", ".join(columns)
    tuples: Iterator[tuple[Any, ...]] = (
        (*(r[c] for c in COLUMNS), now, now) if isinstance(r, dict) else (*r, now, now) for r in rows
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in tuples:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks})",  # noqa: S608 - constant names
                [_adapted(row) for row in tuples],
            )
    return len(rows)


def _update_rows(changed: list[tuple[int, dict[str, Any]]]) -> None:
    if not changed:
        return
    objs = []
    for pk, values in changed:
        obj = Encounter(pk=pk, **values)
        obj.updated_at = timezone.now()
        objs.append(obj)
    Encounter.objects.bulk_update(objs, [*COLUMNS, "updated_at"], batch_size=500)


# --- the run -----------------------------------------------------------------------------------


class _Importer:
    def __init__(self, *, actor: Any, source: str, source_system: str, now: dt.datetime | None) -> None:
        if source not in EncounterSource.values:
            raise InvalidInput(_("Unknown source."), field="source")
        self.membership = None
        if actor is not None:
            scope = scope_for(actor)
            scope.require(scope.manages_consortium, _("Only the consortium office imports encounters."))
            self.membership = scope.membership
        self.actor = actor
        self.source = source
        self.source_system = (source_system or "").strip()[:40]
        self.now = now or timezone.now()
        self.directory = Directory()
        self.report = ImportReport()


def encounters_import(
    rows: Iterable[RawEncounter | RowError],
    *,
    actor: Any = None,
    source: str = EncounterSource.CSV,
    source_system: str = "",
    chunk: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
    now: dt.datetime | None = None,
) -> ImportReport:
    """Import ``rows`` (``RowError`` items are reader problems, reported as they are).

    ``actor`` None is the system (the command line); a user must be the consortium office.
    Each chunk is its own transaction: an interruption keeps the chunks written, and running the
    same rows again writes only what is missing or changed.
    """
    started = time.perf_counter()
    importer = _Importer(actor=actor, source=source, source_system=source_system, now=now)
    iterator = iter(rows)
    done = 0
    while True:
        batch = list(islice(iterator, max(1, chunk)))
        if not batch:
            break
        part = _Chunk(importer, batch)
        part.check()
        part.write()
        done += len(batch)
        importer.report.rows = done
        if on_progress is not None:
            on_progress(done)
    importer.report.seconds = time.perf_counter() - started
    return importer.report
