"""The appointment pages: each page for the roles that use it, the refusals, and the writes made
through the forms (with their audit rows)."""

from __future__ import annotations

import datetime as dt

import pytest

from yigongti.accounts.choices import Role
from yigongti.core.models import AuditEvent
from yigongti.scheduling import services
from yigongti.scheduling.choices import BookingStatus
from yigongti.scheduling.models import Booking, ClinicSession, Slot

from .conftest import day, into_the_past, open_session

pytestmark = pytest.mark.django_db


def _slots(session) -> list[Slot]:
    return list(Slot.objects.filter(session=session).order_by("starts_at"))


def test_staff_open_a_session_and_see_it_listed(county, sched, login_client):
    c = login_client(Role.TOWNSHIP_DOCTOR)
    r = c.get("/scheduling/sessions/new/")
    assert r.status_code == 200 and "session-form" in r.content.decode()
    data = {
        "date": day(3).isoformat(),
        "department": sched.town_dept.pk,
        "doctor": county.staff["county_doctor"].pk,
        "start": "08:00",
        "end": "10:00",
        "slot_minutes": 30,
        "capacity": 2,
        "referral_share": 25,
        "note": "",
    }
    r = c.post(f"/scheduling/sessions/new/?institution={county.township.code}", data)
    session = ClinicSession.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/scheduling/sessions/{session.pk}/"
    assert AuditEvent.objects.filter(verb="clinic_session.create", object_id=str(session.pk)).exists()
    r = c.get(f"/scheduling/sessions/?date={day(0).isoformat()}&days=7")
    assert "专家坐诊" in r.content.decode() or "李建国" in r.content.decode()
    r = c.post(f"/scheduling/sessions/new/?institution={county.township.code}", {**data, "end": "07:00"})
    assert r.status_code == 422 and ClinicSession.objects.count() == 1


def test_generate_a_month_from_the_form(county, sched, login_client):
    c = login_client(Role.NURSE)
    first = day(1)
    data = {
        "first_date": first.isoformat(),
        "last_date": (first + dt.timedelta(days=27)).isoformat(),
        "weekdays": ["1", "3"],
        "department": sched.town_dept.pk,
        "start": "14:00",
        "end": "17:00",
        "slot_minutes": 20,
        "capacity": 1,
        "referral_share": 20,
    }
    r = c.post("/scheduling/sessions/generate/", data)
    assert r.status_code == 302
    assert ClinicSession.objects.count() == 8


def test_session_pages_refused_to_residents_and_out_of_scope(county, sched, login_client):
    session = open_session(county.township, sched.town_dept)
    assert login_client(Role.RESIDENT).get("/scheduling/sessions/").status_code == 403
    assert login_client(Role.COUNTY_DOCTOR).get(f"/scheduling/sessions/{session.pk}/").status_code == 404


def test_resident_books_for_her_daughter_and_cancels(county, sched, login_client):
    session = open_session(county.township, sched.town_dept, offset=6, share=50)
    public = next(s for s in _slots(session) if not s.reserved_for_referral)
    reserved = next(s for s in _slots(session) if s.reserved_for_referral)
    c = login_client(Role.RESIDENT)
    r = c.get(f"/scheduling/book/?institution={county.township.code}")
    page = r.content.decode()
    assert r.status_code == 200 and f"/scheduling/book/{public.pk}/" in page
    assert f"/scheduling/book/{reserved.pk}/" not in page
    r = c.post(f"/scheduling/book/{public.pk}/", {"patient": sched.neighbour.pk})
    assert r.status_code == 422 and not Booking.objects.exists()
    r = c.post(f"/scheduling/book/{reserved.pk}/", {"patient": sched.daughter.pk})
    assert r.status_code == 409 and not Booking.objects.exists()
    r = c.post(f"/scheduling/book/{public.pk}/", {"patient": sched.daughter.pk})
    assert r.status_code == 302
    booking = Booking.objects.get()
    assert booking.patient == sched.daughter
    assert "陈小红" in c.get("/scheduling/bookings/").content.decode()
    r = c.post(f"/scheduling/bookings/{booking.pk}/cancel/", {"next": "/scheduling/bookings/"})
    assert r.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert AuditEvent.objects.filter(verb="booking.cancel", object_id=str(booking.pk)).exists()


def test_day_list_check_in_with_htmx_and_desk_booking(county, sched, login_client):
    session = open_session(county.township, sched.town_dept, offset=2, capacity=2)
    slot = _slots(session)[0]
    booking = services.booking_create(actor=county.users[Role.RESIDENT], slot=slot, patient=sched.own)
    c = login_client(Role.NURSE)
    r = c.post(
        f"/scheduling/sessions/{session.pk}/book/",
        {"slot": slot.pk, "health_record_number": sched.neighbour.health_record_number},
    )
    assert r.status_code == 302 and Booking.objects.filter(patient=sched.neighbour).exists()
    r = c.post(f"/scheduling/sessions/{session.pk}/book/", {"slot": slot.pk, "health_record_number": "999"})
    assert r.status_code == 404
    into_the_past(session, days=0)
    r = c.get(f"/scheduling/sessions/{session.pk}/")
    assert r.status_code == 200 and "陈桂芳" in r.content.decode()
    r = c.post(f"/scheduling/bookings/{booking.pk}/check-in/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and 'data-testid="booking-row"' in r.content.decode()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN
    r = c.post(f"/scheduling/bookings/{booking.pk}/no-show/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and 'data-testid="row-error"' in r.content.decode()
    assert login_client(Role.RESIDENT).post(f"/scheduling/bookings/{booking.pk}/no-show/").status_code == 403


def test_referring_doctor_books_a_reserved_slot_and_reschedules(county, sched, login_client):
    session = open_session(county.lead, sched.lead_dept, offset=6, share=50)
    reserved = [s for s in _slots(session) if s.reserved_for_referral]
    c = login_client(Role.TOWNSHIP_DOCTOR)
    r = c.get(f"/scheduling/book/?institution={county.lead.code}&for_referral=on")
    assert f"/scheduling/book/{reserved[0].pk}/" in r.content.decode()
    r = c.post(
        f"/scheduling/book/{reserved[0].pk}/",
        {"health_record_number": sched.neighbour.health_record_number, "for_referral": "on"},
    )
    assert r.status_code == 302
    booking = Booking.objects.get()
    assert booking.for_referral
    r = c.get(f"/scheduling/bookings/{booking.pk}/reschedule/")
    assert r.status_code == 200
    r = c.post(f"/scheduling/bookings/{booking.pk}/reschedule/", {"slot": reserved[1].pk})
    assert r.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.RESCHEDULED
    assert Booking.objects.get(rescheduled_from=booking).slot == reserved[1]
