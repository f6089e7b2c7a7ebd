"""Encounter (read, search, create through encounters), ServiceRequest/Task (referrals) and
Schedule/Slot/Appointment (scheduling) through the facade: allowed, refused, out of scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.core.models import AuditEvent
from yigongti.core.testing import make_patient
from yigongti.encounters.models import Encounter
from yigongti.encounters.services import encounter_record
from yigongti.institutions.models import Department
from yigongti.institutions.services import department_create
from yigongti.interop.fhir.encounter import COST_URL
from yigongti.referrals import services as referrals
from yigongti.referrals.models import ReferralReason
from yigongti.scheduling.models import Booking
from yigongti.scheduling.services import booking_create, session_create


def _refused(response: Any, status: int, expression: str) -> str:
    """The OperationOutcome's one issue names ``expression``; its diagnostics text."""
    assert response.status_code == status, response.content
    issue = response.json()["issue"][0]
    assert issue.get("expression") == [expression], issue
    return str(issue["diagnostics"])


def _resident(county):
    return make_patient(county.village, 1, "王桂兰", dt.date(1956, 4, 2))


def test_encounter_read_search_and_scope(county, fhir):
    patient = _resident(county)
    row, _ = encounter_record(
        actor=None,
        patient=patient,
        institution=county.village,
        kind="outpatient",
        started_at=timezone.now() - dt.timedelta(days=1),
        total_cost=Decimal("35.50"),
        diagnosis_code="I10",
    )
    village = fhir(Role.VILLAGE_DOCTOR)
    body = village.get(f"/fhir/Encounter/{row.pk}").json()
    assert body["class"]["code"] == "AMB" and body["subject"]["reference"] == f"Patient/{patient.pk}"
    assert body["extension"][0]["valueMoney"]["value"] == 35.5
    assert AuditEvent.objects.filter(verb="encounter.read", object_id=str(row.pk)).exists()
    bundle = village.get(
        f"/fhir/Encounter?patient=Patient/{patient.pk}&class=AMB&_include=Encounter:patient"
    ).json()
    assert bundle["total"] == 1 and len(bundle["entry"]) == 2
    assert village.get(f"/fhir/Encounter?service-provider={county.lead.code}").json()["total"] == 0
    assert fhir(Role.TOWNSHIP_DOCTOR).get(f"/fhir/Encounter/{row.pk}").status_code == 200
    assert fhir(Role.COUNTY_DOCTOR).get(f"/fhir/Encounter/{row.pk}").status_code == 404
    assert fhir(Role.CONSORTIUM_OFFICE).get("/fhir/Encounter").status_code == 403


def test_encounter_create_is_idempotent_by_identifier(county, fhir):
    patient = _resident(county)
    village = fhir(Role.VILLAGE_DOCTOR)
    body: dict[str, Any] = {
        "resourceType": "Encounter",
        "identifier": [{"value": "V-1"}],
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{patient.pk}"},
        "period": {"start": "2026-03-01T09:00:00+08:00"},
        "extension": [{"url": COST_URL, "valueMoney": {"value": 20, "currency": "CNY"}}],
    }
    first = village.post("/fhir/Encounter", body)
    assert first.status_code == 201, first.json()
    body["extension"][0]["valueMoney"]["value"] = 25
    second = village.post("/fhir/Encounter", body)
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    row = Encounter.objects.get()
    assert row.total_cost == Decimal("25.00") and row.source == "fhir"
    assert AuditEvent.objects.filter(verb="encounter.update", object_id=str(row.pk)).exists()
    assert AuditEvent.objects.filter(verb="interop.encounter_write").count() == 2
    missing = village.post("/fhir/Encounter", body | {"subject": {"reference": "Patient/999999"}})
    assert missing.status_code == 422 and "Patient/999999" in missing.json()["issue"][0]["diagnostics"]
    foreign = village.post(
        "/fhir/Encounter", body | {"serviceProvider": {"reference": f"Organization/{county.lead.code}"}}
    )
    assert foreign.status_code == 422
    assert fhir(Role.HEALTH_BUREAU).post("/fhir/Encounter", body).status_code == 403
    assert Encounter.objects.count() == 1


