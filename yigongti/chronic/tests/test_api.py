"""The API: each endpoint allowed, denied and out of scope, with its audit row; bad input a 422
naming the field with nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.chronic.models import ElderlyService, Enrollment, FollowUp, Screening
from yigongti.core.models import AuditEvent
from yigongti.core.testing import add_resident_record

from .conftest import days_ago, enrol

pytestmark = pytest.mark.django_db


def as_(cc: Any, who: str) -> Client:
    c = Client()
    c.force_login(cc.users[who])
    return c


def post(c: Client, url: str, data: Any = None) -> Any:
    return c.post(url, data if data is not None else {}, content_type="application/json")


def fu(entry: Any, **change: Any) -> dict[str, Any]:
    data = {
        "enrollment_id": entry.pk,
        "visit_date": str(days_ago(2)),
        "sbp": 150,
        "dbp": 92,
        "heart_rate": 80,
    }
    data.update(change)
    return data


def test_enrol_allowed_denied_and_out_of_scope(cc: Any) -> None:
    body = {
        "patient_id": cc.patients["ht"].pk,
        "programme": "hypertension",
        "diagnosed_on": str(days_ago(60)),
        "source": "screening",
        "risk_level": "high",
    }
    ok = post(as_(cc, Role.VILLAGE_DOCTOR), "/api/chronic/enrollments", body)
    assert ok.status_code == 201, ok.content
    assert AuditEvent.objects.filter(verb="chronic.enroll", object_id=str(ok.json()["id"])).count() == 1
    assert post(as_(cc, Role.VILLAGE_DOCTOR), "/api/chronic/enrollments", body).status_code == 409
    assert post(as_(cc, Role.HEALTH_BUREAU), "/api/chronic/enrollments", body).status_code == 403
    assert post(as_(cc, Role.CONSORTIUM_OFFICE), "/api/chronic/enrollments", body).status_code == 403
    foreign = post(as_(cc, "village2"), "/api/chronic/enrollments", body)
    assert foreign.status_code == 404 and foreign.json()["field"] == "patient"
    assert Enrollment.objects.count() == 1


def test_follow_up_classified_and_bad_input(cc: Any) -> None:
    entry = enrol(cc, "ht")
    village = as_(cc, Role.VILLAGE_DOCTOR)
    r = post(village, "/api/chronic/follow-ups", fu(entry))
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["classification"] == "uncontrolled" and data["next_due_on"] == str(days_ago(2 - 14))
    assert AuditEvent.objects.filter(verb="chronic.follow_up", object_id=str(data["id"])).count() == 1
    for change, field in (
        ({"sbp": 300, "dbp": 20}, "sbp"),
        ({"visit_date": str(days_ago(-1))}, "visit_date"),
        ({"visit_date": str(days_ago(1000))}, "visit_date"),
        ({"weight_kg": "7"}, "weight_kg"),
    ):
        bad = post(village, "/api/chronic/follow-ups", fu(entry, **change))
        assert bad.status_code == 422 and bad.json()["field"] == field, bad.content
    assert post(village, "/api/chronic/follow-ups", "{not json").status_code in (400, 422)
    assert post(as_(cc, "village2"), "/api/chronic/follow-ups", fu(entry)).status_code == 404
    assert post(as_(cc, Role.HEALTH_BUREAU), "/api/chronic/follow-ups", fu(entry)).status_code == 403
    assert FollowUp.objects.count() == 1


def test_one_click_referral(cc: Any) -> None:
    entry = enrol(cc, "ht")
    village = as_(cc, Role.VILLAGE_DOCTOR)
    row = post(village, "/api/chronic/follow-ups", fu(entry, sbp=186, dbp=112)).json()
    assert row["classification"] == "urgent"
    assert post(as_(cc, "village2"), f"/api/chronic/follow-ups/{row['id']}/referral").status_code == 404
    r = post(village, f"/api/chronic/follow-ups/{row['id']}/referral")
    assert r.status_code == 201, r.content
    assert r.json()["status"] == "draft"
    assert AuditEvent.objects.filter(verb="chronic.refer", object_id=str(row["id"])).count() == 1
    assert post(village, f"/api/chronic/follow-ups/{row['id']}/referral").status_code == 409
    assert post(village, "/api/chronic/follow-ups/99999999999/referral").status_code == 404
    assert post(village, "/api/chronic/follow-ups/x/referral").status_code == 404


def test_worklist_counts_and_office_aggregates(cc: Any) -> None:
    enrol(cc, "ht", diagnosed=40)  # first follow-up due 21 days ago: overdue
    village = as_(cc, Role.VILLAGE_DOCTOR)
    page = village.get("/api/chronic/tasks?box=overdue").json()
    assert page["count"] == 1 and page["items"][0]["patient_name"] == "王建国"
    assert village.get("/api/chronic/tasks/counts").json()["overdue"] == 1
    assert as_(cc, "village2").get("/api/chronic/tasks").json()["count"] == 0
    assert as_(cc, Role.CONSORTIUM_OFFICE).get("/api/chronic/tasks").status_code == 403
    office = as_(cc, Role.CONSORTIUM_OFFICE).get("/api/chronic/villages").json()
    mine = next(r for r in office if r["village_id"] == cc.village.pk)
    assert mine["hypertension"] == 1 and mine["overdue"] == 1
    assert "patient_name" not in mine
    assert as_(cc, Role.RESIDENT).get("/api/chronic/villages").status_code == 403
    assert village.get("/api/chronic/tasks?box=nonsense").status_code == 422


def test_patient_record_is_audited_and_scoped(cc: Any) -> None:
    entry = enrol(cc, "ht")
    r = as_(cc, Role.TOWNSHIP_DOCTOR).get(f"/api/chronic/patients/{entry.patient_id}")
    assert r.status_code == 200 and r.json()["enrollments"][0]["programme"] == "hypertension"
    assert AuditEvent.objects.filter(verb="chronic.read", object_id=str(entry.patient_id)).count() == 1
    assert as_(cc, "village2").get(f"/api/chronic/patients/{entry.patient_id}").status_code == 404
    assert as_(cc, Role.HEALTH_BUREAU).get(f"/api/chronic/patients/{entry.patient_id}").status_code == 403


def test_elderly_and_screening(cc: Any) -> None:
    village = as_(cc, Role.VILLAGE_DOCTOR)
    body = {
        "patient_id": cc.patients["old"].pk,
        "service_date": str(days_ago(3)),
        "self_care_score": 5,
        "sbp": 130,
        "dbp": 80,
    }
    r = post(village, "/api/chronic/elderly-services", body)
    assert r.status_code == 201 and r.json()["self_care_band"] == "mild"
    assert (
        AuditEvent.objects.filter(verb="chronic.elderly_service", object_id=str(r.json()["id"])).count() == 1
    )
    assert post(as_(cc, "village2"), "/api/chronic/elderly-services", body).status_code == 404
    assert post(as_(cc, Role.RESIDENT), "/api/chronic/elderly-services", body).status_code == 403
    bad = post(village, "/api/chronic/elderly-services", {**body, "self_care_score": 99})
    assert bad.status_code == 422 and bad.json()["field"] == "self_care_score"
    assert ElderlyService.objects.count() == 1
    s = {
        "patient_id": cc.patients["dm"].pk,
        "screened_on": str(days_ago(1)),
        "sbp": 132,
        "dbp": 84,
        "high_risk": True,
    }
    r = post(village, "/api/chronic/screenings", s)
    assert r.status_code == 201
    assert AuditEvent.objects.filter(verb="chronic.screening", object_id=str(r.json()["id"])).count() == 1
    assert post(as_(cc, "village2"), "/api/chronic/screenings", s).status_code == 404
    assert Screening.objects.count() == 1


def test_resident_sees_only_herself(cc: Any) -> None:
    me = add_resident_record(cc)
    from yigongti.chronic import services

    services.enrollment_create(
        actor=cc.users[Role.VILLAGE_DOCTOR],
        patient=me,
        programme="hypertension",
        diagnosed_on=days_ago(100),
        source="outpatient",
        risk_level="low",
    )
    resident = as_(cc, Role.RESIDENT)
    r = resident.get("/api/chronic/me")
    assert r.status_code == 200 and r.json()["tasks"][0]["programme"] in ("hypertension", "elderly")
    assert resident.get(f"/api/chronic/patients/{cc.patients['ht'].pk}").status_code == 404
    assert as_(cc, Role.VILLAGE_DOCTOR).get("/api/chronic/me").status_code == 403


def test_rebuild_office_only(cc: Any) -> None:
    enrol(cc, "ht")
    assert post(as_(cc, Role.VILLAGE_DOCTOR), "/api/chronic/tasks/rebuild").status_code == 403
    r = post(as_(cc, Role.CONSORTIUM_OFFICE), "/api/chronic/tasks/rebuild")
    assert r.status_code == 200 and r.json()["rule_version"] == "2026.1"
    assert AuditEvent.objects.filter(verb="chronic.tasks_rebuild").count() == 1
