"""The encounters API: scoped list and detail (audited read), counts for the office, and a doctor
recording a visit; each allowed, denied and out of scope."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.core.models import AuditEvent
from yigongti.core.testing import make_patient
from yigongti.encounters.models import Encounter
from yigongti.encounters.services import encounter_record

pytestmark = pytest.mark.django_db


def _at(days_ago: int) -> dt.datetime:
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))


@pytest.fixture
def data(county):
    own = make_patient(county.village, 1, "陈桂芳", dt.date(1950, 6, 1))
    foreign = make_patient(county.foreign_village, 1, "王大娟", dt.date(1948, 12, 30))
    village_visit, _ = encounter_record(
        actor=None,
        patient=own,
        institution=county.village,
        kind="outpatient",
        started_at=_at(3),
        total_cost="30",
    )
    lead_stay, _ = encounter_record(
        actor=None,
        patient=own,
        institution=county.lead,
        kind="inpatient",
        started_at=_at(20),
        discharged_on=_at(12).date(),
        total_cost="6000",
        insurance_paid="4500",
    )
    foreign_visit, _ = encounter_record(
        actor=None,
        patient=foreign,
        institution=county.other_township,
        kind="outpatient",
        started_at=_at(2),
        total_cost="80",
        is_tcm=True,
    )
    return SimpleNamespace(
        own=own,
        foreign=foreign,
        village_visit=village_visit,
        lead_stay=lead_stay,
        foreign_visit=foreign_visit,
    )


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def test_village_doctor_lists_her_clinic_and_her_residents_elsewhere(login_client, data):
    client = login_client(Role.VILLAGE_DOCTOR)
    assert _ids(client.get("/api/encounters")) == {data.village_visit.pk, data.lead_stay.pk}
    assert _ids(client.get("/api/encounters", {"kind": "inpatient"})) == {data.lead_stay.pk}
    month = data.village_visit.started_at.astimezone(timezone.get_current_timezone()).strftime("%Y-%m")
    assert data.village_visit.pk in _ids(client.get("/api/encounters", {"month": month}))
    item = client.get("/api/encounters").json()["items"][0]
    assert item["id_number_masked"] and "*" in item["id_number_masked"]


def test_list_refuses_the_office_and_a_bad_month(login_client, data):
    response = login_client(Role.CONSORTIUM_OFFICE).get("/api/encounters")
    assert response.status_code == 403
    response = login_client(Role.VILLAGE_DOCTOR).get("/api/encounters", {"month": "2026-13"})
    assert response.status_code == 422 and response.json()["field"] == "month"


def test_detail_is_audited_and_out_of_scope_is_404_without_audit(login_client, data):
    client = login_client(Role.VILLAGE_DOCTOR)
    response = client.get(f"/api/encounters/{data.lead_stay.pk}")
    assert response.status_code == 200
    assert response.json()["bed_days"] == 8
    read = AuditEvent.objects.get(verb="encounter.read")
    assert read.object_id == str(data.lead_stay.pk)
    assert client.get(f"/api/encounters/{data.foreign_visit.pk}").status_code == 404
    assert AuditEvent.objects.filter(verb="encounter.read").count() == 1
    assert login_client(Role.HEALTH_BUREAU).get(f"/api/encounters/{data.lead_stay.pk}").status_code == 403


def test_summary_counts_for_the_office_and_only_own_institutions_for_staff(login_client, data):
    office = login_client(Role.CONSORTIUM_OFFICE).get("/api/encounters/summary")
    assert office.status_code == 200
    counts = {(r["institution_id"], r["kind"]): r["encounters"] for r in office.json()["items"]}
    assert sum(counts.values()) == 3
    assert "patient_id" not in office.json()["items"][0]
    doctor = login_client(Role.VILLAGE_DOCTOR).get("/api/encounters/summary")
    assert {r["institution_id"] for r in doctor.json()["items"]} == {data.village_visit.institution_id}
    assert login_client(Role.RESIDENT).get("/api/encounters/summary").status_code == 403


def _body(patient_id: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient_id": patient_id,
        "kind": "outpatient",
        "started_at": _at(1).isoformat(),
        "total_cost": "45.00",
        "insurance_paid": "30.00",
        "diagnosis_code": "I10",
    }
    body.update(changes)
    return body


def test_post_records_a_visit_at_the_callers_institution_audited(login_client, data, county):
    client = login_client(Role.VILLAGE_DOCTOR)
    response = client.post("/api/encounters", _body(data.own.pk), content_type="application/json")
    assert response.status_code == 201, response.content
    out = response.json()
    assert out["institution_id"] == county.village.pk and out["out_of_pocket"] == "15.00"
    assert "高血压" in out["diagnosis_name"]
    event = AuditEvent.objects.get(verb="encounter.record", object_id=str(out["id"]))
    assert event.actor_id == county.users[Role.VILLAGE_DOCTOR].pk


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"total_cost": "-5"}, "total_cost"),
        ({"insurance_paid": "60.00"}, "insurance_paid"),
        ({"kind": "inpatient", "discharged_on": "2000-01-01"}, "discharged_on"),
        ({"diagnosis_code": "XX"}, "diagnosis_code"),
        ({"started_at": "2999-01-01T08:00:00+08:00"}, "started_at"),
        ({"department_id": 999999}, "department_id"),
    ],
)
def test_post_bad_input_is_422_with_the_field_and_nothing_written(login_client, data, changes, field):
    client = login_client(Role.VILLAGE_DOCTOR)
    before = Encounter.objects.count()
    response = client.post("/api/encounters", _body(data.own.pk, **changes), content_type="application/json")
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert Encounter.objects.count() == before


def test_post_refuses_other_residents_and_non_clinical_roles(login_client, data):
    client = login_client(Role.VILLAGE_DOCTOR)
    response = client.post("/api/encounters", _body(data.foreign.pk), content_type="application/json")
    assert response.status_code == 422 and response.json()["field"] == "patient_id"
    for role in (Role.CONSORTIUM_OFFICE, Role.HEALTH_BUREAU, Role.RESIDENT, Role.PHARMACIST):
        response = login_client(role).post(
            "/api/encounters", _body(data.own.pk), content_type="application/json"
        )
        assert response.status_code == 403, role
    assert not AuditEvent.objects.filter(verb="encounter.record", actor_id__isnull=False).exists()
