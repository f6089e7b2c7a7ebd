"""Batch linking for ``import_residents``: the whole index in memory, written chunk by chunk.

A million rows cannot afford a database round trip per row, so the linker loads the blocking
keys and features of every registration once, finds candidates in dictionaries (the same keys
and the same per-key cap as the real-time lookup), scores with the same ``engine.Model``, and
keeps each new registration in memory so that a later row of the same file links to it. Every
``chunk`` rows are written in ONE transaction (COPY on PostgreSQL, ``executemany`` on SQLite)
with one summary audit row (``writer``), so an interrupted import has written whole chunks only,
and a re-run finds those rows by their local record number and goes on from there
(``importer``: one file, start to end).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yigongti.core.errors import InvalidInput
from yigongti.institutions.choices import InstitutionKind
from yigongti.institutions.models import Institution

from ..models import ImportRun, Patient, Registration
from ..names import name_keys
from . import engine
from .engine import Features, Model
from .importing import RowProblem, SourceRow
from .index import (
    BLOCK_LIMIT,
    FEATURE_FIELDS,
    MAX_CANDIDATES,
    ActiveConfig,
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
from .writer import _link_values, _Writer

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
