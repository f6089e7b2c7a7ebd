"""encounter_record: the rules, the scope, idempotency, the audit row and the signal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.core.errors import Forbidden, InvalidInput
from yigongti.core.models import AuditEvent
from yigongti.core.testing import make_patient
from yigongti.encounters.models import Encounter
from yigongti.encounters.services import encounter_record
from yigongti.encounters.signals import encounters_changed

pytestmark = pytest.mark.django_db


def _at(day: dt.date, hour: int = 9) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


@pytest.fixture
def today() -> dt.date:
    return timezone.localdate()


@pytest.fixture
def resident(county):
    return make_patient(county.village, 1, "陈桂芳", dt.date(1950, 6, 1))


@pytest.fixture
def signals():
    received: list[set] = []

    def receiver(sender, keys, **kwargs):
        received.append(keys)

    encounters_changed.connect(receiver)
    yield received
    encounters_changed.disconnect(receiver)


def test_village_doctor_records_a_visit_audited_and_signalled(county, resident, today, signals):
    doctor = county.users[Role.VILLAGE_DOCTOR]
    row, created = encounter_record(
        actor=doctor,
        patient=resident,
        institution=county.village,
        kind="outpatient",
        started_at=_at(today - dt.timedelta(days=3)),
        is_tcm=True,
        total_cost="35.50",
        insurance_paid="20.00",
        diagnosis_code="j069",
    )
    assert created
    assert row.out_of_pocket == Decimal("15.50")
    assert row.diagnosis_code == "J06.9"
    assert row.residence_county_code == "441823"
    assert row.in_county is True
    assert row.bed_days is None
    event = AuditEvent.objects.get(verb="encounter.record")
    assert event.object_id == str(row.pk)
    assert event.actor_id == doctor.pk
    assert (event.after or {})["kind"] == "outpatient"
    month = (today - dt.timedelta(days=3)).replace(day=1)
    assert signals == [{(county.village.pk, month)}]


def test_inpatient_stay_counts_bed_days_and_in_hospital_has_none(county, resident, today):
    admitted = today - dt.timedelta(days=10)
    row, _ = encounter_record(
        actor=None,
        patient=resident,
        institution=county.lead,
        kind="inpatient",
        started_at=_at(admitted),
        discharged_on=admitted + dt.timedelta(days=6),
        total_cost="5200.00",
        insurance_paid="3900.00",
        out_of_pocket="1300.00",
        diagnosis_code="I63.9",
    )
    assert (row.admitted_on, row.bed_days) == (admitted, 6)
    same_day, _ = encounter_record(
        actor=None,
        patient=resident,
        institution=county.lead,
        kind="inpatient",
        started_at=_at(today - dt.timedelta(days=2)),
        discharged_on=today - dt.timedelta(days=2),
        total_cost="800",
    )
    assert same_day.bed_days == 1
    staying, _ = encounter_record(
        actor=None,
        patient=resident,
        institution=county.lead,
        kind="inpatient",
        started_at=_at(today, 0),
        total_cost=0,
    )
    assert staying.discharged_on is None and staying.bed_days is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "inpatient", "discharged_on": "before"}, "discharged_on"),
        ({"total_cost": "-1"}, "total_cost"),
        ({"total_cost": "100", "insurance_paid": "60", "out_of_pocket": "50"}, "total_cost"),
        ({"started_at": "future"}, "started_at"),
        ({"diagnosis_code": "hypertension"}, "diagnosis_code"),
        ({"kind": "surgery"}, "kind"),
        ({"institution": None}, "institution"),
        ({"in_county": False}, "in_county"),
        ({"total_cost": "1.005"}, "total_cost"),
        ({"admitted_on": "yesterday"}, "admitted_on"),
    ],
)
def test_bad_input_is_refused_with_its_field_and_nothing_written(county, resident, today, changes, field):
    values: dict[str, Any] = {
        "actor": None,
        "patient": resident,
        "institution": county.township,
        "kind": "outpatient",
        "started_at": _at(today - dt.timedelta(days=5)),
        "total_cost": "50",
    }
    values.update(changes)
    if values.get("discharged_on") == "before":
        values["discharged_on"] = today - dt.timedelta(days=6)
    if values["started_at"] == "future":
        values["started_at"] = timezone.now() + dt.timedelta(days=1)
    if values.get("admitted_on") == "yesterday":
        values["admitted_on"] = today - dt.timedelta(days=1)
    with pytest.raises(InvalidInput) as caught:
        encounter_record(**values)
    assert caught.value.field == field
    assert not Encounter.objects.exists()
    assert not AuditEvent.objects.filter(verb__startswith="encounter.").exists()


def test_out_of_county_stay_from_insurance_needs_a_discharge(county, resident, today):
    admitted = today - dt.timedelta(days=40)
    values: dict[str, Any] = {
        "actor": None,
        "patient": resident,
        "institution": None,
        "kind": "inpatient",
        "started_at": _at(admitted),
        "total_cost": "30000",
        "insurance_paid": "21000",
        "facility_name": "广东省人民医院",
        "facility_area_code": "440104",
        "source": "insurance",
        "source_system": "医保结算",
        "external_id": "JS-1",
    }
    with pytest.raises(InvalidInput) as caught:
        encounter_record(**values)
    assert caught.value.field == "discharged_on"
    row, created = encounter_record(**values, discharged_on=admitted + dt.timedelta(days=12))
    assert created and row.in_county is False and row.institution_id is None and row.bed_days == 12


def test_same_external_id_is_idempotent_and_updates_what_changed(county, resident, today, signals):
    values: dict[str, Any] = {
        "actor": None,
        "patient": resident,
        "institution": county.township,
        "kind": "outpatient",
        "started_at": _at(today - dt.timedelta(days=40)),
        "total_cost": "80",
        "source": "fhir",
        "source_system": "HIS-YC",
        "external_id": "V-77",
    }
    first, created = encounter_record(**values)
    again, created_again = encounter_record(**values)
    assert created and not created_again and again.pk == first.pk
    assert AuditEvent.objects.filter(verb__startswith="encounter.").count() == 1
    moved = today - dt.timedelta(days=2)
    changed, _ = encounter_record(**{**values, "total_cost": "95", "started_at": _at(moved)})
    assert changed.pk == first.pk and changed.total_cost == Decimal("95.00")
    assert Encounter.objects.count() == 1
    update = AuditEvent.objects.get(verb="encounter.update")
    assert (update.before or {})["total_cost"] == "80.00"
    assert (update.after or {})["total_cost"] == "95.00"
    old_month = (today - dt.timedelta(days=40)).replace(day=1)
    assert signals[-1] == {(county.township.pk, old_month), (county.township.pk, moved.replace(day=1))}


def test_scope_staff_only_at_their_own_institution_for_their_residents(county, resident, today):
    stranger = make_patient(county.foreign_village, 1, "王大娟", dt.date(1948, 12, 30))
    base: dict[str, Any] = {
        "kind": "outpatient",
        "started_at": _at(today - dt.timedelta(days=1)),
        "total_cost": "10",
    }
    doctor = county.users[Role.VILLAGE_DOCTOR]
    with pytest.raises(InvalidInput) as caught:
        encounter_record(actor=doctor, patient=resident, institution=county.township, **base)
    assert caught.value.field == "institution"
    with pytest.raises(InvalidInput) as caught:
        encounter_record(actor=doctor, patient=stranger, institution=county.village, **base)
    assert caught.value.field == "patient"
    with pytest.raises(Forbidden):
        encounter_record(
            actor=county.users[Role.HEALTH_BUREAU], patient=resident, institution=county.bureau, **base
        )
    with pytest.raises(Forbidden):
        encounter_record(
            actor=county.users[Role.CONSORTIUM_OFFICE], patient=resident, institution=county.lead, **base
        )
    assert not Encounter.objects.exists()
    township = county.users[Role.TOWNSHIP_DOCTOR]
    row, _ = encounter_record(actor=township, patient=resident, institution=county.township, **base)
    assert row.institution_id == county.township.pk
