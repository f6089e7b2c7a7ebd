"""Sessions and bookings through the services: the rules, the refusals, the audit rows, and that a
refused write leaves nothing behind."""

from __future__ import annotations

import datetime as dt

import pytest

from yigongti.accounts.choices import Role
from yigongti.core.access import scope_for
from yigongti.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from yigongti.core.models import AuditEvent
from yigongti.scheduling import services
from yigongti.scheduling.choices import BookingStatus, SessionKind, SessionStatus
from yigongti.scheduling.models import Booking, ClinicSession, SchedulingPolicy, Slot
from yigongti.scheduling.selectors import no_show_block_until, slots_open_for

from .conftest import day, into_the_past, open_session

pytestmark = pytest.mark.django_db


def _first(session) -> Slot:
    return Slot.objects.filter(session=session).order_by("starts_at")[0]


def _public(session) -> Slot:
    return Slot.objects.filter(session=session, reserved_for_referral=False).order_by("starts_at")[0]


def _reserved(session) -> Slot:
    return Slot.objects.filter(session=session, reserved_for_referral=True).order_by("starts_at")[0]


# --- sessions ---------------------------------------------------------------------------------


def test_session_create_by_township_doctor_makes_slots_and_reserves_a_share(county, sched):
    doctor = county.users[Role.TOWNSHIP_DOCTOR]
    session = services.session_create(
        actor=doctor,
        institution=county.township,
        department=sched.town_dept,
        date=day(3),
        start=dt.time(8),
        end=dt.time(11, 30),
        slot_minutes=30,
        capacity=2,
        referral_share=25,
    )
    slots = list(session.slots.order_by("starts_at"))
    assert len(slots) == 7
    assert sum(s.reserved_for_referral for s in slots) == 1  # 25 % of 7, spread, rounded down
    assert all(s.capacity == 2 for s in slots)
    assert session.kind == SessionKind.REGULAR
    event = AuditEvent.objects.get(verb="clinic_session.create", object_id=str(session.pk))
    assert event.actor_id == doctor.pk and (event.after or {})["slots"] == 7


def test_county_specialist_at_a_township_centre_is_a_specialist_session(county, sched):
    session = open_session(county.township, sched.town_dept, doctor=county.staff["county_doctor"])
    assert session.kind == SessionKind.SPECIALIST


def test_session_create_refusals(county, sched):
    doctor = county.users[Role.TOWNSHIP_DOCTOR]
    kwargs = {
        "institution": county.township,
        "department": sched.town_dept,
        "start": dt.time(8),
        "end": dt.time(9),
    }
    with pytest.raises(InvalidInput) as exc:
        services.session_create(actor=doctor, date=day(-1), **kwargs)
    assert exc.value.field == "date"
    with pytest.raises(InvalidInput) as exc:
        services.session_create(actor=doctor, date=day(1), **{**kwargs, "end": dt.time(7)})
    assert exc.value.field == "end"
    with pytest.raises(InvalidInput) as exc:
        services.session_create(actor=doctor, date=day(1), **{**kwargs, "department": sched.lead_dept})
    assert exc.value.field == "department"
    with pytest.raises(Forbidden):  # another township's centre
        services.session_create(
            actor=doctor,
            date=day(1),
            **{**kwargs, "institution": county.other_township, "department": sched.other_dept},
        )
    for role in (Role.RESIDENT, Role.HEALTH_BUREAU):
        with pytest.raises(Forbidden):
            services.session_create(actor=county.users[role], date=day(1), **kwargs)
    with pytest.raises(Forbidden):  # a pharmacist does not plan clinics
        services.session_create(
            actor=county.users[Role.PHARMACIST],
            date=day(1),
            **{**kwargs, "institution": county.lead, "department": sched.lead_dept},
        )
    assert not ClinicSession.objects.exists()
    assert not AuditEvent.objects.filter(verb="clinic_session.create").exists()


def test_a_doctor_cannot_hold_two_sessions_at_once(county, sched):
    specialist = county.staff["county_doctor"]
    open_session(county.lead, sched.lead_dept, doctor=specialist, offset=4)
    with pytest.raises(Conflict):
        open_session(county.township, sched.town_dept, doctor=specialist, offset=4)