def test_referral_as_service_request_and_task(county, fhir):
    patient = _resident(county)
    referral = referrals.referral_create(
        actor=county.users[Role.VILLAGE_DOCTOR],
        patient=patient,
        to_institution=county.lead,
        diagnosis_code="I10",
        diagnosis_name="原发性高血压",
        reason=ReferralReason.objects.get(code="U01"),
        history="血压控制不佳三月",
        submit=True,
    )
    lead = fhir(Role.COUNTY_DOCTOR)
    task = lead.get(f"/fhir/Task/{referral.pk}").json()
    assert task["status"] == "requested" and task["businessStatus"]["coding"][0]["code"] == "submitted"
    assert task["owner"]["reference"] == f"Organization/{county.lead.code}"
    assert lead.get(f"/fhir/Task?owner={county.lead.code}&status=requested").json()["total"] == 1
    assert lead.get("/fhir/Task?status=completed").json()["total"] == 0
    bundle = lead.get(f"/fhir/Task?patient=Patient/{patient.pk}&_include=Task:focus").json()
    assert sorted(e["resource"]["resourceType"] for e in bundle["entry"]) == ["ServiceRequest", "Task"]
    request = lead.get(f"/fhir/ServiceRequest/{referral.pk}").json()
    assert request["reasonCode"][0]["coding"][0]["code"] == "I10" and request["status"] == "active"
    assert fhir(Role.VILLAGE_DOCTOR).get(f"/fhir/Task?requester={county.village.code}").json()["total"] == 1
    other = fhir(Role.TOWNSHIP_DOCTOR)  # the township sees its villages' referrals
    assert other.get(f"/fhir/Task/{referral.pk}").status_code == 200
    assert fhir(Role.HEALTH_BUREAU).get("/fhir/Task").status_code == 403
    assert lead.post("/fhir/Task", {"resourceType": "Task"}).status_code == 405


def test_schedule_slot_and_appointment(county, fhir):
    patient = _resident(county)
    dept = Department.objects.get(institution=county.lead, code="NK")
    session = session_create(
        actor=None,
        institution=county.lead,
        department=dept,
        date=timezone.localdate() + dt.timedelta(days=3),
        start=dt.time(8, 0),
        end=dt.time(9, 0),
        slot_minutes=15,
        capacity=1,
        referral_share=0,
        doctor=county.staff["county_doctor"],
    )
    slot = session.slots.order_by("starts_at").first()
    assert slot is not None
    booking = booking_create(actor=None, slot=slot, patient=patient)
    lead = fhir(Role.COUNTY_DOCTOR)
    schedule = lead.get(f"/fhir/Schedule/{session.pk}").json()
    assert {a["reference"] for a in schedule["actor"]} == {
        f"Organization/{county.lead.code}",
        f"Practitioner/{county.staff['county_doctor'].pk}",
    }
    slots = lead.get(f"/fhir/Slot?schedule=Schedule/{session.pk}&status=free").json()
    assert slots["total"] == 3
    assert lead.get(f"/fhir/Slot/{slot.pk}").json()["status"] == "busy"
    appointment = lead.get(f"/fhir/Appointment/{booking.pk}").json()
    assert appointment["status"] == "booked" and appointment["slot"][0]["reference"] == f"Slot/{slot.pk}"
    assert lead.get(f"/fhir/Appointment?patient={patient.pk}&_include=Appointment:slot").json()["total"] == 1
    from yigongti.interop.fhir.validate import validate_structure

    for resource in (schedule, appointment, lead.get(f"/fhir/Slot/{slot.pk}").json()):
        validate_structure(resource)
    assert fhir(Role.VILLAGE_DOCTOR).get(f"/fhir/Schedule/{session.pk}").status_code == 404
    assert fhir(Role.VILLAGE_DOCTOR).get(f"/fhir/Appointment/{booking.pk}").status_code == 404


def test_everything_we_serve_is_valid_fhir(county, fhir):
    """Each type's output, the searchset Bundles and the CapabilityStatement pass the R4B models."""
    from yigongti.interop.fhir.base import registry
    from yigongti.interop.fhir.validate import validate_structure

    test_referral_as_service_request_and_task(county, fhir)
    patient = county.patients.get("p") or make_patient(county.village, 2, "李四", dt.date(1970, 1, 1))
    encounter_record(
        actor=None,
        patient=patient,
        institution=county.village,
        kind="inpatient",
        started_at=timezone.now() - dt.timedelta(days=3),
        discharged_on=timezone.localdate(),
        total_cost=Decimal("1000"),
    )
    seen: set[str] = set()
    for role in (Role.COUNTY_DOCTOR, Role.VILLAGE_DOCTOR, Role.CONSORTIUM_OFFICE):
        client = fhir(role)
        for name in registry.types:
            response = client.get(f"/fhir/{name}?_count=5")
            if response.status_code != 200:
                continue
            bundle = response.json()
            validate_structure(bundle, "Bundle")
            for entry in bundle.get("entry", []):
                validate_structure(entry["resource"])
                seen.add(entry["resource"]["resourceType"])
    validate_structure(fhir(None).get("/fhir/metadata").json(), "CapabilityStatement")
    expected = {"Patient", "Organization", "Practitioner", "PractitionerRole", "Encounter", "Task"}
    assert seen >= expected | {"ServiceRequest", "AuditEvent"}


