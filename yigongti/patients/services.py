"""Writes for residents and households.

Bulk loads (the demo generator, a future import from a provincial platform) go through
``residents_bulk_insert``: a streamed load of millions of rows cannot afford one audit row and
one savepoint per resident, so that function writes no audit rows itself and its caller records
the whole load in one summary row in the same transaction. Every single-row change is audited
as usual.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import scope_for
from yigongti.core.audit import audit
from yigongti.core.errors import Conflict, InvalidInput
from yigongti.core.idnumbers import check_character

from .models import Household, Patient, PatientNameKey, Registration
from .names import name_keys

#: Rows per batch when reading back generated keys or writing key rows.
KEY_BATCH = 900

BULK_METHODS = ("auto", "bulk_create", "executemany", "copy")


class HouseholdRow(NamedTuple):
    """A household to insert; ``village_id`` is the village clinic's primary key."""

    code: str
    village_id: int
    address: str


class ResidentRow(NamedTuple):
    """A resident to insert; ``household`` indexes the household list passed alongside (or None)."""

    household: int | None
    health_record_number: str
    id_number: str | None
    name: str
    sex: str
    birth_date: dt.date
    phone: str
    relation_to_head: str
    village_id: int
    address: str


def _validate_rows(households: Sequence[HouseholdRow], residents: Sequence[ResidentRow]) -> None:
    """Cheap structural checks (formats, check characters, links); uniqueness is the database's."""
    count = len(households)
    for row in residents:
        hrn = row.health_record_number
        if len(hrn) != 17 or not hrn.isdigit():
            raise InvalidInput(_("A health record number has 17 digits."), field="health_record_number")
        if row.id_number is not None and (
            len(row.id_number) != 18 or check_character(row.id_number[:17]) != row.id_number[17]
        ):
            raise InvalidInput(_("The check character of the ID number is wrong."), field="id_number")
        if row.sex not in ("M", "F"):
            raise InvalidInput(_("Sex must be male or female."), field="sex")
        if row.household is not None and not (0 <= row.household < count):
            raise InvalidInput(_("The resident refers to a household that is not in the load."))


PATIENT_COLUMNS = (
    "health_record_number",
    "id_number",
    "name",
    "sex",
    "birth_date",
    "phone",
    "household_id",
    "relation_to_head",
    "village_id",
    "address",
    "created_at",
    "updated_at",
)


def _insert_households(households: Sequence[HouseholdRow]) -> list[int]:
    """Households through ``bulk_create``, which returns their new keys (RETURNING)."""
    objs = [Household(code=h.code, village_id=h.village_id, address=h.address) for h in households]
    Household.objects.bulk_create(objs, batch_size=2000)
    return [h.pk for h in objs]


def _insert_bulk_create(households: Sequence[HouseholdRow], residents: Sequence[ResidentRow]) -> None:
    ids = _insert_households(households)
    patients = Patient.objects.bulk_create(
        [
            Patient(
                health_record_number=r.health_record_number,
                id_number=r.id_number,
                name=r.name,
                sex=r.sex,
                birth_date=r.birth_date,
                phone=r.phone,
                household_id=None if r.household is None else ids[r.household],
                relation_to_head=r.relation_to_head,
                village_id=r.village_id,
                address=r.address,
            )
            for r in residents
        ],
        batch_size=2000,
    )
    insert_name_keys((p.pk, p.name) for p in patients)
    _insert_filings(zip((p.pk for p in patients), residents, strict=True))