def test_sessions_generate_a_month_skips_clashes_and_reports_them(county, sched):
    office = county.users[Role.CONSORTIUM_OFFICE]
    specialist = county.staff["county_doctor"]
    monday = day(1) + dt.timedelta(days=(7 - day(1).weekday()) % 7)
    open_session(county.lead, sched.lead_dept, doctor=specialist, offset=(monday - day(0)).days)
    result = services.sessions_generate(
        actor=office,
        institution=county.township,
        department=sched.town_dept,
        first_date=monday,
        last_date=monday + dt.timedelta(days=27),
        weekdays=[0, 3],
        start=dt.time(8),
        end=dt.time(11),
        doctor=specialist,
        referral_share=50,
    )
    assert len(result.created) == 7 and [d for d, _ in result.skipped] == [monday]
    assert all(s.kind == SessionKind.SPECIALIST for s in result.created)
    assert AuditEvent.objects.filter(verb="clinic_session.create", actor_id=office.pk).count() == 7
    with pytest.raises(InvalidInput) as exc:
        services.sessions_generate(
            actor=office,
            institution=county.township,
            department=sched.town_dept,
            first_date=monday,
            last_date=monday + dt.timedelta(days=100),
            weekdays=[0],
            start=dt.time(8),
            end=dt.time(11),
        )
    assert exc.value.field == "last_date"


def test_session_cancel_cancels_its_bookings(county, sched):
    session = open_session(county.township, sched.town_dept, offset=1, capacity=2)
    booking = services.booking_create(
        actor=county.users[Role.RESIDENT], slot=_first(session), patient=sched.own
    )
    services.session_cancel(actor=county.users[Role.NURSE], session=session, reason="医生外出")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and booking.cancel_reason == "医生外出"
    assert ClinicSession.objects.get(pk=session.pk).status == SessionStatus.CANCELLED
    assert _first(session).booked == 0
    assert AuditEvent.objects.filter(verb="clinic_session.cancel", object_id=str(session.pk)).exists()
    with pytest.raises(Conflict):
        services.session_cancel(actor=county.users[Role.NURSE], session=session)


# --- booking ----------------------------------------------------------------------------------


def test_resident_books_for_self_and_household_but_not_a_neighbour(county, sched):
    resident = county.users[Role.RESIDENT]
    session = open_session(county.township, sched.town_dept, offset=2, capacity=3)
    slot = _first(session)
    mine = services.booking_create(actor=resident, slot=slot, patient=sched.own)
    hers = services.booking_create(actor=resident, slot=slot, patient=sched.daughter)
    assert mine.booked_by == resident and hers.status == BookingStatus.BOOKED
    slot.refresh_from_db()
    assert slot.booked == 2
    event = AuditEvent.objects.get(verb="booking.create", object_id=str(hers.pk))
    assert event.actor_id == resident.pk and (event.after or {})["patient_id"] == sched.daughter.pk
    with pytest.raises(InvalidInput) as exc:
        services.booking_create(actor=resident, slot=slot, patient=sched.neighbour)
    assert exc.value.field == "patient"
    slot.refresh_from_db()
    assert slot.booked == 2 and Booking.objects.count() == 2


def test_same_patient_twice_in_one_session_is_refused(county, sched):
    resident = county.users[Role.RESIDENT]
    session = open_session(county.township, sched.town_dept, offset=2, capacity=3)
    a, b = list(session.slots.order_by("starts_at"))[:2]
    services.booking_create(actor=resident, slot=a, patient=sched.own)
    with pytest.raises(Conflict):
        services.booking_create(actor=resident, slot=b, patient=sched.own)
    b.refresh_from_db()
    assert b.booked == 0


def test_the_last_place_goes_once(county, sched):
    resident = county.users[Role.RESIDENT]
    slot = _first(open_session(county.township, sched.town_dept, offset=2, capacity=1))
    services.booking_create(actor=resident, slot=slot, patient=sched.own)
    with pytest.raises(Conflict) as exc:
        services.booking_create(actor=resident, slot=slot, patient=sched.daughter)
    assert exc.value.code == "full"
    assert Booking.objects.filter(slot=slot).count() == 1


