"""Batch linking for ``import_residents``: the whole index in memory, written chunk by chunk.

A million rows cannot afford a database round trip per row, so the linker loads the blocking
keys and features of every registration once, finds candidates in dictionaries (the same keys
and the same per-key cap as the real-time lookup), scores with the same ``engine.Model``, and
keeps each new registration in memory so that a later row of the same file links to it. Every
``chunk`` rows are written in ONE transaction (COPY on PostgreSQL, ``executemany`` on SQLite)
with one summary audit row, so an interrupted import has written whole chunks only, and a
re-run finds those rows by their local record number and goes on from there.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import hashlib
import itertools
import json
import multiprocessing
import os
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yigongti.core.audit import audit
from yigongti.core.errors import InvalidInput
from yigongti.institutions.choices import InstitutionKind
from yigongti.institutions.models import Institution

from ..models import ImportRun, MatchReview, Patient, PatientNameKey, Registration
from ..names import name_keys
from ..services import REGISTRATION_COLUMNS as FILING_COLUMNS
from . import engine, importing
from .engine import Features, Model
from .importing import RowProblem, SourceRow
from .index import (
    BLOCK_LIMIT,
    FEATURE_FIELDS,
    MAX_CANDIDATES,
    ActiveConfig,
    active_config,
    registration_features,
)
from .services import (
    MAX_REVIEWS,
    clean_birth_date,
    clean_name,
    clean_sex,
    fill_golden,
    village_from_address,
    village_keys,
)

KEY_COLUMNS = ("id_number", "id_tail", "phone", "name_key", "birth_key")


@dataclass(slots=True)
class Outcome:
    """What became of one input row (``patient_id`` is set once its chunk is written)."""

    line: int
    source_id: str
    decision: str  # new, linked, review, rejected
    patient: int = -1  # internal patient index
    patient_id: int | None = None
    reason: str = ""


@dataclass(slots=True)
class NewRegistration:
    outcome: Outcome
    row: SourceRow
    birth: dt.date | None
    sex: str
    name: str
    id_number: str
    id_problem: str
    village_id: int | None
    f: Features
    keys: engine.StoredKeys
    probability: float | None
    explanation: dict[str, Any]
    name_rows: list[tuple[str, str]]


@dataclass(slots=True)
class Pending:
    """One chunk's writes, applied together."""

    registrations: list[NewRegistration] = field(default_factory=list)
    new_patients: list[int] = field(default_factory=list)  # internal indices
    reviews: list[tuple[int, int, int, float, dict[str, Any]]] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)  # internal indices of patients whose golden record changed


class CleanRow(NamedTuple):
    name: str
    sex: str
    birth: dt.date | None
    number: str
    problem: str
    village_id: int | None
    f: Features
    stored: engine.StoredKeys
    name_rows: list[tuple[str, str]]  # the name's search keys, for a new resident


def clean_row(
    row: SourceRow, village_code: dict[int, str], villages: list[tuple[str, int]] | None = None
) -> CleanRow:
    """Validate one file row (InvalidInput names the problem). A row without a name is kept when
    a valid ID number identifies the person; a name of digits only is refused."""
    if len(row.source_id) > 40:
        raise InvalidInput(_("The source_id is longer than 40 characters."), field="source_id")
    if len(row.id_number) > 32 or len(row.phone) > 20 or len(row.address) > 200:
        raise InvalidInput(_("A field is longer than allowed."))
    sex = clean_sex(row.sex)
    try:
        birth = dt.date.fromisoformat(row.birth_date) if row.birth_date else None
    except ValueError:
        raise InvalidInput(_("The birth date is impossible."), field="birth_date") from None
    today = timezone.localdate()
    birth = clean_birth_date(birth, today)
    number, problem = engine.normalise_id(row.id_number)
    name = clean_name(row.name) if row.name.strip() or not number or problem else ""
    village_id = village_from_address(row.address, villages)
    f = engine.features(
        name=name,
        sex=sex,
        birth_date=birth,
        id_number=number,
        phone=row.phone,
        village=village_code.get(village_id, "") if village_id else "",
        id_checked=(number, problem),
    )
    if f.birth_date is not None and f.birth_date > today:
        raise InvalidInput(_("The birth date in the ID number is out of range."), field="id_number")
    return CleanRow(name, sex, birth, number, problem, village_id, f, engine.stored_keys(f), name_keys(name))


