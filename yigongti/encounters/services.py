"""Every write of encounters: one visit at a time (``encounter_record``) or in bulk
(``encounters_import``, in ``bulk``). Both check the same rules (``rules.clean``), write an
audit row and send ``signals.encounters_changed`` inside the transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from yigongti.core.access import filter_residents, scope_for
from yigongti.core.audit import audit, snapshot
from yigongti.core.errors import Conflict, InvalidInput
from yigongti.institutions.models import Department, Institution
from yigongti.patients.models import Patient

from .bulk import ImportReport, encounters_import
from .choices import EncounterSource
from .models import Encounter
from .rules import COLUMNS, Person, Place, clean
from .signals import month_key, send_changed

__all__ = ["ImportReport", "encounter_record", "encounters_import", "person_of", "place_of"]

#: Followed at most this far along ``merged_into`` (a merge of a merge ...).
MAX_MERGE_HOPS = 5


def survivor(patient: Patient) -> Patient:
    """The golden record a merged resident now lives in: encounters go to the survivor."""
    hops = 0
    while patient.merged_into_id is not None and hops < MAX_MERGE_HOPS:
        patient = Patient.objects.select_related("village").get(pk=patient.merged_into_id)
        hops += 1
    return patient


def person_of(patient: Patient) -> Person:
    village = patient.village
    return Person(patient.pk, village.area_code if village is not None else "")


def place_of(institution: Institution | None) -> Place | None:
    if institution is None:
        return None
    return Place(institution.pk, institution.level, institution.area_code)


def _require_recorder(actor: Any, patient: Patient, institution: Institution | None) -> None:
    """Staff record visits at their own institution, for residents they may read.
    ``actor`` None is the system (imports and interfaces that authorised their caller)."""
    if actor is None:
        return
    scope = scope_for(actor)
    scope.require_write()
    scope.require(
        scope.membership is not None and not scope.self_patient_only and not scope.is_oversight,
        _("Only staff of an institution record encounters."),
    )
    own = scope.membership.institution_id if scope.membership is not None else None
    if institution is None or institution.pk != own:
        raise InvalidInput(_("You may record encounters only at your own institution."), field="institution")
    if not filter_residents(Patient.objects.filter(pk=patient.pk), scope, "village").exists():
        raise InvalidInput(_("Unknown patient."), field="patient")


@transaction.atomic
def encounter_record(
    *,
    actor: Any,
    patient: Patient,
    institution: Institution | None,
    kind: str,
    started_at: dt.datetime | None,
    department: Department | None = None,
    admitted_on: dt.date | None = None,
    discharged_on: dt.date | None = None,
    is_tcm: bool = False,
    total_cost: Any = None,
    insurance_paid: Any = None,
    out_of_pocket: Any = None,
    diagnosis_code: str = "",
    residence_county_code: str = "",
    in_county: bool | None = None,
    facility_name: str = "",
    facility_area_code: str = "",
    source: str = EncounterSource.MANUAL,
    source_system: str = "",
    external_id: str = "",
) -> tuple[Encounter, bool]:
    """Record one encounter; ``(row, created)``.

    With an ``external_id`` the pair ``(source_system, external_id)`` is the key: the same pair
    again returns the existing row, updated (and audited) when a value changed, unchanged
    otherwise. A merged resident's encounter is filed under the surviving record.
    """
    if patient is None:
        raise InvalidInput(_("Unknown patient."), field="patient")
    patient = survivor(patient)
    _require_recorder(actor, patient, institution)
    values = clean(
        person=person_of(patient),
        place=place_of(institution),
        department=(department.pk, department.institution_id) if department is not None else None,
        kind=kind,
        started_at=started_at,
        admitted_on=admitted_on,
        discharged_on=discharged_on,
        is_tcm=is_tcm,
        total_cost=total_cost,
        insurance_paid=insurance_paid,
        out_of_pocket=out_of_pocket,
        diagnosis_code=diagnosis_code,
        residence_county_code=residence_county_code,
        in_county=in_county,
        facility_name=facility_name,
        facility_area_code=facility_area_code,
        source=source,
        source_system=source_system,
        external_id=external_id,
    )
    membership = scope_for(actor).membership if actor is not None else None
    existing = None
    if values["external_id"]:
        existing = (
            Encounter.objects.select_for_update()
            .filter(source_system=values["source_system"], external_id=values["external_id"])
            .first()
        )
    if existing is not None:
        return _update(actor, membership, existing, values), False
    row = Encounter(**values)
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        raise Conflict(
            _("This encounter conflicts with one already recorded."), field="external_id"
        ) from None
    audit(
        actor=actor,
        verb="encounter.record",
        subject=row,
        after=snapshot(row, list(_FIELD_NAMES)),
        membership=membership,
        institution_id=row.institution_id,
    )
    send_changed({month_key(row.institution_id, row.started_at)})
    return row, True


_FIELD_NAMES = tuple(
    c.removesuffix("_id") if c.endswith("_id") and c != "external_id" else c for c in COLUMNS
)


def _update(actor: Any, membership: Any, row: Encounter, values: dict[str, Any]) -> Encounter:
    """Apply a re-sent encounter: changed fields only, audited with before and after."""
    if actor is not None and row.institution_id != values["institution_id"]:
        raise InvalidInput(_("You may record encounters only at your own institution."), field="institution")
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    if not changed:
        return row
    old_key = month_key(row.institution_id, row.started_at)
    before = snapshot(row, [_FIELD_NAMES[COLUMNS.index(k)] for k in changed])
    for key, value in changed.items():
        setattr(row, key, value)
    row.save(update_fields=[*changed, "updated_at"])
    audit(
        actor=actor,
        verb="encounter.update",
        subject=row,
        before=before,
        after=snapshot(row, [_FIELD_NAMES[COLUMNS.index(k)] for k in changed]),
        membership=membership,
        institution_id=row.institution_id,
    )
    send_changed({old_key, month_key(row.institution_id, row.started_at)})
    return row
