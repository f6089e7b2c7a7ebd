"""Appointments over JSON under /api/scheduling/.

Residents look for open slots at the consortium's hospitals and centres and book for themselves
or their household; clinic staff open sessions (one, or a weekly template over a date range),
work the day's list (check in, no-show) and book at the desk; referring doctors take reserved
slots with ``for_referral``. Errors: 404 for rows outside the caller's scope, 403 for the role,
409 for a full or reserved slot and illegal moves, 422 with the field for bad values.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from yigongti.accounts.choices import Role
from yigongti.core.access import Scope, request_scope
from yigongti.core.api import BODY_ERRORS, ERRORS, ErrorOut, InSchema, PageIn, PageOut, authorized, paginate
from yigongti.core.errors import InvalidInput, NotFound
from yigongti.institutions.models import Department, Institution, Staff

from . import selectors, services
from .choices import BookingStatus
from .models import Booking, ClinicSession, Slot

router = Router(tags=["scheduling"])

#: Answers of a write: the body may be unreadable (400), the state may forbid it (409).
WRITE_ERRORS: dict[int, type[Schema]] = {**BODY_ERRORS, 409: ErrorOut}
STAFF_WRITES = authorized(writes=True)


# --- schemas ----------------------------------------------------------------------------------


class SlotOut(Schema):
    slot_id: int
    session_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int
    free: int
    reserved_for_referral: bool
    released_at: dt.datetime | None
    institution_code: str
    institution_name: str
    department_id: int
    department_name: str
    doctor_name: str | None
    doctor_title: str | None
    doctor_institution_name: str | None
    specialist_visit: bool


class SlotPage(PageOut[SlotOut]):
    pass


class SessionOut(Schema):
    session_id: int
    institution_code: str
    institution_name: str
    department_id: int
    department_name: str
    doctor_id: int | None
    doctor_name: str | None
    doctor_institution_name: str | None
    kind: str
    date: dt.date
    start: dt.time
    end: dt.time
    starts_at: dt.datetime
    ends_at: dt.datetime
    slot_minutes: int
    status: str
    note: str
    slots: int
    places: int
    booked: int
    reserved_slots: int


class SessionPage(PageOut[SessionOut]):
    pass


class SessionDetailOut(SessionOut):
    slot_list: list[SlotOut]


class BookingOut(Schema):
    booking_id: int
    status: str
    status_display: str
    slot_id: int
    session_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    institution_code: str
    institution_name: str
    department_name: str
    doctor_name: str | None
    patient_id: int
    patient_name: str
    for_referral: bool
    booked_by: str | None
    booked_by_role: str
    booked_at: dt.datetime
    rescheduled_from_id: int | None
    cancel_reason: str


class BookingPage(PageOut[BookingOut]):
    pass


class FamilyMemberOut(Schema):
    patient_id: int
    name: str
    relation_to_head: str
    is_self: bool


class PolicyOut(Schema):
    institution_code: str
    release_lead_hours: int
    no_show_limit: int
    no_show_window_days: int
    block_days: int
    my_booking_paused_until: dt.datetime | None


class GeneratedOut(Schema):
    created: list[SessionOut]
    skipped: list[dict[str, str]]


class SlotFilter(PageIn):
    institution: str = Field(..., max_length=12, description="Code of a member institution")
    department: int | None = Field(None, description="Department id at that institution")
    start: dt.date | None = Field(None, description="First day (default: now)")
    days: int = Field(14, ge=1, le=62)
    for_referral: bool = Field(False, description="Staff booking for a referral see reserved slots")


class SessionFilter(PageIn):
    institution: str = Field("", max_length=12, description="Code of an institution in scope")
    department: int | None = None
    date_from: dt.date | None = Field(None, description="Default: today")
    days: int = Field(7, ge=1, le=62)


class BookingFilter(PageIn):
    status: str = Field("", max_length=16, description="booked, checked_in, no_show, cancelled, rescheduled")


class PolicyFilter(InSchema):
    institution: str = Field(..., max_length=12)


class SessionTemplateIn(InSchema):
    institution: str = Field(..., max_length=12, description="Code of the institution holding the clinic")
    department_id: int
    doctor_id: int | None = Field(None, description="Staff id; another member's doctor makes it 专家坐诊")
    start: dt.time
    end: dt.time
    slot_minutes: int = Field(15, ge=5, le=240)
    capacity: int = Field(1, ge=1, le=50, description="Places per slot")
    referral_share: int = Field(0, ge=0, le=100, description="Percent of slots reserved for referrals")
    note: str = Field("", max_length=200)


class SessionIn(SessionTemplateIn):
    date: dt.date


class GenerateIn(SessionTemplateIn):
    first_date: dt.date
    last_date: dt.date
    weekdays: list[int] = Field(..., min_length=1, max_length=7, description="0 = Monday ... 6 = Sunday")


class CancelIn(InSchema):
    reason: str = Field("", max_length=200)


class BookingIn(InSchema):
    slot_id: int
    patient_id: int | None = Field(None, description="Default for a resident: their own record")
    for_referral: bool = False


class RescheduleIn(InSchema):
    slot_id: int


# --- conversions ------------------------------------------------------------------------------


def _inst_name(inst: Institution) -> str:
    return inst.short_name or inst.name


def slot_out(slot: Slot, lead_hours: int | None = None) -> SlotOut:
    session = slot.session
    doctor = session.doctor
    released = None
    if slot.reserved_for_referral and lead_hours is not None:
        released = slot.released_at(lead_hours)
    return SlotOut(
        slot_id=slot.pk,
        session_id=session.pk,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        capacity=slot.capacity,
        booked=slot.booked,
        free=slot.free,
        reserved_for_referral=slot.reserved_for_referral,
        released_at=released,
        institution_code=session.institution.code,
        institution_name=_inst_name(session.institution),
        department_id=session.department_id,
        department_name=session.department.name,
        doctor_name=doctor.name if doctor else None,
        doctor_title=str(doctor.get_title_display()) if doctor else None,
        doctor_institution_name=_inst_name(doctor.institution) if doctor else None,
        specialist_visit=session.is_specialist,
    )


def _with_counts(qs: QuerySet[ClinicSession]) -> QuerySet[ClinicSession]:
    return qs.annotate(
        n_slots=Count("slots"),
        n_places=Sum("slots__capacity"),
        n_booked=Sum("slots__booked"),
        n_reserved=Count("slots", filter=Q(slots__reserved_for_referral=True)),
    )


def session_out(session: ClinicSession) -> dict[str, Any]:
    if not hasattr(session, "n_slots"):
        session = _with_counts(ClinicSession.objects.filter(pk=session.pk)).select_related(
            "institution", "department", "doctor__institution"
        )[0]
    doctor = session.doctor
    return {
        "session_id": session.pk,
        "institution_code": session.institution.code,
        "institution_name": _inst_name(session.institution),
        "department_id": session.department_id,
        "department_name": session.department.name,
        "doctor_id": doctor.pk if doctor else None,
        "doctor_name": doctor.name if doctor else None,
        "doctor_institution_name": _inst_name(doctor.institution) if doctor else None,
        "kind": session.kind,
        "date": session.date,
        "start": session.start,
        "end": session.end,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "slot_minutes": session.slot_minutes,
        "status": session.status,
        "note": session.note,
        "slots": session.n_slots or 0,  # type: ignore[attr-defined]
        "places": session.n_places or 0,  # type: ignore[attr-defined]
        "booked": session.n_booked or 0,  # type: ignore[attr-defined]
        "reserved_slots": session.n_reserved or 0,  # type: ignore[attr-defined]
    }


def booking_out(b: Booking) -> BookingOut:
    session = b.slot.session
    return BookingOut(
        booking_id=b.pk,
        status=b.status,
        status_display=str(b.get_status_display()),
        slot_id=b.slot_id,
        session_id=session.pk,
        starts_at=b.slot.starts_at,
        ends_at=b.slot.ends_at,
        institution_code=session.institution.code,
        institution_name=_inst_name(session.institution),
        department_name=session.department.name,
        doctor_name=session.doctor.name if session.doctor else None,
        patient_id=b.patient_id,
        patient_name=b.patient.name,
        for_referral=b.for_referral,
        booked_by=b.booked_by.username if b.booked_by else None,
        booked_by_role=b.booked_by_role,
        booked_at=b.created_at,
        rescheduled_from_id=b.rescheduled_from_id,
        cancel_reason=b.cancel_reason,
    )


def _fresh(booking: Booking, scope: Scope) -> BookingOut:
    return booking_out(selectors.booking_get_for(scope=scope, pk=booking.pk))


# --- lookups of the caller's references ------------------------------------------------------


def _own_institution(scope: Scope, code: str) -> Institution:
    institution = Institution.objects.filter(code=code, pk__in=scope.institution_ids).first()
    if institution is None:
        raise NotFound(_("No institution with this code in your scope."), field="institution")
    return institution


def _template(scope: Scope, body: SessionTemplateIn) -> dict[str, Any]:
    institution = _own_institution(scope, body.institution)
    department = (
        Department.objects.filter(pk=body.department_id, institution=institution).first()
        if selectors.valid_id(body.department_id)
        else None
    )
    if department is None:
        raise InvalidInput(_("Choose a department of this institution."), field="department_id")
    doctor = None
    if body.doctor_id is not None:
        doctor = (
            Staff.objects.select_related("institution")
            .filter(pk=body.doctor_id, institution__consortium_id=scope.consortium_id or 0)
            .first()
            if selectors.valid_id(body.doctor_id)
            else None
        )
        if doctor is None:
            raise InvalidInput(_("No such doctor in the consortium."), field="doctor_id")
    return {
        "institution": institution,
        "department": department,
        "doctor": doctor,
        "start": body.start,
        "end": body.end,
        "slot_minutes": body.slot_minutes,
        "capacity": body.capacity,
        "referral_share": body.referral_share,
        "note": body.note,
    }


# --- slots ------------------------------------------------------------------------------------


@router.get(
    "/scheduling/slots",
    response={200: SlotPage, **ERRORS},
    summary="Open slots of a member institution (reserved ones once released, or for referrals)",
)
def slot_list(request: HttpRequest, filters: Query[SlotFilter]) -> dict[str, Any]:
    scope = request_scope(request)
    institution = selectors.institution_for_booking(scope=scope, code=filters.institution)
    qs = selectors.slots_open_for(
        scope=scope,
        institution=institution,
        department=filters.department if selectors.valid_id(filters.department) else None,
        start=filters.start,
        days=filters.days,
        for_referral=filters.for_referral,
    )
    lead = selectors.policy_for(institution).release_lead_hours
    rows, meta = paginate(qs, filters)
    return {**meta, "items": [slot_out(s, lead) for s in rows]}


@router.get(
    "/scheduling/policy",
    response={200: PolicyOut, **ERRORS},
    summary="The booking rules of an institution, and until when the caller's online booking is paused",
)
def policy_detail(request: HttpRequest, filters: Query[PolicyFilter]) -> PolicyOut:
    scope = request_scope(request)
    institution = selectors.institution_for_booking(scope=scope, code=filters.institution)
    policy = selectors.policy_for(institution)
    paused = None
    if scope.self_patient_only:
        paused = selectors.no_show_block_until(
            user=request.user, institution=institution, patient=selectors.own_patient(scope)
        )
    return PolicyOut(
        institution_code=institution.code,
        release_lead_hours=policy.release_lead_hours,
        no_show_limit=policy.no_show_limit,
        no_show_window_days=policy.no_show_window_days,
        block_days=policy.block_days,
        my_booking_paused_until=paused,
    )


@router.get(
    "/scheduling/family",
    response={200: list[FamilyMemberOut], **ERRORS},
    summary="Whom the calling resident may book for: themself and their household",
)
def family_list(request: HttpRequest) -> list[FamilyMemberOut]:
    scope = request_scope(request)
    scope.require(scope.role == Role.RESIDENT, _("Only a resident books for their family."))
    family = selectors.family_for(scope=scope)
    return [
        FamilyMemberOut(patient_id=p.pk, name=p.name, relation_to_head=p.relation_to_head, is_self=i == 0)
        for i, p in enumerate(family)
    ]


# --- sessions ---------------------------------------------------------------------------------


@router.get(
    "/scheduling/sessions",
    response={200: SessionPage, **ERRORS},
    summary="Clinic sessions of the institutions in the caller's scope",
)
def session_list(request: HttpRequest, filters: Query[SessionFilter]) -> dict[str, Any]:
    scope = request_scope(request)
    institution = _own_institution(scope, filters.institution) if filters.institution else None
    qs = selectors.session_list_for(
        scope=scope,
        institution=institution,
        date_from=filters.date_from or timezone.localdate(),
        days=filters.days,
        department_id=filters.department if selectors.valid_id(filters.department) else None,
    )
    rows, meta = paginate(_with_counts(qs), filters)
    return {**meta, "items": [session_out(s) for s in rows]}


@router.post(
    "/scheduling/sessions",
    auth=STAFF_WRITES,
    response={201: SessionOut, **WRITE_ERRORS},
    summary="Open one clinic session with its slots",
)
def session_create(request: HttpRequest, body: SessionIn) -> Status[dict[str, Any]]:
    scope = request_scope(request)
    session = services.session_create(actor=request.user, date=body.date, **_template(scope, body))
    return Status(201, session_out(session))


@router.post(
    "/scheduling/sessions/generate",
    auth=STAFF_WRITES,
    response={201: GeneratedOut, **WRITE_ERRORS},
    summary="Open the same session on chosen weekdays over a date range (a week or a month)",
)
def session_generate(request: HttpRequest, body: GenerateIn) -> Status[dict[str, Any]]:
    scope = request_scope(request)
    result = services.sessions_generate(
        actor=request.user,
        first_date=body.first_date,
        last_date=body.last_date,
        weekdays=body.weekdays,
        **_template(scope, body),
    )
    return Status(
        201,
        {
            "created": [session_out(s) for s in result.created],
            "skipped": [{"date": d.isoformat(), "reason": reason} for d, reason in result.skipped],
        },
    )


@router.get(
    "/scheduling/sessions/{session_id}",
    response={200: SessionDetailOut, **ERRORS},
    summary="One clinic session with its slots",
)
def session_detail(request: HttpRequest, session_id: int) -> dict[str, Any]:
    scope = request_scope(request)
    session = selectors.session_get_for(scope=scope, pk=session_id)
    lead = selectors.policy_for(session.institution).release_lead_hours
    slots = session.slots.select_related("session__institution", "session__department", "session__doctor")
    return {**session_out(session), "slot_list": [slot_out(s, lead) for s in slots.order_by("starts_at")]}


@router.post(
    "/scheduling/sessions/{session_id}/cancel",
    auth=STAFF_WRITES,
    response={200: SessionOut, **WRITE_ERRORS},
    summary="Cancel a session and all its bookings",
)
def session_cancel(request: HttpRequest, session_id: int, body: CancelIn) -> dict[str, Any]:
    scope = request_scope(request)
    session = selectors.session_get_for(scope=scope, pk=session_id)
    services.session_cancel(actor=request.user, session=session, reason=body.reason)
    return session_out(session)


@router.get(
    "/scheduling/sessions/{session_id}/bookings",
    response={200: list[BookingOut], **ERRORS},
    summary="The day list of a session: every booking with its status",
)
def session_bookings(request: HttpRequest, session_id: int) -> list[BookingOut]:
    scope = request_scope(request)
    session = selectors.session_get_for(scope=scope, pk=session_id)
    scope.require(
        selectors.sees_patients(scope, session),
        _("The office and the bureau see counts, not the patients on a day list."),
    )
    rows = selectors.session_bookings(session).select_related(
        "slot__session__institution", "slot__session__department", "slot__session__doctor"
    )
    return [booking_out(b) for b in rows]


# --- bookings ---------------------------------------------------------------------------------


@router.get(
    "/scheduling/bookings",
    response={200: BookingPage, **ERRORS},
    summary="A resident's bookings, or the bookings at the caller's institutions and those they made",
)
def booking_list(request: HttpRequest, filters: Query[BookingFilter]) -> dict[str, Any]:
    scope = request_scope(request)
    if filters.status and filters.status not in BookingStatus.values:
        raise InvalidInput(_("Unknown status."), field="status")
    rows, meta = paginate(selectors.booking_list_for(scope=scope, status=filters.status), filters)
    return {**meta, "items": [booking_out(b) for b in rows]}


@router.post(
    "/scheduling/bookings",
    response={201: BookingOut, **WRITE_ERRORS},
    summary="Book a place: for oneself or one's household (residents), at the desk, or for a referral",
)
def booking_create(request: HttpRequest, body: BookingIn) -> Status[BookingOut]:
    scope = request_scope(request)
    slot = selectors.slot_get_for(scope=scope, pk=body.slot_id)
    if body.patient_id is None:
        patient = selectors.own_patient(scope)
        if patient is None:
            raise InvalidInput(_("Choose the resident to book for."), field="patient_id")
    else:
        patient = services.patient_for_booking(scope=scope, patient_id=body.patient_id)
    booking = services.booking_create(
        actor=request.user, slot=slot, patient=patient, for_referral=body.for_referral
    )
    return Status(201, _fresh(booking, scope))


@router.get("/scheduling/bookings/{booking_id}", response={200: BookingOut, **ERRORS}, summary="One booking")
def booking_detail(request: HttpRequest, booking_id: int) -> BookingOut:
    scope = request_scope(request)
    return booking_out(selectors.booking_get_for(scope=scope, pk=booking_id))


@router.post(
    "/scheduling/bookings/{booking_id}/cancel",
    response={200: BookingOut, **WRITE_ERRORS},
    summary="Cancel a booking (its place is given back)",
)
def booking_cancel(request: HttpRequest, booking_id: int, body: CancelIn) -> BookingOut:
    scope = request_scope(request)
    booking = selectors.booking_get_for(scope=scope, pk=booking_id)
    services.booking_cancel(actor=request.user, booking=booking, reason=body.reason)
    return _fresh(booking, scope)


@router.post(
    "/scheduling/bookings/{booking_id}/reschedule",
    response={201: BookingOut, **WRITE_ERRORS},
    summary="Move a booking to another slot (the old one becomes 'rescheduled'); all or nothing",
)
def booking_reschedule(request: HttpRequest, booking_id: int, body: RescheduleIn) -> Status[BookingOut]:
    scope = request_scope(request)
    booking = selectors.booking_get_for(scope=scope, pk=booking_id)
    slot = selectors.slot_get_for(scope=scope, pk=body.slot_id)
    new = services.booking_reschedule(actor=request.user, booking=booking, slot=slot)
    return Status(201, _fresh(new, scope))


@router.post(
    "/scheduling/bookings/{booking_id}/check-in",
    auth=STAFF_WRITES,
    response={200: BookingOut, **WRITE_ERRORS},
    summary="The patient has arrived (clinic staff, on the day)",
)
def booking_check_in(request: HttpRequest, booking_id: int) -> BookingOut:
    scope = request_scope(request)
    booking = selectors.booking_get_for(scope=scope, pk=booking_id)
    services.booking_check_in(actor=request.user, booking=booking)
    return _fresh(booking, scope)


@router.post(
    "/scheduling/bookings/{booking_id}/no-show",
    auth=STAFF_WRITES,
    response={200: BookingOut, **WRITE_ERRORS},
    summary="The patient did not come (clinic staff, once the slot has started)",
)
def booking_no_show(request: HttpRequest, booking_id: int) -> BookingOut:
    scope = request_scope(request)
    booking = selectors.booking_get_for(scope=scope, pk=booking_id)
    services.booking_no_show(actor=request.user, booking=booking)
    return _fresh(booking, scope)
