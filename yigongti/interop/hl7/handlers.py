"""What each message does, always through the owning app's services.

- ADT^A01/A04/A08: the PID is registered at the sending institution through the master index
  (``registration_create``: link, review or new; the same local number with the same details
  again is a no-op). An A08 for a local number already registered there corrects that
  registration (``registration_update``: updated, or kept where it is with a review opened when
  it no longer fits its resident). A01/A04 with a PV1 visit number also record the encounter
  (``encounters.services.encounter_record``, keyed by sender and visit number, so a resent
  message updates rather than duplicates).
- ADT^A40: ``patients_merge`` of MRG-1's resident into PID-3's (the consortium office's right).
- ORU^R01: the PID is resolved (registered) as above and every OBX is kept in ``LabResult``
  for the diagnostics capability.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from yigongti.core import idnumbers
from yigongti.core.access import Scope
from yigongti.core.errors import InvalidInput
from yigongti.institutions.models import Institution
from yigongti.patients.matching.merging import patients_merge
from yigongti.patients.matching.services import (
    Entry,
    Registered,
    UpdateOutcome,
    reasons_text,
    registration_create,
    registration_update,
)
from yigongti.patients.models import Decision, Patient, Registration, RegistrationSource

from ..models import LabResult
from .message import Hl7Error, Message, component, hl7_date, hl7_instant, repetitions, value

LOCAL_TYPES = {"PI", "MR", "PN", "PT", "AN", ""}
ID_TYPES = {"NNCHN", "NI", "ID", "CN-ID", "01"}
INSURANCE_TYPES = {"SS", "HC", "NH", "INS"}
SEX = {"M": "M", "F": "F", "U": "", "O": "", "A": "", "N": "", "": ""}
#: PV1-2 patient class → encounter kind.
PATIENT_CLASS = {"O": "outpatient", "E": "emergency", "I": "inpatient"}


@dataclass
class Outcome:
    text: str
    patient: Patient | None = None
    results: list[LabResult] = field(default_factory=list)


def _identifiers(pid: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for i, rep in enumerate(repetitions(pid, "pid_3")):
        parts = rep.split("^")
        number = parts[0].strip()
        kind = (parts[4] if len(parts) > 4 else "").strip().upper()
        if not number:
            continue
        if kind in ID_TYPES:
            try:
                found.setdefault("id", idnumbers.parse(number).value)
            except InvalidInput as exc:
                raise Hl7Error(str(exc.message), hl7_code="102", segment="PID", field_no=3) from None
        elif kind in INSURANCE_TYPES:
            found.setdefault("insurance", number)
        elif kind in LOCAL_TYPES:
            found.setdefault("local", number)
        if i > 20:
            break
    # PID-2 (external id) and PID-4 (alternate id) are older places for the hospital number
    for name in ("pid_2", "pid_4"):
        if "local" not in found and component(pid, name, 1):
            found["local"] = component(pid, name, 1)
    return found


def entry_from_pid(message: Message) -> Entry:
    position, pid = message.one("PID")
    family, given = component(pid, "pid_5", 1), component(pid, "pid_5", 2)
    name = (family + given).strip()
    if not name:
        raise Hl7Error(
            _("PID-5 (patient name) is empty."), hl7_code="101", segment="PID", position=position, field_no=5
        )
    sex_raw = value(pid, "pid_8").strip().upper()
    if sex_raw not in SEX:
        raise Hl7Error(
            _("PID-8 (sex) must be M, F, U or O, not %(v)s.") % {"v": sex_raw[:5]},
            hl7_code="103",
            segment="PID",
            position=position,
            field_no=8,
        )
    ids = _identifiers(pid)
    for key, limit in (("local", 40), ("insurance", 32)):
        if len(ids.get(key, "")) > limit:
            raise Hl7Error(_("PID-3: an identifier is too long."), hl7_code="102", segment="PID", field_no=3)
    address_parts = [component(pid, "pid_11", i) for i in (4, 3, 2, 1)]
    phone = component(pid, "pid_13", 1) or component(pid, "pid_13", 12)
    return Entry(
        name=name,
        sex=SEX[sex_raw],
        birth_date=hl7_date(value(pid, "pid_7"), segment="PID", position=position, field_no=7),
        id_number=ids.get("id", ""),
        phone=phone[:20],
        address="".join(p for p in address_parts if p)[:200],
        local_number=ids.get("local", ""),
        insurance_number=ids.get("insurance", ""),
    )


def register(actor: Any, institution: Institution, message: Message) -> Registered:
    return registration_create(
        actor=actor, institution=institution, entry=entry_from_pid(message), source=RegistrationSource.API
    )


def _adt_update(actor: Any, institution: Institution, entry: Entry) -> Outcome:
    done = registration_update(
        actor=actor, institution=institution, local_number=entry.local_number, entry=entry
    )
    names = {"id": done.patient.pk}
    if done.outcome == UpdateOutcome.UNCHANGED:
        text = _("Resident %(id)s: already registered with these details.") % names
    elif done.outcome == UpdateOutcome.UPDATED:
        text = _("Resident %(id)s: registration updated.") % names
    else:
        text = _("Resident %(id)s: registration updated, not moved; sent to review (%(reasons)s).") % {
            **names,
            "reasons": reasons_text(done.reasons),
        }
    return Outcome(text, done.patient)


def adt_register(actor: Any, scope: Scope, institution: Institution, message: Message) -> Outcome:
    if message.trigger == "A08":
        entry = entry_from_pid(message)
        local = entry.local_number
        if local and Registration.objects.filter(institution=institution, local_number=local).exists():
            return _adt_update(actor, institution, entry)
    done = register(actor, institution, message)
    text = _("Resident %(id)s: %(decision)s.") % {
        "id": done.patient.pk,
        "decision": Decision(done.decision).label,
    }
    if not done.created:
        text = _("Resident %(id)s: already registered with these details.") % {"id": done.patient.pk}
    if message.trigger in ("A01", "A04") and message.all("PV1"):
        text += " " + _record_encounter(actor, scope, institution, message, done.patient)
    return Outcome(text, done.patient)


def _record_encounter(
    actor: Any, scope: Scope, institution: Institution, message: Message, patient: Patient
) -> str:
    try:
        from yigongti.encounters.choices import EncounterSource
        from yigongti.encounters.services import encounter_record
    except ImportError:  # the encounters capability is not installed: the registration stands
        return ""
    position, pv1 = message.one("PV1")
    visit = component(pv1, "pv1_19", 1)
    if not visit:
        return _("No PV1-19 visit number: no encounter recorded.")
    klass = value(pv1, "pv1_2").strip().upper() or ("I" if message.trigger == "A01" else "O")
    kind = PATIENT_CLASS.get(klass)
    if kind is None:
        raise Hl7Error(
            _("PV1-2 (patient class) must be O, E or I, not %(v)s.") % {"v": klass[:5]},
            hl7_code="103",
            segment="PV1",
            position=position,
            field_no=2,
        )
    evn = message.all("EVN")
    started = hl7_instant(value(pv1, "pv1_44"), segment="PV1", position=position, field_no=44)
    if started is None and evn:
        started = hl7_instant(value(evn[0][1], "evn_2"), segment="EVN", position=1, field_no=2)
    raw_cost = value(pv1, "pv1_47").strip()
    try:
        cost = Decimal(raw_cost) if raw_cost else Decimal("0.00")
    except InvalidOperation:
        raise Hl7Error(
            _("PV1-47 (total charges) is not a number."),
            hl7_code="102",
            segment="PV1",
            position=position,
            field_no=47,
        ) from None
    county = component(message.one("PID")[1], "pid_11", 9)[:6]
    if not county and patient.id_number:
        county = patient.id_number[:6]
    # The interface authorised its caller (the patient is registered at the caller's institution,
    # which is the institution recorded) and records as the system, as the service allows.
    row, created = encounter_record(
        actor=None,
        patient=patient,
        institution=institution,
        kind=kind,
        started_at=started,
        admitted_on=started.date() if kind == "inpatient" and started else None,
        total_cost=cost,
        residence_county_code=county,
        source=EncounterSource.HL7,
        source_system=f"{message.sending_application}@{institution.code}"[:40],
        external_id=visit[:64],
    )
    return (_("Encounter %(id)s recorded.") if created else _("Encounter %(id)s updated.")) % {"id": row.pk}


def _patient_by(institution: Institution, number: str, kind: str) -> Patient | None:
    if kind in ID_TYPES:
        try:
            parsed = idnumbers.parse(number).value
        except InvalidInput:
            return None
        return Patient.objects.filter(id_number=parsed).first()
    reg = (
        Registration.objects.filter(institution=institution, local_number=number)
        .select_related("patient")
        .first()
    )
    return reg.patient if reg else None


def _find(institution: Institution, text: str, *, segment: str, field_no: int) -> Patient:
    parts = text.split("^")
    number, kind = parts[0].strip(), (parts[4] if len(parts) > 4 else "").strip().upper()
    patient = _patient_by(institution, number, kind) if number else None
    if patient is None:
        raise Hl7Error(
            _("%(seg)s-%(f)s: no resident is registered here under %(number)s.")
            % {"seg": segment, "f": field_no, "number": number[:40] or "-"},
            hl7_code="204",
            segment=segment,
            field_no=field_no,
        )
    return patient


def adt_merge(actor: Any, scope: Scope, institution: Institution, message: Message) -> Outcome:
    _pos, pid = message.one("PID")
    _mpos, mrg = message.one("MRG")
    survivor = _find(institution, (repetitions(pid, "pid_3") or [""])[0], segment="PID", field_no=3)
    merged = _find(institution, (repetitions(mrg, "mrg_1") or [""])[0], segment="MRG", field_no=1)
    merge = patients_merge(actor=actor, survivor_id=survivor.pk, merged_id=merged.pk)
    return Outcome(
        _("Resident %(merged)s merged into %(survivor)s (merge %(id)s).")
        % {"merged": merged.pk, "survivor": survivor.pk, "id": merge.pk},
        survivor,
    )


def oru_results(actor: Any, scope: Scope, institution: Institution, message: Message) -> Outcome:
    done = register(actor, institution, message)
    rows: list[LabResult] = []
    panel = ("", "", "")
    for sid, position, seg in message.segments:
        if sid == "OBR":
            order = component(seg, "obr_3", 1) or component(seg, "obr_2", 1)
            panel = (order, component(seg, "obr_4", 1), component(seg, "obr_4", 2))
        elif sid == "OBX":
            code = component(seg, "obx_3", 1)
            if not code:
                raise Hl7Error(
                    _("OBX-3 (observation identifier) is empty."),
                    hl7_code="101",
                    segment="OBX",
                    position=position,
                    field_no=3,
                )
            rows.append(
                LabResult(
                    institution=institution,
                    patient=done.patient,
                    order_number=panel[0][:64],
                    panel_code=panel[1][:64],
                    panel_name=panel[2][:200],
                    code=code[:64],
                    name=component(seg, "obx_3", 2)[:200],
                    value_type=value(seg, "obx_2")[:4],
                    value=" ".join(repetitions(seg, "obx_5"))[:500],
                    unit=(component(seg, "obx_6", 2) or component(seg, "obx_6", 1))[:40],
                    reference_range=value(seg, "obx_7")[:100],
                    abnormal_flag=value(seg, "obx_8")[:10],
                    status=value(seg, "obx_11")[:2],
                    observed_at=hl7_instant(
                        value(seg, "obx_14"), segment="OBX", position=position, field_no=14
                    ),
                )
            )
    if not rows:
        raise Hl7Error(_("An ORU^R01 needs at least one OBX segment."), hl7_code="101", segment="OBX")
    return Outcome(
        _("%(n)s results kept for resident %(id)s.") % {"n": len(rows), "id": done.patient.pk},
        done.patient,
        rows,
    )


HANDLERS = {
    "ADT^A01": adt_register,
    "ADT^A04": adt_register,
    "ADT^A08": adt_register,
    "ADT^A40": adt_merge,
    "ORU^R01": oru_results,
}