def test_a_past_slot_is_refused(county, sched):
    session = into_the_past(open_session(county.township, sched.town_dept, offset=2))
    with pytest.raises(InvalidInput) as exc:
        services.booking_create(actor=county.users[Role.RESIDENT], slot=_first(session), patient=sched.own)
    assert exc.value.field == "slot"
    assert not Booking.objects.exists() and _first(session).booked == 0


def test_reserved_slot_refused_to_residents_until_released_and_open_to_referrals(county, sched):
    resident = county.users[Role.RESIDENT]
    session = open_session(county.lead, sched.lead_dept, offset=6, share=50)
    reserved = _reserved(session)
    with pytest.raises(Conflict) as exc:
        services.booking_create(actor=resident, slot=reserved, patient=sched.own)
    assert exc.value.code == "reserved"
    with pytest.raises(Forbidden):  # a resident cannot claim to book for a referral
        services.booking_create(actor=resident, slot=reserved, patient=sched.own, for_referral=True)
    township = county.users[Role.TOWNSHIP_DOCTOR]
    with pytest.raises(Forbidden):  # another institution's slot, not for a referral
        services.booking_create(actor=township, slot=reserved, patient=sched.own)
    booking = services.booking_create(actor=township, slot=reserved, patient=sched.own, for_referral=True)
    assert booking.for_referral and booking.booked_at_institution == county.township
    assert AuditEvent.objects.filter(verb="booking.create", actor_id=township.pk).count() == 1


def test_referring_doctor_must_know_the_patient(county, sched):
    reserved = _reserved(open_session(county.lead, sched.lead_dept, offset=6, share=50))
    with pytest.raises(InvalidInput) as exc:  # 刘美华 lives in another township's village
        services.booking_create(
            actor=county.users[Role.TOWNSHIP_DOCTOR], slot=reserved, patient=sched.foreign, for_referral=True
        )
    assert exc.value.field == "patient"


def test_release_lead_time_is_configurable_per_institution(county, sched):
    resident = county.users[Role.RESIDENT]
    session = open_session(county.lead, sched.lead_dept, offset=6, share=100)
    scope = scope_for(resident)
    assert not slots_open_for(scope=scope, institution=county.lead).exists()
    SchedulingPolicy.objects.create(
        consortium=county.consortium, institution=county.lead, release_lead_hours=24 * 8
    )
    assert slots_open_for(scope=scope, institution=county.lead).count() == session.slots.count()
    services.booking_create(actor=resident, slot=_first(session), patient=sched.own)


def test_slots_open_for_lists_only_future_free_places(county, sched):
    scope = scope_for(county.users[Role.RESIDENT])
    session = open_session(county.township, sched.town_dept, offset=1, capacity=1, share=50)
    public = list(slots_open_for(scope=scope, institution=county.township))
    assert len(public) == 4  # tomorrow's reserved slots are released too (48 h default lead)
    far = open_session(county.township, sched.town_dept, offset=7, share=50)
    ids = set(slots_open_for(scope=scope, institution=county.township).values_list("pk", flat=True))
    assert _public(far).pk in ids and _reserved(far).pk not in ids
    staff_ids = set(
        slots_open_for(
            scope=scope_for(county.users[Role.TOWNSHIP_DOCTOR]), institution=county.township
        ).values_list("pk", flat=True)
    )
    assert _reserved(far).pk in staff_ids  # the centre's own staff see its reserved slots
    services.booking_create(actor=county.users[Role.RESIDENT], slot=_public(session), patient=sched.own)
    assert _public(session).pk not in set(
        slots_open_for(scope=scope, institution=county.township).values_list("pk", flat=True)
    )


# --- cancel, reschedule, check in, no-show ----------------------------------------------------


