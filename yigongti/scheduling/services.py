"""Every write of the appointments domain: sessions (one, or generated from a weekly template),
bookings and their moves. Each function checks the actor's scope, validates, writes and audits
in one transaction; ``actor=None`` is the system (the demo generator).

No double booking: a place is taken by one conditional UPDATE
(``booked = booked + 1 WHERE booked < capacity``). On PostgreSQL the second of two concurrent
updates waits for the first's row lock and then re-checks the condition, so exactly one wins;
on SQLite the IMMEDIATE transaction mode serialises writers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from yigongti.accounts.choices import Role
from yigongti.core.access import Scope, filter_residents, scope_for
from yigongti.core.audit import audit, snapshot
from yigongti.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from yigongti.institutions.choices import Level
from yigongti.institutions.models import Department, Institution, Staff
from yigongti.patients.models import Patient, Registration

from .choices import BookingStatus, SessionKind, SessionStatus, can_move
from .models import Booking, ClinicSession, Slot
from .selectors import is_staff, may_take_reserved, no_show_block_until, own_patient, policy_for, valid_id

MAX_SLOTS = 96
#: Who plans clinics: the doctors and nurses (clinic clerks hold the nurse role) and the office.
SESSION_ROLES = frozenset({Role.COUNTY_DOCTOR, Role.TOWNSHIP_DOCTOR, Role.NURSE, Role.CONSORTIUM_OFFICE})
MAX_CAPACITY = 50
MAX_GENERATE_DAYS = 62
MAX_AHEAD_DAYS = 366


def _scope(actor: Any) -> Scope | None:
    return None if actor is None else scope_for(actor)


def _membership(scope: Scope | None) -> Any:
    return None if scope is None else scope.membership


def _local(value: dt.datetime) -> str:
    return str(formats.date_format(timezone.localtime(value), "Y-m-d H:i"))


# --- sessions ---------------------------------------------------------------------------------


def _require_session_writer(scope: Scope | None, institution: Institution) -> None:
    if scope is None:
        return
    scope.require_write()
    scope.require(
        scope.role in SESSION_ROLES, _("Only doctors, nurses and the office manage clinic sessions.")
    )
    scope.require(
        scope.sees_institution(institution.pk),
        _("You may only manage the clinic sessions of your own institution."),
    )


def _check_session_fields(
    *,
    institution: Institution,
    department: Department,
    doctor: Staff | None,
    date: dt.date,
    start: dt.time,
    end: dt.time,
    slot_minutes: int,
    capacity: int,
    referral_share: int,
    allow_past: bool,
) -> None:
    if institution.level in (Level.EXTERNAL, Level.VILLAGE) or institution.consortium_id is None:
        raise InvalidInput(
            _("Clinic sessions are held at county hospitals and township centres."), field="institution"
        )
    if department.institution_id != institution.pk:
        raise InvalidInput(_("The department belongs to another institution."), field="department")
    if doctor is not None:
        if doctor.institution.consortium_id != institution.consortium_id:
            raise InvalidInput(_("The doctor works outside the consortium."), field="doctor")
        if not doctor.is_active:
            raise InvalidInput(_("The doctor is no longer active."), field="doctor")
    if not allow_past and date < timezone.localdate():
        raise InvalidInput(_("The date is in the past."), field="date")
    if date > timezone.localdate() + dt.timedelta(days=MAX_AHEAD_DAYS):
        raise InvalidInput(_("Sessions are planned at most a year ahead."), field="date")
    if end <= start:
        raise InvalidInput(_("The session must end after it starts."), field="end")
    if not 5 <= slot_minutes <= 240:
        raise InvalidInput(_("A slot lasts between 5 and 240 minutes."), field="slot_minutes")
    if not 1 <= capacity <= MAX_CAPACITY:
        raise InvalidInput(
            _("A slot has between 1 and %(max)d places.") % {"max": MAX_CAPACITY}, field="capacity"
        )
    if not 0 <= referral_share <= 100:
        raise InvalidInput(
            _("The share reserved for referrals is a percentage (0-100)."), field="referral_share"
        )


def _slot_times(
    starts_at: dt.datetime, ends_at: dt.datetime, minutes: int
) -> list[tuple[dt.datetime, dt.datetime]]:
    step = dt.timedelta(minutes=minutes)
    times: list[tuple[dt.datetime, dt.datetime]] = []
    at = starts_at
    while at + step <= ends_at and len(times) < MAX_SLOTS:
        times.append((at, at + step))
        at += step
    return times


def reserved_indexes(count: int, share: int) -> set[int]:
    """Which of ``count`` slots to reserve for ``share`` percent, spread evenly over the session."""
    return {i for i in range(count) if (i + 1) * share // 100 > i * share // 100}


@transaction.atomic
def session_create(
    *,
    actor: Any,
    institution: Institution,
    department: Department,
    date: dt.date,
    start: dt.time,
    end: dt.time,
    doctor: Staff | None = None,
    slot_minutes: int = 15,
    capacity: int = 1,
    referral_share: int = 0,
    note: str = "",
    allow_past: bool = False,
) -> ClinicSession:
    """Open one clinic session and its slots, audited as ``clinic_session.create``.

    A doctor from another member institution makes it a visiting specialist's session (专家坐诊).
    ``allow_past`` is for the system loading history only.
    """
    scope = _scope(actor)
    _require_session_writer(scope, institution)
    allow_past = allow_past and actor is None
    _check_session_fields(
        institution=institution,
        department=department,
        doctor=doctor,
        date=date,
        start=start,
        end=end,
        slot_minutes=slot_minutes,
        capacity=capacity,
        referral_share=referral_share,
        allow_past=allow_past,
    )
    starts_at = timezone.make_aware(dt.datetime.combine(date, start))
    ends_at = timezone.make_aware(dt.datetime.combine(date, end))
    times = _slot_times(starts_at, ends_at, slot_minutes)
    if not times:
        raise InvalidInput(_("The session is shorter than one slot."), field="slot_minutes")
    if doctor is not None:
        clash = ClinicSession.objects.filter(
            doctor=doctor, status=SessionStatus.OPEN, starts_at__lt=ends_at, ends_at__gt=starts_at
        ).first()
        if clash is not None:
            raise Conflict(
                _("%(doctor)s already has a clinic session at that time (%(place)s).")
                % {"doctor": doctor.name, "place": clash.institution.short_name or clash.institution.name},
                field="start",
            )
    session = ClinicSession.objects.create(
        institution=institution,
        department=department,
        doctor=doctor,
        kind=SessionKind.SPECIALIST
        if doctor is not None and doctor.institution_id != institution.pk
        else SessionKind.REGULAR,
        date=date,
        start=start,
        end=end,
        starts_at=starts_at,
        ends_at=ends_at,
        slot_minutes=slot_minutes,
        note=(note or "").strip()[:200],
        created_by=actor,
    )
    reserved = reserved_indexes(len(times), referral_share)
    Slot.objects.bulk_create(
        Slot(session=session, starts_at=a, ends_at=b, capacity=capacity, reserved_for_referral=i in reserved)
        for i, (a, b) in enumerate(times)
    )
    after = snapshot(session)
    after.update(slots=len(times), reserved_slots=len(reserved), capacity=capacity)
    audit(
        actor=actor, verb="clinic_session.create", subject=session, after=after, membership=_membership(scope)
    )
    return session


@dataclass
class Generated:
    created: list[ClinicSession] = field(default_factory=list)
    skipped: list[tuple[dt.date, str]] = field(default_factory=list)


@transaction.atomic
def sessions_generate(
    *,
    actor: Any,
    institution: Institution,
    department: Department,
    first_date: dt.date,
    last_date: dt.date,
    weekdays: list[int],
    start: dt.time,
    end: dt.time,
    doctor: Staff | None = None,
    slot_minutes: int = 15,
    capacity: int = 1,
    referral_share: int = 0,
    note: str = "",
) -> Generated:
    """Open the same session on the chosen weekdays (0 = Monday) of a date range (at most 62 days).

    A date that clashes with the doctor's other sessions is skipped and reported, not fatal; any
    other error refuses the whole batch, so nothing is half-written.
    """
    _require_session_writer(_scope(actor), institution)
    if last_date < first_date:
        raise InvalidInput(_("The last date is before the first."), field="last_date")
    if first_date < timezone.localdate():
        raise InvalidInput(_("The date is in the past."), field="first_date")
    if last_date > timezone.localdate() + dt.timedelta(days=MAX_AHEAD_DAYS):
        raise InvalidInput(_("Sessions are planned at most a year ahead."), field="last_date")
    if (last_date - first_date).days >= MAX_GENERATE_DAYS:
        raise InvalidInput(
            _("Generate at most %(days)d days at a time.") % {"days": MAX_GENERATE_DAYS}, field="last_date"
        )
    days = sorted({int(d) for d in weekdays})
    if not days or any(d < 0 or d > 6 for d in days):
        raise InvalidInput(_("Choose at least one weekday."), field="weekdays")
    result = Generated()
    day = first_date
    while day <= last_date:
        if day.weekday() in days:
            try:
                with transaction.atomic():
                    result.created.append(
                        session_create(
                            actor=actor,
                            institution=institution,
                            department=department,
                            date=day,
                            start=start,
                            end=end,
                            doctor=doctor,
                            slot_minutes=slot_minutes,
                            capacity=capacity,
                            referral_share=referral_share,
                            note=note,
                        )
                    )
            except Conflict as exc:
                result.skipped.append((day, str(exc.message)))
        day += dt.timedelta(days=1)
    if not result.created and not result.skipped:
        raise InvalidInput(_("No chosen weekday falls within these dates."), field="weekdays")
    return result


@transaction.atomic
def session_cancel(*, actor: Any, session: ClinicSession, reason: str = "") -> ClinicSession:
    """Cancel a session and every booking in it (the patients are told by the clinic)."""
    scope = _scope(actor)
    _require_session_writer(scope, session.institution)
    session = ClinicSession.objects.select_for_update().get(pk=session.pk)
    if session.status != SessionStatus.OPEN:
        raise Conflict(_("This session is already cancelled."), field="status")
    live = Booking.objects.filter(
        slot__session=session, status__in=[BookingStatus.BOOKED, BookingStatus.CHECKED_IN]
    )
    if live.filter(status=BookingStatus.CHECKED_IN).exists():
        raise Conflict(_("Patients have already checked in to this session; it cannot be cancelled."))
    reason = (reason or "").strip()[:200] or str(_("The clinic session was cancelled."))
    now = timezone.now()
    cancelled = list(live.values_list("pk", flat=True))
    live.update(status=BookingStatus.CANCELLED, cancel_reason=reason, status_changed_at=now, updated_at=now)
    Slot.objects.filter(session=session).update(booked=0)
    session.status = SessionStatus.CANCELLED
    session.save(update_fields=["status", "updated_at"])
    for pk in cancelled:
        audit(
            actor=actor,
            verb="booking.cancel",
            object_type="scheduling.booking",
            object_id=pk,
            before={"status": BookingStatus.BOOKED},
            after={"status": BookingStatus.CANCELLED, "reason": reason},
            membership=_membership(scope),
        )
    audit(
        actor=actor,
        verb="clinic_session.cancel",
        subject=session,
        before={"status": SessionStatus.OPEN},
        after={"status": SessionStatus.CANCELLED, "reason": reason, "bookings_cancelled": cancelled},
        membership=_membership(scope),
    )
    return session


# --- bookings ---------------------------------------------------------------------------------


def _check_resident(
    scope: Scope, actor: Any, patient: Patient, institution: Institution, for_referral: bool
) -> None:
    if for_referral:
        raise Forbidden(_("Only a referring doctor books for a referral."))
    own = own_patient(scope)
    if own is None:
        raise Forbidden(_("No resident record is linked to your account."))
    family = patient.pk == own.pk or (
        own.household_id is not None and patient.household_id == own.household_id
    )
    if not family:
        raise InvalidInput(
            _("You may book only for yourself and members of your household."), field="patient"
        )
    until = no_show_block_until(user=actor, institution=institution, patient=own)
    if until is not None:
        policy = policy_for(institution)
        raise Forbidden(
            _(
                "After %(count)d missed appointments within %(window)d days, online booking is paused "
                "until %(until)s. Please book at the clinic."
            )
            % {"count": policy.no_show_limit, "window": policy.no_show_window_days, "until": _local(until)},
            code="no_show_block",
        )


def _knows_patient(scope: Scope, patient: Patient) -> bool:
    """Staff may book for a resident of their villages or one registered at their institutions."""
    if filter_residents(Patient.objects.filter(pk=patient.pk), scope).exists():
        return True
    return Registration.objects.filter(
        patient_id=patient.pk, institution_id__in=scope.institution_ids
    ).exists()


def _check_staff(scope: Scope, patient: Patient, institution: Institution, for_referral: bool) -> None:
    scope.require_write()
    if institution.consortium_id != scope.consortium_id:
        raise NotFound(_("No such slot."), field="slot")
    own_place = scope.sees_institution(institution.pk)
    if not own_place and not for_referral:
        raise Forbidden(_("At another institution you may book only for a referral."))
    if not _knows_patient(scope, patient):
        raise InvalidInput(
            _("This resident is neither registered at your institution nor living in your villages."),
            field="patient",
        )


def _check_slot(scope: Scope | None, slot: Slot, institution: Institution, for_referral: bool) -> None:
    now = timezone.now()
    if slot.session.status != SessionStatus.OPEN:
        raise Conflict(_("This clinic session is cancelled."), field="slot")
    if slot.starts_at <= now:
        raise InvalidInput(_("This slot has already started; choose a later one."), field="slot")
    if slot.reserved_for_referral and scope is not None:
        released_at = slot.released_at(policy_for(institution).release_lead_hours)
        if now < released_at and not may_take_reserved(scope, institution, for_referral=for_referral):
            raise Conflict(
                _("This place is reserved for referrals until %(time)s.") % {"time": _local(released_at)},
                field="slot",
                code="reserved",
            )


def _take_place(slot: Slot) -> None:
    """The race: one conditional UPDATE; 0 rows means someone else took the last place."""
    taken = Slot.objects.filter(pk=slot.pk, booked__lt=F("capacity")).update(booked=F("booked") + 1)
    if taken != 1:
        raise Conflict(_("No place is left in this slot. Please choose another."), field="slot", code="full")


def _free_place(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def _booking_after(booking: Booking) -> dict[str, Any]:
    return snapshot(booking, ["slot", "patient", "status", "for_referral", "booked_by", "rescheduled_from"])


@transaction.atomic
def booking_create(
    *,
    actor: Any,
    slot: Slot,
    patient: Patient,
    for_referral: bool = False,
    replacing: Booking | None = None,
) -> Booking:
    """Book one place for ``patient`` in ``slot``, audited as ``booking.create``.

    - a resident books for themself or a member of their household, public or released slots
      only, unless the no-show policy has paused their online booking;
    - staff book any slot of their own institutions (the desk);
    - with ``for_referral`` staff of another member institution of the same consortium may take
      a reserved slot (the referral service calls this while writing the referral).
    ``replacing`` is the booking being moved (see ``booking_reschedule``).
    """
    scope = _scope(actor)
    slot = Slot.objects.select_related("session__institution", "session__department").get(pk=slot.pk)
    institution = slot.session.institution
    if patient.merged_into_id is not None:
        raise InvalidInput(
            _("This resident's record was merged into another; book for that one."), field="patient"
        )
    if scope is not None:
        if scope.membership is None:
            raise Forbidden(_("Your role may not do this."))
        if scope.self_patient_only:
            _check_resident(scope, actor, patient, institution, for_referral)
        elif not is_staff(scope):
            raise Forbidden(_("Your role may only read."))
        else:
            _check_staff(scope, patient, institution, for_referral)
    _check_slot(scope, slot, institution, for_referral)
    same_session = Booking.objects.filter(
        slot__session_id=slot.session_id,
        patient_id=patient.pk,
        status__in=[BookingStatus.BOOKED, BookingStatus.CHECKED_IN],
    )
    if replacing is not None:
        same_session = same_session.exclude(pk=replacing.pk)
    if same_session.exists():
        raise Conflict(
            _("%(name)s already has a booking in this clinic session.") % {"name": patient.name},
            field="patient",
        )
    _take_place(slot)
    try:
        with transaction.atomic():
            booking = Booking.objects.create(
                slot=slot,
                patient=patient,
                for_referral=for_referral,
                booked_by=actor,
                booked_by_role=scope.role if scope is not None else "",
                booked_at_institution=scope.membership.institution
                if scope is not None and scope.membership
                else None,
                rescheduled_from=replacing,
                status_changed_at=timezone.now(),
            )
    except IntegrityError:
        raise Conflict(
            _("%(name)s already has a booking in this clinic session.") % {"name": patient.name},
            field="patient",
        ) from None
    audit(
        actor=actor,
        verb="booking.create",
        subject=booking,
        after=_booking_after(booking),
        membership=_membership(scope),
        institution_id=None if scope is not None else institution.pk,
    )
    return booking


def _require_booking_manager(scope: Scope | None, actor: Any, booking: Booking) -> None:
    """Who may cancel or move: the resident (own or household booking), the booking's author,
    or staff of the institution that holds the session."""
    if scope is None:
        return
    institution_id = booking.slot.session.institution_id
    if scope.self_patient_only:
        own = own_patient(scope)
        family = own is not None and (
            booking.patient_id == own.pk
            or (own.household_id is not None and booking.patient.household_id == own.household_id)
        )
        if not (family or booking.booked_by_id == actor.pk):
            raise NotFound(_("No such booking."), field="booking")
        return
    scope.require_write()
    if not (scope.sees_institution(institution_id) or booking.booked_by_id == actor.pk):
        raise NotFound(_("No such booking."), field="booking")


def _locked(booking: Booking) -> Booking:
    return (
        Booking.objects.select_for_update()
        .select_related("slot__session__institution", "patient")
        .get(pk=booking.pk)
    )


def _move(booking: Booking, target: str) -> None:
    if not can_move(booking.status, target):
        raise Conflict(
            _("A booking that is %(status)s cannot become %(target)s.")
            % {"status": booking.get_status_display(), "target": BookingStatus(target).label},
            field="status",
        )


def _set_status(booking: Booking, target: str, reason: str = "") -> None:
    booking.status = target
    booking.status_changed_at = timezone.now()
    fields = ["status", "status_changed_at", "updated_at"]
    if reason:
        booking.cancel_reason = reason[:200]
        fields.append("cancel_reason")
    booking.save(update_fields=fields)


@transaction.atomic
def booking_cancel(*, actor: Any, booking: Booking, reason: str = "") -> Booking:
    """Cancel a booked place and give it back, audited as ``booking.cancel``.

    A resident may cancel only before the slot starts; staff of the clinic at any time before
    the patient checks in.
    """
    scope = _scope(actor)
    booking = _locked(booking)
    _require_booking_manager(scope, actor, booking)
    _move(booking, BookingStatus.CANCELLED)
    if scope is not None and scope.self_patient_only and booking.slot.starts_at <= timezone.now():
        raise Conflict(_("The appointment has already started; please tell the clinic."), field="status")
    _set_status(booking, BookingStatus.CANCELLED, (reason or "").strip())
    _free_place(booking.slot_id)
    audit(
        actor=actor,
        verb="booking.cancel",
        subject=booking,
        before={"status": BookingStatus.BOOKED},
        after={"status": BookingStatus.CANCELLED, "reason": booking.cancel_reason},
        membership=_membership(scope),
    )
    return booking


@transaction.atomic
def booking_reschedule(*, actor: Any, booking: Booking, slot: Slot) -> Booking:
    """Move a booking to another slot in one transaction: the old one becomes ``rescheduled``
    (its place is given back) and a new booking points back to it. If the new slot cannot be
    booked, nothing changes."""
    scope = _scope(actor)
    booking = _locked(booking)
    _require_booking_manager(scope, actor, booking)
    _move(booking, BookingStatus.RESCHEDULED)
    if slot.pk == booking.slot_id:
        raise InvalidInput(_("Choose a different slot."), field="slot")
    if scope is not None and scope.self_patient_only and booking.slot.starts_at <= timezone.now():
        raise Conflict(_("The appointment has already started; please tell the clinic."), field="status")
    _set_status(booking, BookingStatus.RESCHEDULED)
    _free_place(booking.slot_id)
    for_referral = booking.for_referral and scope is not None and is_staff(scope)
    new = booking_create(
        actor=actor, slot=slot, patient=booking.patient, for_referral=for_referral, replacing=booking
    )
    audit(
        actor=actor,
        verb="booking.reschedule",
        subject=booking,
        before={"status": BookingStatus.BOOKED, "slot_id": booking.slot_id},
        after={"status": BookingStatus.RESCHEDULED, "new_booking_id": new.pk, "slot_id": slot.pk},
        membership=_membership(scope),
    )
    return new


def _require_clinic_staff(scope: Scope | None, booking: Booking) -> None:
    if scope is None:
        return
    scope.require_write()
    scope.require(not scope.self_patient_only, _("Only the clinic's staff record arrivals."))
    if not scope.sees_institution(booking.slot.session.institution_id):
        if booking.booked_by_id == scope.user_id:
            raise Forbidden(_("Only the clinic's staff record arrivals."))
        raise NotFound(_("No such booking."), field="booking")


@transaction.atomic
def booking_check_in(*, actor: Any, booking: Booking) -> Booking:
    """The patient arrived (on the day of the session), audited as ``booking.check_in``."""
    scope = _scope(actor)
    booking = _locked(booking)
    _require_clinic_staff(scope, booking)
    _move(booking, BookingStatus.CHECKED_IN)
    if actor is not None and booking.slot.session.date > timezone.localdate():
        raise Conflict(_("Patients check in on the day of the session."), field="status")
    _set_status(booking, BookingStatus.CHECKED_IN)
    audit(
        actor=actor,
        verb="booking.check_in",
        subject=booking,
        before={"status": BookingStatus.BOOKED},
        after={"status": BookingStatus.CHECKED_IN},
        membership=_membership(scope),
    )
    return booking


@transaction.atomic
def booking_no_show(*, actor: Any, booking: Booking) -> Booking:
    """The patient did not come (recorded once the slot has started), audited as ``booking.no_show``.

    The place stays counted: it was held and lost, which is what the no-show policy counts.
    """
    scope = _scope(actor)
    booking = _locked(booking)
    _require_clinic_staff(scope, booking)
    _move(booking, BookingStatus.NO_SHOW)
    if actor is not None and booking.slot.starts_at > timezone.now():
        raise Conflict(_("A no-show can be recorded only after the slot has started."), field="status")
    _set_status(booking, BookingStatus.NO_SHOW)
    audit(
        actor=actor,
        verb="booking.no_show",
        subject=booking,
        before={"status": BookingStatus.BOOKED},
        after={"status": BookingStatus.NO_SHOW},
        membership=_membership(scope),
    )
    return booking


def patient_for_booking(*, scope: Scope, patient_id: int) -> Patient:
    """The resident a caller names by id: a resident's family, or anyone for staff (the
    service then checks that staff know the patient); unknown ids are 404."""
    patient = (
        Patient.objects.filter(pk=patient_id, merged_into__isnull=True).first()
        if valid_id(patient_id)
        else None
    )
    if patient is None or scope.membership is None or scope.role == Role.HEALTH_BUREAU:
        raise NotFound(_("No such resident."), field="patient_id")
    return patient