def row_features(row: SourceRow, village_code: dict[int, str]) -> Features | None:
    """Features of a row that ``import_residents`` would accept, else None (for training)."""
    try:
        return clean_row(row, village_code).f
    except InvalidInput:
        return None


def _signature(name: str, sex: str, birth: str, id_number: str, phone: str, address: str) -> str:
    return "\x1f".join((name, sex, birth, id_number, phone, address))


class BatchLinker:
    """Links rows against the index and against each other; see the module docstring."""

    def __init__(
        self, *, institution: Institution, config: ActiveConfig, run: ImportRun | None = None
    ) -> None:
        self.institution = institution
        self.config = config
        self.model: Model = config.model
        self.run = run
        self.blocks: tuple[dict[str, list[int]], ...] = tuple({} for _ in KEY_COLUMNS)
        self.reg_patient: list[int] = []
        self.reg_features: list[Features] = []
        self.patient_regs: list[list[int]] = []
        self.patient_ids: list[int | None] = []
        self.internal: dict[int, int] = {}
        self.golden: dict[int, dict[str, Any]] = {}  # internal index -> golden fields (new or touched)
        self.name_counts: Counter[str] = Counter()
        self.total = 0
        self.known: dict[str, tuple[int, str, str]] = {}
        self.seen: dict[str, int] = {}
        self.used_ids: set[str] = set()
        self.village_code: dict[int, str] = dict(
            Institution.objects.filter(kind=InstitutionKind.VILLAGE_CLINIC).values_list("pk", "code")
        )
        self.village_by_code = {code: pk for pk, code in self.village_code.items()}
        self.village_keys = village_keys()
        self.pending = Pending()
        # a resumed run goes on counting where the interrupted one stopped
        self.counts: Counter[str] = Counter(run.counts if run is not None else {})
        self.resumed_from = run.rows_done if run is not None else 0
        self.hrn_counters: dict[int, int] = {}

    # --- loading ------------------------------------------------------------------------------

    def load(self, progress: Any = None) -> int:
        """Read every registration's features and keys, residents' names, and this institution's
        local record numbers (for idempotent re-runs). Returns the registrations loaded."""
        loaded = 0
        qs = Registration.objects.filter(patient__merged_into__isnull=True).values(*FEATURE_FIELDS).order_by()
        for row in qs.iterator(chunk_size=20000):
            self._add_registration(self._patient_index(row["patient_id"]), registration_features(row))
            loaded += 1
            if progress is not None and loaded % 50000 == 0:
                progress(loaded)
        names = Patient.objects.filter(merged_into__isnull=True).values_list("name", flat=True).order_by()
        for name in names.iterator(chunk_size=20000):
            self.name_counts[engine.simplified(name)] += 1
            self.total += 1
        ids = Patient.objects.exclude(id_number=None).values_list("id_number", flat=True).order_by()
        self.used_ids.update(n for n in ids.iterator(chunk_size=20000) if n)
        mine = Registration.objects.filter(institution=self.institution).values_list(
            "local_number",
            "patient_id",
            "decision",
            "name",
            "sex",
            "birth_date",
            "id_number_entered",
            "phone",
            "address",
        )
        for local, pid, decision, name, sex, birth, entered, phone, address in mine.order_by().iterator(
            chunk_size=20000
        ):
            birth_text = birth.isoformat() if birth else ""
            self.known[local] = (pid, decision, _signature(name, sex, birth_text, entered, phone, address))
        return loaded

    def _patient_index(self, db_id: int) -> int:
        index = self.internal.get(db_id)
        if index is None:
            index = len(self.patient_ids)
            self.patient_ids.append(db_id)
            self.patient_regs.append([])
            self.internal[db_id] = index
        return index

    def _add_registration(
        self, patient: int, f: Features, keys: engine.StoredKeys | None = None
    ) -> engine.StoredKeys:
        index = len(self.reg_features)
        self.reg_features.append(f)
        self.reg_patient.append(patient)
        self.patient_regs[patient].append(index)
        keys = keys if keys is not None else engine.stored_keys(f)
        for block, value in zip(self.blocks, (getattr(keys, c) for c in KEY_COLUMNS), strict=True):
            if value:
                entries = block.get(value)
                if entries is None:
                    block[value] = [index]
                elif len(entries) < BLOCK_LIMIT:
                    entries.append(index)
        return keys

    # --- matching -----------------------------------------------------------------------------

    def _name_share(self, name: str) -> float | None:
        return self.model.name_share(self.name_counts.get(name, 0), max(self.total, 1)) if name else None

    def candidates(self, f: Features) -> list[engine.Candidate]:
        probe = engine.probe_keys(f)
        hits: Counter[int] = Counter()
        for block, column in zip(self.blocks, KEY_COLUMNS, strict=True):
            for value in getattr(probe, column):
                for reg in block.get(value, ()):
                    hits[self.reg_patient[reg]] += 1
        patients = [p for p, _n in hits.most_common(MAX_CANDIDATES)]
        stored = ((p, self.reg_features[r]) for p in patients for r in self.patient_regs[p])
        return engine.best_per_patient(self.model, f, stored, self._name_share)

    def link(self, row: SourceRow | RowProblem, cleaned: CleanRow | str | None = None) -> Outcome:
        """Decide one row and queue its writes; a bad row gives a ``rejected`` outcome.

        ``cleaned`` is ``clean_row(row)`` (or its error message) when a preparing process did it.
        """
        if isinstance(row, RowProblem):
            return self._reject(row.line, row.source_id, row.reason)
        if not row.source_id:
            return self._reject(row.line, "", _("The source_id is empty."))
        first = self.seen.get(row.source_id)
        if first is not None:
            return self._reject(
                row.line, row.source_id, _("Duplicate source_id (first on line %(line)s).") % {"line": first}
            )
        self.seen[row.source_id] = row.line
        if isinstance(cleaned, str):
            return self._reject(row.line, row.source_id, cleaned)
        try:
            prepared = self._prepare(row, cleaned)
        except InvalidInput as error:
            return self._reject(row.line, row.source_id, str(error.message))
        if isinstance(prepared, Outcome):
            return prepared
        return self._decide(*prepared)

    def _reject(self, line: int, source_id: str, reason: str) -> Outcome:
        if line > self.resumed_from:
            self.counts["rejected"] += 1
        return Outcome(line, source_id, "rejected", reason=reason)

    def _prepare(
        self, row: SourceRow, cleaned: CleanRow | None
    ) -> Outcome | tuple[SourceRow, Features, NewRegistration]:
        c = cleaned if cleaned is not None else clean_row(row, self.village_code, self.village_keys)
        known = self.known.get(row.source_id)
        if known is not None:
            birth_text = c.birth.isoformat() if c.birth else ""
            if known[2] != _signature(c.name, c.sex, birth_text, row.id_number, row.phone, row.address):
                raise InvalidInput(
                    _("This source_id was imported before with other details."), field="source_id"
                )
            if row.line > self.resumed_from:  # rows of the interrupted run are already counted
                self.counts["unchanged"] += 1
            return Outcome(row.line, row.source_id, known[1], patient_id=known[0])
        name, sex, birth, number, problem, village_id, f, stored, name_rows = c
        outcome = Outcome(row.line, row.source_id, "new")
        reg = NewRegistration(
            outcome,
            row,
            birth,
            sex,
            name,
            number if not problem else "",
            problem,
            village_id,
            f,
            stored,
            None,
            {},
            name_rows,
        )
        return row, f, reg

    def _decide(self, row: SourceRow, f: Features, reg: NewRegistration) -> Outcome:
        ranked = self.candidates(f)
        decision = engine.decision_for(self.model, ranked)
        outcome = reg.outcome
        outcome.decision = decision
        reg.probability = ranked[0].scored.probability if ranked else None
        reg.explanation = {
            "config_version": self.config.version,
            "decision": decision,
            "candidates": [
                {"patient_id": c.patient_id, **c.scored.explanation()}  # internal index until written
                for c in ranked[:MAX_REVIEWS]
            ],
        }
        if decision == "linked":
            patient = ranked[0].patient_id
            self._touch(patient, reg)
        else:
            patient = self._new_patient(reg, f)
            if decision == "review":
                for c in ranked[:MAX_REVIEWS]:
                    if c.scored.probability >= self.model.review:
                        self.pending.reviews.append(
                            (
                                len(self.pending.registrations),
                                patient,
                                c.patient_id,
                                c.scored.probability,
                                c.scored.explanation(),
                            )
                        )
        outcome.patient = patient
        self._add_registration(patient, f, reg.keys)
        self.pending.registrations.append(reg)
        self.counts[decision] += 1
        return outcome

    def _new_patient(self, reg: NewRegistration, f: Features) -> int:
        index = len(self.patient_ids)
        self.patient_ids.append(None)
        self.patient_regs.append([])
        number = reg.id_number if reg.id_number and reg.id_number not in self.used_ids else None
        if number:
            self.used_ids.add(number)
        self.golden[index] = {
            "id_number": number,
            "name": reg.name,
            "_name_rows": (reg.name, reg.name_rows),
            "sex": f.sex,
            "birth_date": f.birth_date,
            "phone": f.phone,
            "village_id": reg.village_id,
            "address": reg.row.address[:200],
            "health_record_number": None,
        }
        self.pending.new_patients.append(index)
        self.name_counts[f.name] += 1
        self.total += 1
        return index

    def _touch(self, patient: int, reg: NewRegistration) -> None:
        """Queue a golden-record update for a linked resident (applied at the chunk's write)."""
        self.pending.touched.add(patient)
        golden = self.golden.get(patient)
        if golden is not None:  # created in this run: apply now, in row order
            changed = fill_golden(golden, _link_values(reg), used=self.used_ids)
            if "id_number" in changed:
                self.used_ids.add(golden["id_number"])

    # --- writing ------------------------------------------------------------------------------

    def flush(self, outcomes: list[Outcome]) -> None:
        """Write the pending chunk in one transaction and fill in the outcomes' patient ids."""
        pending = self.pending
        self.pending = Pending()
        if pending.registrations:
            with transaction.atomic():
                _Writer(self, pending).write()
        for outcome in outcomes:
            if outcome.patient >= 0:
                outcome.patient_id = self.patient_ids[outcome.patient]
        for index in pending.new_patients:  # written: later links read them back like any resident
            self.golden.pop(index, None)