def _insert_executemany(households: Sequence[HouseholdRow], residents: Sequence[ResidentRow]) -> None:
    """Residents with one parameterised ``executemany``: the same rows as ``bulk_create`` without
    building a model instance per resident, which costs more than the insert itself on SQLite."""
    ids = _insert_households(households)
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    marks = ", ".join(["%s"] * len(PATIENT_COLUMNS))
    columns = ", ".join(PATIENT_COLUMNS)
    sql = f"INSERT INTO {Patient._meta.db_table} ({columns}) VALUES ({marks})"  # noqa: S608 - constant names
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [
                (
                    r.health_record_number,
                    r.id_number,
                    r.name,
                    r.sex,
                    ops.adapt_datefield_value(r.birth_date),
                    r.phone,
                    None if r.household is None else ids[r.household],
                    r.relation_to_head,
                    r.village_id,
                    r.address,
                    now,
                    now,
                )
                for r in residents
            ],
        )
        ids_names = list(_read_back_ids(cursor, residents))
        insert_name_keys(ids_names)
        _insert_filings(zip((pk for pk, _name in ids_names), residents, strict=True))


def _read_back_ids(cursor: Any, residents: Sequence[ResidentRow]) -> Iterable[tuple[int, str]]:
    """(id, name) of just-inserted residents in the order of ``residents``, found by their unique
    health-record numbers."""
    table = Patient._meta.db_table
    for start in range(0, len(residents), KEY_BATCH):
        batch = residents[start : start + KEY_BATCH]
        marks = ", ".join(["%s"] * len(batch))
        cursor.execute(
            f"SELECT health_record_number, id, name FROM {table} WHERE health_record_number IN ({marks})",  # noqa: S608
            [r.health_record_number for r in batch],
        )
        found = {hrn: (pk, name) for hrn, pk, name in cursor.fetchall()}
        yield from (found[r.health_record_number] for r in batch)


REGISTRATION_COLUMNS = (
    "patient_id",
    "institution_id",
    "local_number",
    "source",
    "name",
    "sex",
    "birth_date",
    "id_number_entered",
    "id_number",
    "id_problem",
    "phone",
    "address",
    "village_id",
    "health_card_number",
    "insurance_number",
    "decision",
    "explanation",
    "id_tail",
    "name_key",
    "birth_key",
    "created_at",
    "updated_at",
)


def _filing_rows(pairs: Iterable[tuple[int, ResidentRow]], *, adapt: bool) -> Iterable[tuple[Any, ...]]:
    """The village clinic's filing registration of each bulk-loaded resident (its 建档 record):
    the source registration the master index matches later registrations against."""
    from .matching.engine import features, stored_keys

    ops = connection.ops
    now: Any = timezone.now()
    if adapt:
        now = ops.adapt_datetimefield_value(now)
    for pk, r in pairs:
        keys = stored_keys(
            features(
                name=r.name, sex=r.sex, birth_date=r.birth_date, id_number=r.id_number or "", phone=r.phone
            )
        )
        birth: Any = ops.adapt_datefield_value(r.birth_date) if adapt else r.birth_date
        yield (
            pk,
            r.village_id,
            r.health_record_number,
            "filing",
            r.name,
            r.sex,
            birth,
            r.id_number or "",
            r.id_number or "",
            "",
            r.phone,
            r.address,
            r.village_id,
            "",
            "",
            "new",
            "{}",
            keys.id_tail,
            keys.name_key,
            keys.birth_key,
            now,
            now,
        )


def _insert_filings(pairs: Iterable[tuple[int, ResidentRow]]) -> None:
    columns = ", ".join(REGISTRATION_COLUMNS)
    marks = ", ".join(["%s"] * len(REGISTRATION_COLUMNS))
    sql = f"INSERT INTO {Registration._meta.db_table} ({columns}) VALUES ({marks})"  # noqa: S608 - constant names
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(_filing_rows(pairs, adapt=True)))