def test_cancel_gives_the_place_back_and_is_final(county, sched):
    resident = county.users[Role.RESIDENT]
    slot = _first(open_session(county.township, sched.town_dept, offset=2))
    booking = services.booking_create(actor=resident, slot=slot, patient=sched.daughter)
    services.booking_cancel(actor=resident, booking=booking, reason="有事")
    slot.refresh_from_db()
    assert slot.booked == 0
    assert (AuditEvent.objects.get(verb="booking.cancel", object_id=str(booking.pk)).after or {})[
        "reason"
    ] == "有事"
    with pytest.raises(Conflict):
        services.booking_cancel(actor=resident, booking=booking)
    with pytest.raises(NotFound):  # staff of another institution
        other = services.booking_create(actor=resident, slot=slot, patient=sched.own)
        services.booking_cancel(actor=county.users[Role.COUNTY_DOCTOR], booking=other)


def test_reschedule_moves_atomically(county, sched):
    resident = county.users[Role.RESIDENT]
    session = open_session(county.township, sched.town_dept, offset=2, capacity=1)
    a, b, c = list(session.slots.order_by("starts_at"))[:3]
    booking = services.booking_create(actor=resident, slot=a, patient=sched.own)
    services.booking_create(actor=resident, slot=c, patient=sched.daughter)
    with pytest.raises(Conflict):  # c is full: nothing changes
        services.booking_reschedule(actor=resident, booking=booking, slot=c)
    booking.refresh_from_db()
    a.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED and a.booked == 1
    new = services.booking_reschedule(actor=resident, booking=booking, slot=b)
    booking.refresh_from_db()
    a.refresh_from_db()
    b.refresh_from_db()
    assert booking.status == BookingStatus.RESCHEDULED and new.rescheduled_from == booking
    assert (a.booked, b.booked) == (0, 1)
    assert AuditEvent.objects.filter(verb="booking.reschedule", object_id=str(booking.pk)).exists()


def test_check_in_and_no_show_by_the_clinic_only(county, sched):
    resident = county.users[Role.RESIDENT]
    nurse = county.users[Role.NURSE]
    session = open_session(county.township, sched.town_dept, offset=2, capacity=2)
    slot = _first(session)
    one = services.booking_create(actor=resident, slot=slot, patient=sched.own)
    two = services.booking_create(actor=resident, slot=slot, patient=sched.daughter)
    with pytest.raises(Conflict):  # not the day yet
        services.booking_check_in(actor=nurse, booking=one)
    with pytest.raises(Conflict):  # not started yet
        services.booking_no_show(actor=nurse, booking=one)
    into_the_past(session, days=0)
    with pytest.raises(Forbidden):
        services.booking_check_in(actor=resident, booking=one)
    with pytest.raises(NotFound):
        services.booking_check_in(actor=county.users[Role.COUNTY_DOCTOR], booking=one)
    services.booking_check_in(actor=nurse, booking=one)
    services.booking_no_show(actor=nurse, booking=two)
    assert Booking.objects.get(pk=one.pk).status == BookingStatus.CHECKED_IN
    assert Booking.objects.get(pk=two.pk).status == BookingStatus.NO_SHOW
    assert (
        AuditEvent.objects.filter(verb__in=["booking.check_in", "booking.no_show"], actor_id=nurse.pk).count()
        == 2
    )
    with pytest.raises(Conflict):
        services.booking_no_show(actor=nurse, booking=one)
    with pytest.raises(Conflict):
        services.booking_cancel(actor=nurse, booking=two)


def test_no_show_policy_blocks_self_booking_but_not_the_desk(county, sched):
    resident = county.users[Role.RESIDENT]
    nurse = county.users[Role.NURSE]
    SchedulingPolicy.objects.create(
        consortium=county.consortium, no_show_limit=2, no_show_window_days=90, block_days=30
    )
    for offset in (2, 3):
        session = open_session(county.township, sched.town_dept, offset=offset)
        booking = services.booking_create(actor=resident, slot=_first(session), patient=sched.own)
        into_the_past(session, days=offset)
        services.booking_no_show(actor=nurse, booking=booking)
    assert no_show_block_until(user=resident, institution=county.township, patient=sched.own) is not None
    later = open_session(county.township, sched.town_dept, offset=4)
    with pytest.raises(Forbidden) as exc:
        services.booking_create(actor=resident, slot=_first(later), patient=sched.daughter)
    assert exc.value.code == "no_show_block"
    desk = services.booking_create(actor=nurse, slot=_first(later), patient=sched.own)
    assert desk.booked_by == nurse