def _link_values(reg: NewRegistration) -> dict[str, Any]:
    return {
        "name": reg.name,
        "id_number": reg.id_number,
        "birth_date": reg.f.birth_date,
        "sex": reg.f.sex,
        "phone": reg.f.phone,
        "village_id": reg.village_id,
        "address": reg.row.address.strip()[:200],
    }


PATIENT_COLUMNS = (
    "id",
    "health_record_number",
    "id_number",
    "name",
    "sex",
    "birth_date",
    "phone",
    "relation_to_head",
    "village_id",
    "address",
    "created_at",
    "updated_at",
)

#: The filing loader's columns (``patients.services``), with the key and the decision's details.
REGISTRATION_COLUMNS = ("id", *FILING_COLUMNS, "probability", "config_id")

REVIEW_COLUMNS = (
    "registration_id",
    "patient_id",
    "candidate_id",
    "probability",
    "explanation",
    "status",
    "created_at",
    "updated_at",
)


class _Writer:
    """Writes one chunk: ids first, then patients, name keys, registrations, reviews, updates."""

    def __init__(self, linker: BatchLinker, pending: Pending) -> None:
        self.linker = linker
        self.pending = pending
        self.pg = connection.vendor == "postgresql"
        self.now = timezone.now()

    def _ids(self, model: Any, count: int) -> list[int]:
        if count == 0:
            return []
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if self.pg:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [table, count],
                )
                return [r[0] for r in cursor.fetchall()]
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - constant name
            top = cursor.fetchone()[0]
            return list(range(top + 1, top + 1 + count))

    def _rows(self, table: str, columns: Iterable[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(columns)
        with connection.cursor() as cursor:
            if self.pg:
                with (
                    connection.wrap_database_errors,
                    cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
                return
            marks = ", ".join(["%s"] * len(rows[0]))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608

    def _value(self, value: Any) -> Any:
        if self.pg or value is None:
            return value
        if isinstance(value, dt.datetime):
            return connection.ops.adapt_datetimefield_value(value)
        if isinstance(value, dt.date):
            return connection.ops.adapt_datefield_value(value)
        return value

    def write(self) -> None:
        linker, pending = self.linker, self.pending
        ids = self._ids(Patient, len(pending.new_patients))
        for index, db_id in zip(pending.new_patients, ids, strict=True):
            linker.patient_ids[index] = db_id
            linker.internal[db_id] = index
        self._update_existing()
        self._numbers([linker.golden[i] for i in pending.new_patients])
        v = self._value
        now = v(self.now)
        patients: list[tuple[Any, ...]] = []
        keys: list[tuple[Any, ...]] = []
        for index in pending.new_patients:
            g = linker.golden[index]
            new_id = linker.patient_ids[index]
            patients.append(
                (
                    new_id,
                    g["health_record_number"],
                    g["id_number"],
                    g["name"],
                    g["sex"],
                    v(g["birth_date"]),
                    g["phone"],
                    "",
                    g["village_id"],
                    g["address"],
                    now,
                    now,
                )
            )
            named, rows = g["_name_rows"]
            keys.extend(
                (new_id, kind, key) for kind, key in (rows if named == g["name"] else name_keys(g["name"]))
            )
        self._rows(Patient._meta.db_table, PATIENT_COLUMNS, patients)
        self._rows(PatientNameKey._meta.db_table, ("patient_id", "kind", "key"), keys)
        reg_ids = self._ids(Registration, len(pending.registrations))
        config_id = linker.config.row.pk if linker.config.row is not None else None
        regs = []
        for reg, reg_id in zip(pending.registrations, reg_ids, strict=True):
            r = reg.row
            regs.append(
                (
                    reg_id,
                    linker.patient_ids[reg.outcome.patient],
                    linker.institution.pk,
                    r.source_id,
                    "import",
                    reg.name,
                    reg.sex,
                    v(reg.birth),
                    r.id_number,
                    reg.id_number,
                    reg.id_problem,
                    r.phone[:20],
                    r.address[:200],
                    reg.village_id,
                    "",
                    "",
                    reg.outcome.decision,
                    json.dumps(self._resolved(reg.explanation), ensure_ascii=False),
                    reg.keys.id_tail,
                    reg.keys.name_key,
                    reg.keys.birth_key,
                    now,
                    now,
                    reg.probability,
                    config_id,
                )
            )
        self._rows(Registration._meta.db_table, REGISTRATION_COLUMNS, regs)
        reviews = [
            (
                reg_ids[position],
                linker.patient_ids[patient],
                linker.patient_ids[candidate],
                probability,
                json.dumps(explanation, ensure_ascii=False),
                "open",
                now,
                now,
            )
            for position, patient, candidate, probability, explanation in pending.reviews
        ]
        self._rows(MatchReview._meta.db_table, REVIEW_COLUMNS, reviews)
        counts = Counter(reg.outcome.decision for reg in pending.registrations)
        if linker.run is not None:
            linker.run.rows_done = max(reg.outcome.line for reg in pending.registrations)
            linker.run.counts = dict(linker.counts)
            linker.run.save(update_fields=["rows_done", "counts", "updated_at"])
        audit(
            actor=None,
            verb="patient.import_chunk",
            subject=linker.run,
            object_type=None if linker.run else "patients.importrun",
            after={
                "institution_id": linker.institution.pk,
                "registrations": len(regs),
                "new": counts.get("new", 0),
                "linked": counts.get("linked", 0),
                "review": counts.get("review", 0),
                "lines": [pending.registrations[0].outcome.line, pending.registrations[-1].outcome.line],
            },
            institution_id=linker.institution.pk,
        )

    def _resolved(self, explanation: dict[str, Any]) -> dict[str, Any]:
        """The explanation with the candidates' internal indices replaced by their patient ids
        (a candidate filed earlier in the same chunk has its id only now)."""
        ids = self.linker.patient_ids
        candidates = [{**c, "patient_id": ids[c["patient_id"]]} for c in explanation["candidates"]]
        return {**explanation, "candidates": candidates}

    def _update_existing(self) -> None:
        """Golden-record updates of residents written before this chunk and linked in it."""
        linker, pending = self.linker, self.pending
        new = set(pending.new_patients)
        loaded = {i for i in pending.touched if i not in new and i not in linker.golden}
        rows: dict[int, dict[str, Any]] = {}
        if loaded:
            db_ids = [linker.patient_ids[i] for i in loaded]
            rows = {p.pop("id"): p for p in Patient.objects.filter(pk__in=db_ids).values("id", *GOLDEN_KEYS)}
            for reg in pending.registrations:
                if reg.outcome.decision == "linked" and reg.outcome.patient in loaded:
                    golden = rows[linker.patient_ids[reg.outcome.patient]]  # type: ignore[index]
                    if "id_number" in fill_golden(golden, _link_values(reg), used=linker.used_ids):
                        linker.used_ids.add(golden["id_number"])
        for index in pending.touched:
            if index not in new and index in linker.golden:  # created by an earlier chunk of this run
                rows[linker.patient_ids[index]] = linker.golden[index]  # type: ignore[index]
        self._numbers(list(rows.values()))
        if not rows:
            return
        sets = ", ".join(f"{c} = %s" for c in GOLDEN_KEYS)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {Patient._meta.db_table} SET {sets}, updated_at = %s WHERE id = %s",  # noqa: S608
                [
                    [self._value(g[c]) for c in GOLDEN_KEYS] + [self._value(self.now), pid]
                    for pid, g in rows.items()
                ],
            )

    def _numbers(self, goldens: list[dict[str, Any]]) -> None:
        """Health-record numbers for residents who now have a village but no number yet.

        Each village's last number is read once per import and counted on in memory: a desk
        registration in the same village during the import can take a number the import has
        planned, and the chunk then fails on the unique number; re-running resumes there.
        """
        counters = self.linker.hrn_counters
        for golden in goldens:
            village_id = golden["village_id"]
            if not village_id or golden["health_record_number"]:
                continue
            prefix = self.linker.village_code[village_id][:12]
            person = counters.get(village_id)
            if person is None:
                top = (
                    Patient.objects.filter(
                        health_record_number__gte=f"{prefix}00000", health_record_number__lte=f"{prefix}99999"
                    )
                    .order_by("-health_record_number")
                    .values_list("health_record_number", flat=True)
                    .first()
                )
                person = int(top[12:]) if top else 0
            if person >= 99_999:
                continue  # the village's numbers are used up: the resident stays without one
            person += 1
            counters[village_id] = person
            golden["health_record_number"] = f"{prefix}{person:05d}"


GOLDEN_KEYS = (
    "name",
    "health_record_number",
    "id_number",
    "sex",
    "birth_date",
    "phone",
    "village_id",
    "address",
)


# --- one file -----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    run: ImportRun | None
    resumed_from: int
    counts: Counter[str]
    rejected: list[Outcome]
    seconds: float
    rows: int


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def count_records(path: Path) -> int | None:
    """Lines in the file (an upper bound of its rows, for the progress bar); None for a Bundle."""
    if importing.file_kind(path) == "bundle":
        return None
    lines = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            lines += block.count(b"\n")
    return lines


def import_file(
    path: Path,
    *,
    institution: Institution,
    links_out: Path,
    chunk: int = 5000,
    on_row: Callable[[int], None] | None = None,
    on_load: Callable[[int], None] | None = None,
    parallel: bool | None = None,
) -> ImportReport:
    """Import ``path`` into the index at ``institution``; write ``links_out`` (one row per input
    row: source_id, patient_id, decision; rejected rows have no patient_id). Re-running the same
    file resumes after the last written chunk and changes nothing that was written."""
    started = time.perf_counter()
    rows = importing.read_rows(path)  # a bad header raises here, before anything is written
    # Millions of small, acyclic objects (features, keys, block lists) make the cyclic garbage
    # collector rescan the whole heap again and again: freeze what exists and collect rarely.
    gc.collect()
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(200_000, 50, 1000)
    try:
        return _import(
            path,
            rows,
            institution=institution,
            links_out=links_out,
            chunk=chunk,
            on_row=on_row,
            on_load=on_load,
            started=started,
            parallel=parallel,
        )
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _import(
    path: Path,
    rows: Iterator[SourceRow | RowProblem],
    *,
    institution: Institution,
    links_out: Path,
    chunk: int,
    on_row: Callable[[int], None] | None,
    on_load: Callable[[int], None] | None,
    started: float,
    parallel: bool | None,
) -> ImportReport:
    first = next(rows, None)
    sha = file_sha256(path)
    run = (
        ImportRun.objects.filter(file_sha256=sha, institution=institution, finished_at__isnull=True)
        .order_by("-pk")
        .first()
    )
    resumed_from = run.rows_done if run is not None else 0
    linker = BatchLinker(institution=institution, config=active_config(), run=run)
    linker.load(on_load)
    part = links_out.with_name(links_out.name + ".part")
    outcomes: list[Outcome] = []
    rejected: list[Outcome] = []
    total = 0
    with part.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("source_id", "patient_id", "decision"))

        def flush() -> None:
            if linker.run is None and linker.pending.registrations:
                linker.run = ImportRun.objects.create(
                    file_name=path.name[:255], file_sha256=sha, institution=institution
                )
            linker.flush(outcomes)
            for outcome in outcomes:
                writer.writerow((outcome.source_id, outcome.patient_id or "", outcome.decision))
                if outcome.decision == "rejected":
                    rejected.append(outcome)
            outcomes.clear()

        stream = rows if first is None else itertools.chain([first], rows)
        if parallel is None:
            parallel = (os.cpu_count() or 1) > 1 and path.stat().st_size > PARALLEL_FROM_BYTES
        prepared = _prepared_elsewhere(path, linker) if parallel else ((row, None) for row in stream)
        for row, cleaned in prepared:
            outcomes.append(linker.link(row, cleaned))
            total += 1
            if on_row is not None:
                on_row(total)
            if len(linker.pending.registrations) >= chunk:
                flush()
        flush()
    part.replace(links_out)
    if linker.run is not None:
        with transaction.atomic():
            linker.run.finished_at = timezone.now()
            linker.run.counts = dict(linker.counts)
            linker.run.save(update_fields=["finished_at", "counts", "updated_at"])
            audit(
                actor=None,
                verb="patient.import",
                subject=linker.run,
                after={"file": path.name, "sha256": sha, "rows": total, **dict(linker.counts)},
                institution_id=institution.pk,
            )
    cache.delete("ygt:mpi:resident_total")
    return ImportReport(
        linker.run, resumed_from, linker.counts, rejected, time.perf_counter() - started, total
    )


# --- a second process reads and cleans the file -------------------------------------------------

#: Files larger than this are read and cleaned by a second process (``parallel=None``).
PARALLEL_FROM_BYTES = 2_000_000

#: Rows per message from the preparing process.
PREPARED_BATCH = 2000


def _prepare_in_child(
    path: Path, village_code: dict[int, str], villages: list[tuple[str, int]], conn: Connection
) -> None:
    """The preparing process: read the file, clean each row, send (row, CleanRow | error) batches.

    It never touches the database, and leaves with ``os._exit`` so that no inherited database
    connection is closed (and so broken) from here.
    """
    try:
        out: list[tuple[Any, Any]] = []
        for row in importing.read_rows(path):
            cleaned: CleanRow | str | None = None
            if isinstance(row, SourceRow) and row.source_id:
                try:
                    cleaned = clean_row(row, village_code, villages)
                except InvalidInput as error:
                    cleaned = str(error.message)
            out.append((row, cleaned))
            if len(out) >= PREPARED_BATCH:
                conn.send(out)
                out = []
        conn.send(out)
        conn.send(None)
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()
        os._exit(0)


def _prepared_elsewhere(path: Path, linker: BatchLinker) -> Iterator[tuple[Any, CleanRow | str | None]]:
    """Rows cleaned by a forked process while this one links and writes (two cores, two stages)."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_prepare_in_child, args=(path, linker.village_code, linker.village_keys, sender), daemon=True
    )
    child.start()
    sender.close()
    try:
        while True:
            try:
                batch = receiver.recv()
            except EOFError:
                raise RuntimeError("The process reading the file stopped unexpectedly.") from None
            if batch is None:
                return
            if isinstance(batch, tuple):
                raise RuntimeError(f"The process reading the file failed:\n{batch[1]}")
            yield from batch
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()