def insert_name_keys(patients: Iterable[tuple[int, str]]) -> None:
    """Key rows for new residents, given as (id, name), through one ``executemany`` (see
    ``names.name_keys``); the bulk paths' way of writing them."""
    sql = f"INSERT INTO {PatientNameKey._meta.db_table} (patient_id, kind, key) VALUES (%s, %s, %s)"  # noqa: S608
    rows = [(pk, kind, key) for pk, name in patients for kind, key in name_keys(name)]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _insert_copy(households: Sequence[HouseholdRow], residents: Sequence[ResidentRow]) -> None:
    """PostgreSQL COPY: household keys are reserved from the table's sequence first."""
    now = timezone.now()
    hh_table = Household._meta.db_table
    pt_table = Patient._meta.db_table
    columns = ", ".join(PATIENT_COLUMNS)
    with connection.cursor() as wrapper, connection.wrap_database_errors:
        cursor: Any = wrapper.cursor  # the psycopg cursor; errors still become Django's
        ids: list[int] = []
        if households:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [hh_table, len(households)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            sql = f"COPY {hh_table} (id, code, village_id, address, created_at, updated_at) FROM STDIN"
            with cursor.copy(sql) as copy:
                for pk, h in zip(ids, households, strict=True):
                    copy.write_row((pk, h.code, h.village_id, h.address, now, now))
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [pt_table, len(residents)],
        )
        patient_ids = [row[0] for row in cursor.fetchall()]
        with cursor.copy(f"COPY {pt_table} (id, {columns}) FROM STDIN") as copy:
            for pk, r in zip(patient_ids, residents, strict=True):
                copy.write_row(
                    (
                        pk,
                        r.health_record_number,
                        r.id_number,
                        r.name,
                        r.sex,
                        r.birth_date,
                        r.phone,
                        None if r.household is None else ids[r.household],
                        r.relation_to_head,
                        r.village_id,
                        r.address,
                        now,
                        now,
                    )
                )
        key_table = PatientNameKey._meta.db_table
        with cursor.copy(f"COPY {key_table} (patient_id, kind, key) FROM STDIN") as copy:
            for pk, r in zip(patient_ids, residents, strict=True):
                for kind, key in name_keys(r.name):
                    copy.write_row((pk, kind, key))
        reg_table = Registration._meta.db_table
        reg_columns = ", ".join(REGISTRATION_COLUMNS)
        with cursor.copy(f"COPY {reg_table} ({reg_columns}) FROM STDIN") as copy:
            for row in _filing_rows(zip(patient_ids, residents, strict=True), adapt=False):
                copy.write_row(row)


@transaction.atomic
def residents_bulk_insert(
    *,
    households: Sequence[HouseholdRow],
    residents: Sequence[ResidentRow],
    method: str = "auto",
) -> int:
    """Insert one chunk of households and their residents; returns the number of residents.

    ``method`` "auto" uses COPY on PostgreSQL and ``executemany`` elsewhere; ``bulk_create``
    writes the same rows through model instances (slower, kept as the plain-ORM path). No audit
    rows are written here: the caller writes one summary row for the whole load (see the module
    docstring). The residents' name search keys are written in the same transaction.
    Duplicate codes, health-record or ID numbers raise Conflict and roll the chunk back.
    """
    if method not in BULK_METHODS:
        raise InvalidInput(_("Unknown bulk insert method."), field="method")
    if method == "auto":
        method = "copy" if connection.vendor == "postgresql" else "executemany"
    if method == "copy" and connection.vendor != "postgresql":
        raise InvalidInput(_("COPY is only available on PostgreSQL."), field="method")
    _validate_rows(households, residents)
    try:
        with transaction.atomic():
            if method == "copy":
                _insert_copy(households, residents)
            elif method == "executemany":
                _insert_executemany(households, residents)
            else:
                _insert_bulk_create(households, residents)
    except IntegrityError:
        raise Conflict(_("A household code, health record number or ID number already exists.")) from None
    from .signals import send_changed

    send_changed({r.village_id for r in residents})
    return len(residents)


