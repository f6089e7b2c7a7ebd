"""The referrals API: each endpoint allowed, denied and out of scope, with its audit row; every
illegal move a 409; bad input a 422 naming the field with nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.core.models import AuditEvent
from yigongti.referrals.models import Alert, Attachment, FollowUpTask, Referral

from .conftest import refer_up

pytestmark = pytest.mark.django_db


def as_(rc: Any, who: str) -> Client:
    c = Client()
    c.force_login(rc.users[who])
    return c


def post(c: Client, url: str, data: Any = None) -> Any:
    return c.post(url, data or {}, content_type="application/json")


def body(rc: Any, **change: Any) -> dict[str, Any]:
    data = {
        "patient_id": rc.patients["p"].pk,
        "to_institution": rc.lead.code,
        "diagnosis_code": "I10",
        "diagnosis_name": "高血压",
        "reason": "U01",
        "submit": True,
    }
    data.update(change)
    return data


def audited(verb: str, referral: Referral) -> int:
    return AuditEvent.objects.filter(verb=verb, object_id=str(referral.pk)).count()


def test_create_allowed_denied_and_out_of_scope(rc: Any) -> None:
    village = as_(rc, Role.VILLAGE_DOCTOR)
    created = post(village, "/api/referrals", body(rc))
    assert created.status_code == 201, created.content
    data = created.json()
    referral = Referral.objects.get(pk=data["id"])
    assert data["status"] == "submitted" and data["direction"] == "upward"
    assert "*" in data["patient_id_number"]
    assert [e["verb"] for e in data["timeline"]] == ["referral.create", "referral.submit"]
    assert audited("referral.create", referral) == 1
    assert post(as_(rc, Role.HEALTH_BUREAU), "/api/referrals", body(rc)).status_code == 403
    assert post(as_(rc, Role.RESIDENT), "/api/referrals", body(rc)).status_code == 403
    foreign = post(as_(rc, "t_village2"), "/api/referrals", body(rc))  # not her resident
    assert foreign.status_code == 404 and Referral.objects.count() == 1
    assert post(Client(), "/api/referrals", body(rc)).status_code == 401


@pytest.mark.parametrize(
    "change, field",
    [
        ({"to_institution": "441823101001"}, "to_institution"),  # her own clinic
        ({"diagnosis_code": ""}, "diagnosis_code"),
        ({"reason": "D01"}, "reason"),
        ({"reason": "X99"}, "reason"),
        ({"green_channel": "nope"}, "green_channel"),
        ({"to_institution": "999999999999"}, "to_institution"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(rc: Any, change: dict[str, Any], field: str) -> None:
    before = (Referral.objects.count(), AuditEvent.objects.count())
    answer = post(as_(rc, Role.VILLAGE_DOCTOR), "/api/referrals", body(rc, **change))
    assert answer.status_code == 422, answer.content
    assert answer.json()["field"] == field
    assert (Referral.objects.count(), AuditEvent.objects.count()) == before


def test_the_whole_loop_through_the_api(rc: Any) -> None:
    referral = refer_up(rc)
    county = as_(rc, Role.COUNTY_DOCTOR)
    url = f"/api/referrals/{referral.pk}"
    dept = rc.lead.departments.get(code="NK")
    accepted = post(
        county, f"{url}/accept", {"department_id": dept.pk, "doctor_id": rc.staff["county_doctor"].pk}
    )
    assert accepted.status_code == 200 and accepted.json()["to_department"] == "内科"
    assert post(county, f"{url}/accept").json()["code"] == "illegal_transition"
    assert post(county, f"{url}/arrive").status_code == 200
    assert post(county, f"{url}/start-care", {"mode": "admitted"}).status_code == 200
    assert post(county, f"{url}/complete", {"diagnosis_code": "I10", "diagnosis_name": ""}).status_code == 422
    done = post(county, f"{url}/complete", {"diagnosis_code": "I10", "diagnosis_name": "", "advice": "随访"})
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert done.json()["follow_ups"][0]["status"] == "open"
    village = as_(rc, Role.VILLAGE_DOCTOR)
    assert post(county, f"{url}/follow-up", {"note": "x"}).status_code == 404  # not the grassroots
    followed = post(village, f"{url}/follow-up", {"note": "血压平稳"})
    assert followed.status_code == 200 and followed.json()["status"] == "followed_up"
    assert post(village, f"{url}/follow-up", {"note": "again"}).status_code == 409
    assert post(village, f"{url}/cancel", {"reason": "x"}).status_code == 409
    for verb in ("accept", "arrive", "start_care", "complete", "follow_up"):
        assert audited(f"referral.{verb}", referral) == 1


def test_accepting_ones_own_referral_is_refused(rc: Any) -> None:
    referral = refer_up(rc)
    answer = post(as_(rc, Role.VILLAGE_DOCTOR), f"/api/referrals/{referral.pk}/accept")
    assert answer.status_code == 403 and audited("referral.accept", referral) == 0
    assert post(as_(rc, "t_town2"), f"/api/referrals/{referral.pk}/accept").status_code == 404


def test_reject_redirect_and_cancel(rc: Any) -> None:
    office = as_(rc, Role.CONSORTIUM_OFFICE)
    a, b, c = refer_up(rc), refer_up(rc), refer_up(rc)
    assert post(office, f"/api/referrals/{a.pk}/reject", {"reason": ""}).status_code == 422
    assert (
        post(office, f"/api/referrals/{a.pk}/reject", {"reason": "床位已满"}).json()["status"] == "rejected"
    )
    moved = post(office, f"/api/referrals/{b.pk}/redirect", {"to_institution": rc.tcm.code, "note": "中医"})
    assert moved.status_code == 200 and moved.json()["to_institution"]["code"] == rc.tcm.code
    village = as_(rc, Role.VILLAGE_DOCTOR)
    assert (
        post(village, f"/api/referrals/{c.pk}/cancel", {"reason": "患者拒绝"}).json()["status"] == "cancelled"
    )
    assert audited("referral.redirect", b) == 1 and audited("referral.cancel", c) == 1


def test_lists_are_scoped_and_masked(rc: Any) -> None:
    referral = refer_up(rc)
    for who, expected in [
        (Role.VILLAGE_DOCTOR, 1),
        (Role.TOWNSHIP_DOCTOR, 1),  # its village clinic sent it
        (Role.COUNTY_DOCTOR, 1),
        (Role.CONSORTIUM_OFFICE, 1),
        ("t_town2", 0),
        ("t_tcm", 0),
    ]:
        answer = as_(rc, who).get("/api/referrals")
        assert answer.status_code == 200 and answer.json()["count"] == expected, who
    assert as_(rc, Role.HEALTH_BUREAU).get("/api/referrals").status_code == 403
    counts = as_(rc, Role.HEALTH_BUREAU).get("/api/referrals/counts").json()
    assert counts["total"] == 1 and counts["by_status"]["submitted"] == 1
    assert as_(rc, Role.COUNTY_DOCTOR).get("/api/referrals?box=outgoing").json()["count"] == 0
    assert as_(rc, Role.COUNTY_DOCTOR).get("/api/referrals?status=rejected").json()["count"] == 0
    detail = as_(rc, Role.COUNTY_DOCTOR).get(f"/api/referrals/{referral.pk}")
    assert detail.status_code == 200 and "accept" in detail.json()["actions"]
    assert audited("referral.read", referral) == 1
    assert as_(rc, "t_town2").get(f"/api/referrals/{referral.pk}").status_code == 404


def test_slip_pdf_and_attachments(rc: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    referral = refer_up(rc)
    village = as_(rc, Role.VILLAGE_DOCTOR)
    pdf = village.get(f"/api/referrals/{referral.pk}/slip.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    upload = SimpleUploadedFile("lab.png", b"\x89PNG....", content_type="image/png")
    added = village.post(
        f"/api/referrals/{referral.pk}/attachments", {"file": upload, "description": "血常规"}
    )
    assert added.status_code == 201, added.content
    attachment = Attachment.objects.get()
    assert audited("referral.attach", referral) == 1
    url = f"/api/referrals/{referral.pk}/attachments/{attachment.pk}"
    assert as_(rc, Role.COUNTY_DOCTOR).get(url).status_code == 200
    assert as_(rc, "t_town2").get(url).status_code == 404
    assert as_(rc, Role.HEALTH_BUREAU).get(url).status_code == 403
    bad = village.post(
        f"/api/referrals/{referral.pk}/attachments", {"file": SimpleUploadedFile("a.exe", b"MZ")}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "file"


def test_alerts_beds_follow_ups_reference_and_lookup(rc: Any) -> None:
    green = post(as_(rc, Role.VILLAGE_DOCTOR), "/api/referrals", body(rc, green_channel="stroke"))
    assert green.status_code == 201 and green.json()["urgency"] == "emergency"
    county = as_(rc, Role.COUNTY_DOCTOR)
    alerts = county.get("/api/referrals/alerts").json()
    assert len(alerts) == 1 and as_(rc, Role.VILLAGE_DOCTOR).get("/api/referrals/alerts").json() == []
    alert = Alert.objects.get()
    assert post(as_(rc, "t_town2"), f"/api/referrals/alerts/{alert.pk}/acknowledge").status_code == 404
    assert post(county, f"/api/referrals/alerts/{alert.pk}/acknowledge").status_code == 200
    beds = county.get("/api/referrals/beds").json()
    nk = next(b for b in beds if b["department"] == "内科")
    assert nk["held"] == 1 and nk["free"] == nk["beds"] - 1
    answer = county.put(
        f"/api/referrals/beds/{nk['department_id']}", {"occupied": 10}, content_type="application/json"
    )
    assert answer.status_code == 200 and answer.json()["free"] == nk["beds"] - 11
    too_many = county.put(
        f"/api/referrals/beds/{nk['department_id']}", {"occupied": 999}, content_type="application/json"
    )
    assert too_many.status_code == 422
    assert (
        as_(rc, Role.VILLAGE_DOCTOR)
        .put(f"/api/referrals/beds/{nk['department_id']}", {"occupied": 1}, content_type="application/json")
        .status_code
        == 404
    )
    assert AuditEvent.objects.filter(verb="referral.ward_occupancy").count() == 1
    assert (
        as_(rc, Role.VILLAGE_DOCTOR).get("/api/referrals/follow-ups").json()["count"]
        == FollowUpTask.objects.count()
    )
    reference = county.get("/api/referrals/reference").json()
    assert {g["code"] for g in reference["green_channel"]} >= {
        "chest_pain",
        "stroke",
        "trauma",
        "maternal",
        "neonatal",
    }
    hits = as_(rc, Role.VILLAGE_DOCTOR).get("/api/referrals/patients", {"q": "王"}).json()
    assert [h["name"] for h in hits] == ["王桂兰"] and "*" in hits[0]["id_number"]
    assert as_(rc, "t_village2").get("/api/referrals/patients", {"q": "王"}).json() == []


def test_slots_and_booking_with_the_referral(rc: Any) -> None:
    from .test_services import _reserved_slot

    slot = _reserved_slot(rc)
    village = as_(rc, Role.VILLAGE_DOCTOR)
    listed = village.get("/api/referrals/slots", {"institution": rc.lead.code}).json()
    assert slot.pk in [s["id"] for s in listed]
    created = post(village, "/api/referrals", body(rc, slot_id=slot.pk))
    assert created.status_code == 201 and created.json()["appointment_status"] == "booked"
    assert AuditEvent.objects.filter(verb="booking.create").count() == 1
    again = post(village, "/api/referrals", body(rc, slot_id=slot.pk))  # the place is taken
    assert again.status_code == 409 and Referral.objects.count() == 1
