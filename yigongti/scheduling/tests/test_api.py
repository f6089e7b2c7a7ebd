"""The appointments API: each endpoint allowed, denied (role) and out of scope, with its audit
row, and bad input answered with a clear error and nothing written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from yigongti.accounts.choices import Role
from yigongti.accounts.services import token_create
from yigongti.core.models import AuditEvent
from yigongti.scheduling import services
from yigongti.scheduling.choices import BookingStatus
from yigongti.scheduling.models import Booking, ClinicSession, Slot

from .conftest import day, into_the_past, open_session

pytestmark = pytest.mark.django_db


def api(county, role: str) -> Client:
    token = token_create(actor=None, user=county.users[role], name="test")[1]
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="zh-hans")


def _error(response, status: int, code: str | None = None, field: str | None = None) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    if code:
        assert body["code"] == code
    if field:
        assert body["field"] == field


def _slots(session) -> list[Slot]:
    return list(Slot.objects.filter(session=session).order_by("starts_at"))


def test_resident_finds_open_slots_and_books_for_herself_and_her_daughter(county, sched):
    session = open_session(county.township, sched.town_dept, offset=7, share=50)
    c = api(county, Role.RESIDENT)
    r = c.get("/api/scheduling/slots", {"institution": county.township.code})
    assert r.status_code == 200
    items = r.json()["items"]
    assert items and not any(i["reserved_for_referral"] for i in items)
    r = c.post("/api/scheduling/bookings", {"slot_id": items[0]["slot_id"]}, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["patient_name"] == "陈桂芳"
    r = c.post(
        "/api/scheduling/bookings",
        {"slot_id": items[1]["slot_id"], "patient_id": sched.daughter.pk},
        content_type="application/json",
    )
    assert r.status_code == 201
    booking_id = r.json()["booking_id"]
    assert AuditEvent.objects.filter(verb="booking.create", object_id=str(booking_id)).exists()
    mine = c.get("/api/scheduling/bookings").json()
    assert mine["count"] == 2
    family = c.get("/api/scheduling/family").json()
    assert [f["name"] for f in family] == ["陈桂芳", "陈小红"] and family[0]["is_self"]
    assert session.pk == items[0]["session_id"]


def test_booking_refusals_are_clear_and_write_nothing(county, sched):
    c = api(county, Role.RESIDENT)
    session = open_session(county.lead, sched.lead_dept, offset=7, share=50)
    reserved = next(s for s in _slots(session) if s.reserved_for_referral)
    public = next(s for s in _slots(session) if not s.reserved_for_referral)
    post = lambda body: c.post("/api/scheduling/bookings", body, content_type="application/json")  # noqa: E731
    _error(post({"slot_id": reserved.pk}), 409, "reserved", "slot")
    _error(post({"slot_id": public.pk, "patient_id": sched.neighbour.pk}), 422, "invalid", "patient")
    _error(post({"slot_id": public.pk, "for_referral": True}), 403, "forbidden")
    _error(post({"slot_id": 10**30}), 422, "invalid", "slot_id")  # wider than any column: refused as input
    _error(post({"slot_id": 987654}), 404, "not_found", "slot")
    past = into_the_past(open_session(county.lead, sched.lead_dept, offset=3))
    _error(post({"slot_id": _slots(past)[0].pk}), 422, "invalid", "slot")
    r = c.post("/api/scheduling/bookings", "{not json", content_type="application/json")
    _error(r, 400)
    assert not Booking.objects.exists()
    assert not AuditEvent.objects.filter(verb="booking.create").exists()
    assert all(s.booked == 0 for s in Slot.objects.all())


def test_referring_doctor_takes_a_reserved_slot_at_the_county_hospital(county, sched):
    session = open_session(county.lead, sched.lead_dept, offset=7, share=50)
    c = api(county, Role.TOWNSHIP_DOCTOR)
    plain = c.get("/api/scheduling/slots", {"institution": county.lead.code}).json()["items"]
    referral = c.get("/api/scheduling/slots", {"institution": county.lead.code, "for_referral": True}).json()[
        "items"
    ]
    assert len(referral) == len(_slots(session)) > len(plain)
    reserved = next(i for i in referral if i["reserved_for_referral"])
    body = {"slot_id": reserved["slot_id"], "patient_id": sched.neighbour.pk}
    _error(c.post("/api/scheduling/bookings", body, content_type="application/json"), 403)
    r = c.post("/api/scheduling/bookings", {**body, "for_referral": True}, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["for_referral"] is True
    event = AuditEvent.objects.get(verb="booking.create", object_id=str(r.json()["booking_id"]))
    assert event.actor_id == county.users[Role.TOWNSHIP_DOCTOR].pk
    # the county hospital's own staff see the booking in the session's day list
    lead = api(county, Role.COUNTY_DOCTOR)
    day_list = lead.get(f"/api/scheduling/sessions/{session.pk}/bookings").json()
    assert [b["patient_name"] for b in day_list] == ["王春梅"]
    # but not the township's sessions
    town_session = open_session(county.township, sched.town_dept, offset=7)
    _error(lead.get(f"/api/scheduling/sessions/{town_session.pk}"), 404)


def test_session_endpoints_for_staff_and_refusals(county, sched):
    c = api(county, Role.TOWNSHIP_DOCTOR)
    body = {
        "institution": county.township.code,
        "department_id": sched.town_dept.pk,
        "doctor_id": county.staff["county_doctor"].pk,
        "date": day(4).isoformat(),
        "start": "14:00",
        "end": "16:00",
        "slot_minutes": 20,
        "capacity": 2,
        "referral_share": 50,
    }
    r = c.post("/api/scheduling/sessions", body, content_type="application/json")
    assert r.status_code == 201, r.content
    out = r.json()
    assert (out["slots"], out["places"], out["reserved_slots"], out["kind"]) == (6, 12, 3, "specialist")
    assert AuditEvent.objects.filter(verb="clinic_session.create", object_id=str(out["session_id"])).exists()
    _error(
        c.post("/api/scheduling/sessions", {**body, "start": "15:00"}, content_type="application/json"), 409
    )
    _error(
        c.post("/api/scheduling/sessions", {**body, "end": "13:00"}, content_type="application/json"),
        422,
        field="end",
    )
    _error(
        c.post(
            "/api/scheduling/sessions",
            {**body, "department_id": sched.lead_dept.pk},
            content_type="application/json",
        ),
        422,
        field="department_id",
    )
    _error(
        c.post(
            "/api/scheduling/sessions",
            {**body, "institution": county.lead.code},
            content_type="application/json",
        ),
        404,
        field="institution",
    )
    for role in (Role.RESIDENT, Role.HEALTH_BUREAU):
        _error(api(county, role).post("/api/scheduling/sessions", body, content_type="application/json"), 403)
    assert ClinicSession.objects.count() == 1
    listed = c.get(f"/api/scheduling/sessions?date_from={day(0).isoformat()}&days=14").json()
    assert listed["count"] == 1
    detail = c.get(f"/api/scheduling/sessions/{out['session_id']}").json()
    assert len(detail["slot_list"]) == 6
    first = day(1)
    gen = {**body, "first_date": first.isoformat(), "last_date": (first + dt.timedelta(days=13)).isoformat()}
    gen.pop("date")
    gen.pop("doctor_id")
    r = c.post(
        "/api/scheduling/sessions/generate", {**gen, "weekdays": [0, 2, 4]}, content_type="application/json"
    )
    assert r.status_code == 201, r.content
    assert len(r.json()["created"]) == 6
    r = c.post(
        f"/api/scheduling/sessions/{out['session_id']}/cancel",
        {"reason": "专家会诊"},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    _error(
        c.post(f"/api/scheduling/sessions/{out['session_id']}/cancel", {}, content_type="application/json"),
        409,
    )


def test_day_list_check_in_and_no_show(county, sched):
    session = open_session(county.township, sched.town_dept, offset=2, capacity=2)
    slot = _slots(session)[0]
    resident = county.users[Role.RESIDENT]
    one = services.booking_create(actor=resident, slot=slot, patient=sched.own)
    two = services.booking_create(actor=resident, slot=slot, patient=sched.daughter)
    nurse = api(county, Role.NURSE)
    _error(nurse.post(f"/api/scheduling/bookings/{one.pk}/check-in"), 409, "conflict")
    into_the_past(session, days=0)
    _error(api(county, Role.RESIDENT).post(f"/api/scheduling/bookings/{one.pk}/check-in"), 403)
    _error(api(county, Role.COUNTY_DOCTOR).post(f"/api/scheduling/bookings/{one.pk}/check-in"), 404)
    r = nurse.post(f"/api/scheduling/bookings/{one.pk}/check-in")
    assert r.status_code == 200 and r.json()["status"] == BookingStatus.CHECKED_IN
    r = nurse.post(f"/api/scheduling/bookings/{two.pk}/no-show")
    assert r.status_code == 200 and r.json()["status"] == BookingStatus.NO_SHOW
    assert AuditEvent.objects.filter(verb="booking.no_show", object_id=str(two.pk)).exists()
    _error(nurse.post(f"/api/scheduling/bookings/{two.pk}/check-in"), 409)


def test_cancel_and_reschedule_over_the_api(county, sched):
    session = open_session(county.township, sched.town_dept, offset=3)
    a, b = _slots(session)[:2]
    booking = services.booking_create(actor=county.users[Role.RESIDENT], slot=a, patient=sched.own)
    c = api(county, Role.RESIDENT)
    _error(
        api(county, Role.COUNTY_DOCTOR).post(
            f"/api/scheduling/bookings/{booking.pk}/cancel", {}, content_type="application/json"
        ),
        404,
    )
    r = c.post(
        f"/api/scheduling/bookings/{booking.pk}/reschedule",
        {"slot_id": b.pk},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    new_id = r.json()["booking_id"]
    assert r.json()["rescheduled_from_id"] == booking.pk
    assert c.get(f"/api/scheduling/bookings/{booking.pk}").json()["status"] == "rescheduled"
    r = c.post(
        f"/api/scheduling/bookings/{new_id}/cancel", {"reason": "好了"}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert AuditEvent.objects.filter(verb="booking.cancel", object_id=str(new_id)).exists()
    _error(c.post(f"/api/scheduling/bookings/{new_id}/cancel", {}, content_type="application/json"), 409)
    _error(c.get("/api/scheduling/bookings/99999999999999999999999"), 404)
    _error(c.get("/api/scheduling/bookings", {"status": "lost"}), 422, field="status")


def test_policy_and_no_show_pause(county, sched):
    c = api(county, Role.RESIDENT)
    r = c.get("/api/scheduling/policy", {"institution": county.township.code})
    assert r.status_code == 200
    assert r.json()["no_show_limit"] == 3 and r.json()["my_booking_paused_until"] is None
    _error(c.get("/api/scheduling/policy", {"institution": county.external.code}), 404)
    _error(api(county, Role.COUNTY_DOCTOR).get("/api/scheduling/family"), 403)


def test_office_sees_counts_not_the_patients(county, sched, login_client):
    session = open_session(county.township, sched.town_dept, offset=3, capacity=2)
    services.booking_create(actor=county.users[Role.RESIDENT], slot=_slots(session)[0], patient=sched.own)
    office = api(county, Role.CONSORTIUM_OFFICE)
    listed = office.get(f"/api/scheduling/sessions?institution={county.township.code}&days=7").json()
    assert listed["items"][0]["booked"] == 1
    _error(office.get(f"/api/scheduling/sessions/{session.pk}/bookings"), 403)
    assert office.get("/api/scheduling/bookings").json()["count"] == 0
    page = login_client(Role.CONSORTIUM_OFFICE).get(f"/scheduling/sessions/{session.pk}/").content.decode()
    assert "no-patients" in page and "陈桂芳" not in page