def test_appointment_create_books_and_update_cancels(county, fhir):
    patient = _resident(county)
    dept = department_create(
        actor=None, institution=county.township, code="QK", name="全科", category="internal_medicine"
    )
    session = session_create(  # at the resident's township centre, whose doctors know her
        actor=None,
        institution=county.township,
        department=dept,
        date=timezone.localdate() + dt.timedelta(days=3),
        start=dt.time(8, 0),
        end=dt.time(8, 30),
        slot_minutes=15,
        capacity=1,
        referral_share=0,
    )
    slot, other = session.slots.order_by("starts_at")
    body: dict[str, Any] = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot.pk}"}],
        "participant": [
            {"actor": {"reference": f"Patient/{patient.pk}"}, "status": "accepted"},
            {"actor": {"reference": f"Organization/{county.township.code}"}, "status": "accepted"},
        ],
    }
    lead = fhir(Role.TOWNSHIP_DOCTOR)
    made = lead.post("/fhir/Appointment", body)
    assert made.status_code == 201, made.content
    created = made.json()
    assert made["Location"].endswith(f"/Appointment/{created['id']}")
    assert created["status"] == "booked" and created["slot"] == [{"reference": f"Slot/{slot.pk}"}]
    booking = Booking.objects.get(pk=created["id"])
    assert booking.patient_id == patient.pk and booking.status == "booked"
    assert AuditEvent.objects.filter(verb="booking.create", object_id=str(booking.pk)).exists()
    assert lead.get(f"/fhir/Slot/{slot.pk}").json()["status"] == "busy"

    _refused(lead.post("/fhir/Appointment", body), 409, "Appointment.patient")  # she is booked already
    neighbour = make_patient(county.village, 2, "李秀英", dt.date(1960, 5, 6))
    full = {
        **body,
        "participant": [{"actor": {"reference": f"Patient/{neighbour.pk}"}, "status": "accepted"}],
    }
    assert "No place" in _refused(lead.post("/fhir/Appointment", full), 409, "Appointment.slot")
    assert "proposed" not in _refused(
        lead.post("/fhir/Appointment", {**body, "status": "proposed"}), 422, "Appointment.status"
    )
    in_chinese = fhir(Role.TOWNSHIP_DOCTOR, "zh-hans").post(
        "/fhir/Appointment", {**body, "status": "pending"}
    )
    assert "status 必须为 booked" in in_chinese.json()["issue"][0]["diagnostics"]
    assert "Appointment.comment" in _refused(
        lead.post("/fhir/Appointment", {**body, "comment": "请空腹"}), 422, "Appointment.comment"
    )
    missing = {**body, "slot": [{"reference": "Slot/999999"}]}
    assert "Slot/999999" in _refused(lead.post("/fhir/Appointment", missing), 422, "Appointment.slot")
    stranger = {
        **body,
        "slot": [{"reference": f"Slot/{other.pk}"}],
        "participant": [
            *body["participant"],
            {"actor": {"reference": "Practitioner/999999"}, "status": "accepted"},
        ],
    }
    _refused(lead.post("/fhir/Appointment", stranger), 422, "Appointment.participant")
    wrong_time = {**body, "slot": [{"reference": f"Slot/{other.pk}"}], "start": "2001-01-01T08:00:00+08:00"}
    _refused(lead.post("/fhir/Appointment", wrong_time), 422, "Appointment.start")
    village = fhir(Role.VILLAGE_DOCTOR)  # staff book only their own institutions' slots
    assert (
        village.post("/fhir/Appointment", {**body, "slot": [{"reference": f"Slot/{other.pk}"}]}).status_code
        == 403
    )
    assert Booking.objects.count() == 1

    url = f"/fhir/Appointment/{booking.pk}"
    moved = {**created, "slot": [{"reference": f"Slot/{other.pk}"}]}
    _refused(lead.put(url, moved), 422, "Appointment.slot")
    _refused(lead.put(url, {**created, "status": "arrived"}), 409, "Appointment.status")
    someone_else = {
        **created,
        "participant": [{"actor": {"reference": f"Patient/{neighbour.pk}"}, "status": "accepted"}],
    }
    _refused(lead.put(url, someone_else), 422, "Appointment.participant")
    assert lead.put(url, created).status_code == 200  # nothing changed
    cancelled = lead.put(url, {**created, "status": "cancelled"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    booking.refresh_from_db()
    assert booking.status == "cancelled"
    assert lead.get(f"/fhir/Slot/{slot.pk}").json()["status"] == "free"  # the place is given back
    assert lead.post("/fhir/Appointment", body).status_code == 201  # and can be booked again
    from yigongti.interop.fhir.validate import validate_structure

    validate_structure(cancelled.json())


def test_service_request_create_writes_a_referral_slip(county, fhir):
    from yigongti.interop.fhir.referral_input import REASON_SYSTEM
    from yigongti.referrals.models import Referral

    patient = _resident(county)
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": "urgent",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]},
        "subject": {"reference": f"Patient/{patient.pk}"},
        "requester": {"reference": f"Organization/{county.village.code}"},
        "performer": [{"reference": f"Organization/{county.lead.code}"}],
        "reasonCode": [
            {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I10"}], "text": "原发性高血压"},
            {"coding": [{"system": REASON_SYSTEM, "code": "U01"}]},
        ],
        "note": [{"text": "血压控制不佳三月"}],
    }
    village = fhir(Role.VILLAGE_DOCTOR)
    made = village.post("/fhir/ServiceRequest", body)
    assert made.status_code == 201, made.content
    created = made.json()
    referral = Referral.objects.get(pk=created["id"])
    assert (referral.status, referral.urgency, referral.direction) == ("submitted", "urgent", "upward")
    assert (referral.patient_id, referral.to_institution_id, referral.reason.code) == (
        patient.pk,
        county.lead.pk,
        "U01",
    )
    assert referral.diagnosis_name == "原发性高血压" and referral.history == "血压控制不佳三月"
    assert AuditEvent.objects.filter(verb="referral.create", object_id=str(referral.pk)).exists()
    assert (
        created["reasonCode"][1]["coding"][0]["code"] == "U01"
        and created["note"][0]["text"] == "血压控制不佳三月"
    )
    lead = fhir(Role.COUNTY_DOCTOR)  # the receiver sees it in its worklist, as a requested Task
    assert lead.get(f"/fhir/Task/{referral.pk}").json()["status"] == "requested"
    draft = village.post("/fhir/ServiceRequest", {**body, "status": "draft"})
    assert draft.status_code == 201 and Referral.objects.get(pk=draft.json()["id"]).status == "draft"

    count = Referral.objects.count()
    _refused(
        village.post("/fhir/ServiceRequest", {**body, "status": "completed"}), 422, "ServiceRequest.status"
    )
    _refused(village.post("/fhir/ServiceRequest", {**body, "intent": "plan"}), 422, "ServiceRequest.intent")
    no_criterion = {**body, "reasonCode": body["reasonCode"][:1]}
    assert REASON_SYSTEM in _refused(
        village.post("/fhir/ServiceRequest", no_criterion), 422, "ServiceRequest.reasonCode"
    )
    down = {
        **body,
        "reasonCode": [body["reasonCode"][0], {"coding": [{"system": REASON_SYSTEM, "code": "D01"}]}],
    }
    _refused(
        village.post("/fhir/ServiceRequest", down), 422, "ServiceRequest.reasonCode"
    )  # a downward criterion
    snomed = {**body, "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]}]}
    assert "snomed" in _refused(
        village.post("/fhir/ServiceRequest", snomed), 422, "ServiceRequest.reasonCode"
    )
    nowhere = {**body, "performer": [{"reference": "Organization/999999999999"}]}
    _refused(village.post("/fhir/ServiceRequest", nowhere), 422, "ServiceRequest.performer")
    elsewhere = {**body, "requester": {"reference": f"Organization/{county.lead.code}"}}
    _refused(village.post("/fhir/ServiceRequest", elsewhere), 422, "ServiceRequest.requester")
    ghost = {**body, "subject": {"reference": "Patient/999999"}}
    _refused(village.post("/fhir/ServiceRequest", ghost), 422, "ServiceRequest.subject")
    stranger = make_patient(county.foreign_village, 1, "赵大海", dt.date(1950, 1, 1))
    outside = {**body, "subject": {"reference": f"Patient/{stranger.pk}"}}
    _refused(
        village.post("/fhir/ServiceRequest", outside), 404, "ServiceRequest.subject"
    )  # not hers to refer
    assert "ServiceRequest.orderDetail" in _refused(
        village.post("/fhir/ServiceRequest", {**body, "orderDetail": [{"text": "绿色通道"}]}),
        422,
        "ServiceRequest.orderDetail",
    )
    assert fhir(Role.HEALTH_BUREAU).post("/fhir/ServiceRequest", body).status_code == 403
    assert Referral.objects.count() == count
    from yigongti.interop.fhir.validate import validate_structure

    validate_structure(created)