@transaction.atomic
def patient_link_user(*, actor: Any, patient: Patient, user: Any) -> Patient:
    """Give a resident a login so that they can read their own record (system or consortium office)."""
    if actor is not None:
        scope = scope_for(actor)
        scope.require(scope.manages_consortium, _("Only the consortium office may link a resident login."))
    if patient.user_id is not None:
        raise Conflict(_("This resident already has a login."), field="user")
    if Patient.objects.filter(user=user).exists():
        raise Conflict(_("This login already belongs to another resident."), field="user")
    patient.user = user
    patient.save(update_fields=["user", "updated_at"])
    audit(
        actor=actor,
        verb="patient.link_user",
        subject=patient,
        before={"user_id": None},
        after={"user_id": user.pk},
    )
    return patient


def _require_resident_write(actor: Any, village_id: int | None) -> None:
    """The system (``actor`` None) or staff who may write and look after the village."""
    if actor is None:
        return
    scope = scope_for(actor)
    scope.require_write()
    scope.require(
        village_id in scope.resident_village_ids, _("You may only register residents of your own villages.")
    )


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("Enter the resident's name."), field="name")
    if len(name) > Patient._meta.get_field("name").max_length:  # type: ignore[operator]
        raise InvalidInput(_("The name is too long."), field="name")
    return name


def patient_name_keys_write(*, patient: Patient) -> int:
    """Replace ``patient``'s name search keys with those of its current name; returns the count.

    Called by every service that creates or renames a resident, inside its transaction (the keys
    are derived data and are not audited themselves; the create or rename is).
    """
    PatientNameKey.objects.filter(patient=patient).delete()
    keys = [PatientNameKey(patient=patient, kind=kind, key=key) for kind, key in name_keys(patient.name)]
    PatientNameKey.objects.bulk_create(keys)
    return len(keys)


@transaction.atomic
def patient_create(
    *,
    actor: Any,
    village: Any,
    health_record_number: str,
    name: str,
    sex: str,
    birth_date: dt.date,
    id_number: str | None = None,
    phone: str = "",
    household: Household | None = None,
    relation_to_head: str = "",
    address: str = "",
    user: Any = None,
) -> Patient:
    """File one resident's health record at their village clinic (with its filing registration
    and name search keys), audited as ``patient.create``. Registrations at other institutions go
    through ``matching.services.registration_create``, which matches before it files."""
    _require_resident_write(actor, village.pk)
    row = ResidentRow(
        None,
        health_record_number,
        id_number,
        _clean_name(name),
        sex,
        birth_date,
        phone,
        "",
        village.pk,
        address,
    )
    _validate_rows([], [row])
    if household is not None and household.village_id != village.pk:
        raise InvalidInput(_("The household belongs to another village clinic."), field="household")
    try:
        with transaction.atomic():
            patient = Patient.objects.create(
                health_record_number=health_record_number,
                id_number=id_number,
                name=row.name,
                sex=sex,
                birth_date=birth_date,
                phone=phone,
                household=household,
                relation_to_head=relation_to_head,
                village=village,
                address=address,
                user=user,
            )
    except IntegrityError:
        raise Conflict(_("A resident with this health record number or ID number already exists.")) from None
    patient_name_keys_write(patient=patient)
    _insert_filings([(patient.pk, row)])
    audit(
        actor=actor,
        verb="patient.create",
        subject=patient,
        after={"health_record_number": health_record_number, "name": patient.name, "village_id": village.pk},
    )
    return patient


@transaction.atomic
def patient_rename(*, actor: Any, patient: Patient, name: str) -> Patient:
    """Correct a resident's name and rewrite its search keys, audited as ``patient.rename``."""
    _require_resident_write(actor, patient.village_id)
    new = _clean_name(name)
    old = patient.name
    if new == old:
        return patient
    patient.name = new
    patient.save(update_fields=["name", "updated_at"])
    patient_name_keys_write(patient=patient)
    audit(actor=actor, verb="patient.rename", subject=patient, before={"name": old}, after={"name": new})
    return patient
