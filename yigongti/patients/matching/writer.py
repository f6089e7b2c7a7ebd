"""The batch linker's writes: one chunk of new residents, name keys, registrations, reviews and
golden-record updates in one transaction (COPY on PostgreSQL, ``executemany`` on SQLite).

Ids are taken before the rows are written (the sequence on PostgreSQL, the table's maximum on
SQLite, inside the transaction), so registrations and reviews can point at residents filed in
the same chunk.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.utils import timezone

from yigongti.core.audit import audit

from ..models import MatchReview, Patient, PatientNameKey, Registration
from ..names import name_keys
from ..services import REGISTRATION_COLUMNS as FILING_COLUMNS
from .services import (
    fill_golden,
)

if TYPE_CHECKING:
    from .batch import BatchLinker, NewRegistration, Pending


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
        self.villages: set[int | None] = set()  # whose residents counts this chunk changes

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
        self.villages.update(g["village_id"] for g in (linker.golden[i] for i in pending.new_patients))
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
        from ..signals import send_changed

        send_changed(self.villages)

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
            current = {
                p.pop("id"): p for p in Patient.objects.filter(pk__in=db_ids).values("id", *GOLDEN_KEYS)
            }
            for reg in pending.registrations:
                if reg.outcome.decision == "linked" and reg.outcome.patient in loaded:
                    pid = linker.patient_ids[reg.outcome.patient]
                    golden = current[pid]
                    changed = fill_golden(golden, _link_values(reg), used=linker.used_ids)
                    if changed:
                        rows[pid] = golden  # type: ignore[index]
                    if "id_number" in changed:
                        linker.used_ids.add(golden["id_number"])
        for index in pending.touched:
            if index not in new and index in linker.golden:  # created by an earlier chunk of this run
                rows[linker.patient_ids[index]] = linker.golden[index]  # type: ignore[index]
        self._numbers(list(rows.values()))
        if rows:
            self.villages.update(Patient.objects.filter(pk__in=rows).values_list("village_id", flat=True))
            self.villages.update(g.get("village_id") for g in rows.values())
            self._apply_golden(rows)

    def _apply_golden(self, rows: dict[int, dict[str, Any]]) -> None:
        """Write the golden fields: one UPDATE per row on SQLite; on PostgreSQL the rows are
        copied into a temporary table and applied by one ``UPDATE ... FROM`` (row-by-row
        updates were most of PostgreSQL's time in a million-row import)."""
        table = Patient._meta.db_table
        if not self.pg:
            sets = ", ".join(f"{c} = %s" for c in GOLDEN_KEYS)
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET {sets}, updated_at = %s WHERE id = %s",  # noqa: S608
                    [
                        [self._value(g[c]) for c in GOLDEN_KEYS] + [self._value(self.now), pid]
                        for pid, g in rows.items()
                    ],
                )
            return
        columns = ", ".join(GOLDEN_KEYS)
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.ygt_golden")
            shape = f"SELECT id, {columns} FROM {table} WITH NO DATA"  # noqa: S608 - constant names
            cursor.execute(f"CREATE TEMP TABLE ygt_golden ON COMMIT DROP AS {shape}")
        self._rows(
            "ygt_golden",
            ("id", *GOLDEN_KEYS),
            [(pid, *(g[c] for c in GOLDEN_KEYS)) for pid, g in rows.items()],
        )
        sets = ", ".join(f"{c} = t.{c}" for c in GOLDEN_KEYS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} p SET {sets}, updated_at = %s FROM ygt_golden t WHERE p.id = t.id",  # noqa: S608
                [self.now],
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
