"""Referrals over JSON under /api/.

Create a slip (``POST /referrals``, ``submit: true`` to send it at once), move it through the
state machine (``POST /referrals/{id}/submit|accept|reject|redirect|arrive|start-care|complete|
follow-up|cancel|assign``; an illegal move is a 409), read the worklists (``GET /referrals`` with
``box``, ``status``, ``direction``, ``overdue``, ``green``), one referral with its timeline
(``GET /referrals/{id}``), its printable slip (``GET /referrals/{id}/slip.pdf``) and its
attachments. Writers are the staff of the referring and receiving institutions and the referral
service centre (the consortium office); the health bureau reads ``/referrals/counts`` only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ConfigDict

from yigongti.core import idnumbers
from yigongti.core.access import Scope, request_scope
from yigongti.core.api import BODY_ERRORS, ERRORS, ErrorOut, InSchema, PageIn, PageOut, authorized, paginate
from yigongti.core.errors import Conflict, NotFound

from . import lookups, services
from .choices import CareMode, Direction, TaskStatus, Urgency
from .choices import Status as RStatus
from .models import Alert, FollowUpTask, GreenChannelKind, Referral, ReferralReason
from .selectors import (
    BOX_ALL,
    alert_list_for,
    attachment_get_for,
    bed_board_for,
    follow_up_get_for,
    follow_up_list_for,
    patient_lookup_for,
    referral_base_for,
    referral_counts_for,
    referral_get_for,
    referral_list_for,
    timeline_for,
)
from .slip import slip_pdf

router = Router(tags=["referrals"])

WRITES = authorized(writes=True)
MOVE_ERRORS: dict[int, type[Schema]] = {**BODY_ERRORS, 409: ErrorOut}


class _In(InSchema):
    model_config = ConfigDict(use_enum_values=True, extra="forbid")


# --- output -----------------------------------------------------------------------------------


class ReferralPlaceOut(Schema):
    id: int
    code: str
    name: str


class ReferralRow(Schema):
    id: int
    number: str
    direction: str
    status: str
    status_label: str
    urgency: str
    green_channel: str | None
    patient_id: int
    patient_name: str
    patient_id_number: str = Field(description="Masked (first 6 and last 4 characters)")
    from_institution: ReferralPlaceOut
    to_institution: ReferralPlaceOut
    to_department: str | None
    diagnosis_code: str
    diagnosis_name: str
    submitted_at: dt.datetime | None
    deadline_at: dt.datetime | None
    overdue: bool
    accepted_at: dt.datetime | None
    arrived_at: dt.datetime | None
    completed_at: dt.datetime | None


class ReferralPage(PageOut[ReferralRow]):
    pass


class ReferralTimelineOut(Schema):
    verb: str
    label: str
    at: dt.datetime
    recorded_at: dt.datetime
    actor: str
    status: str
    detail: dict[str, Any]


class ReferralAttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    description: str
    uploaded_at: dt.datetime


class ReferralFollowUpOut(Schema):
    id: int
    referral_id: int
    patient_id: int
    patient_name: str
    institution: ReferralPlaceOut
    staff: str | None
    due_on: dt.date
    status: str
    overdue: bool
    done_at: dt.datetime | None
    note: str


class ReferralDetail(ReferralRow):
    reason: str
    reason_name: str
    reason_note: str
    history: str
    treatment: str
    assigned_doctor: str | None
    care_mode: str
    bed_held: bool
    refusal_reason: str
    cancel_reason: str
    return_diagnosis_code: str
    return_diagnosis_name: str
    return_results: str
    return_treatment: str
    return_advice: str
    treated_at: dt.datetime | None
    followed_up_at: dt.datetime | None
    appointment_at: dt.datetime | None
    appointment_status: str | None
    actions: list[str]
    timeline: list[ReferralTimelineOut]
    attachments: list[ReferralAttachmentOut]
    follow_ups: list[ReferralFollowUpOut]


def _place(inst: Any) -> ReferralPlaceOut:
    return ReferralPlaceOut(id=inst.pk, code=inst.code, name=inst.name)


def _row(r: Referral) -> dict[str, Any]:
    return {
        "id": r.pk,
        "number": r.number,
        "direction": r.direction,
        "status": r.status,
        "status_label": str(r.get_status_display()),
        "urgency": r.urgency,
        "green_channel": r.green_channel.code if r.green_channel else None,
        "patient_id": r.patient_id,
        "patient_name": r.patient.name,
        "patient_id_number": idnumbers.mask(r.patient.id_number) if r.patient.id_number else "",
        "from_institution": _place(r.from_institution),
        "to_institution": _place(r.to_institution),
        "to_department": r.to_department.name if r.to_department else None,
        "diagnosis_code": r.diagnosis_code,
        "diagnosis_name": r.diagnosis_name,
        "submitted_at": r.submitted_at,
        "deadline_at": r.deadline_at,
        "overdue": r.is_overdue,
        "accepted_at": r.accepted_at,
        "arrived_at": r.arrived_at,
        "completed_at": r.completed_at,
    }


def _task(t: FollowUpTask) -> ReferralFollowUpOut:
    return ReferralFollowUpOut(
        id=t.pk,
        referral_id=t.referral_id,
        patient_id=t.patient_id,
        patient_name=t.patient.name,
        institution=_place(t.institution),
        staff=t.staff.name if t.staff else None,
        due_on=t.due_on,
        status=t.status,
        overdue=t.status == TaskStatus.OPEN and t.due_on < dt.date.today(),  # noqa: DTZ011
        done_at=t.done_at,
        note=t.note,
    )


def _detail(request: HttpRequest, scope: Scope, r: Referral) -> ReferralDetail:
    return ReferralDetail(
        **_row(r),
        reason=r.reason.code,
        reason_name=r.reason.name,
        reason_note=r.reason_note,
        history=r.history,
        treatment=r.treatment,
        assigned_doctor=r.assigned_doctor.name if r.assigned_doctor else None,
        care_mode=r.care_mode,
        bed_held=r.bed_held,
        refusal_reason=r.refusal_reason,
        cancel_reason=r.cancel_reason,
        return_diagnosis_code=r.return_diagnosis_code,
        return_diagnosis_name=r.return_diagnosis_name,
        return_results=r.return_results,
        return_treatment=r.return_treatment,
        return_advice=r.return_advice,
        treated_at=r.treated_at,
        followed_up_at=r.followed_up_at,
        appointment_at=r.booking.slot.starts_at if r.booking else None,
        appointment_status=r.booking.status if r.booking else None,
        actions=lookups.actions_for(request.user, scope, r),
        timeline=[ReferralTimelineOut(**vars(e)) for e in timeline_for(r)],
        attachments=[]
        if scope.self_patient_only
        else [
            ReferralAttachmentOut(
                id=a.pk,
                name=a.original_name,
                content_type=a.content_type,
                size=a.size,
                description=a.description,
                uploaded_at=a.created_at,
            )
            for a in r.attachments.all()
        ],
        follow_ups=[_task(t) for t in r.follow_ups.select_related("patient", "institution", "staff")],
    )


def _reload(request: HttpRequest, referral_id: int) -> ReferralDetail:
    scope = request_scope(request)
    return _detail(request, scope, referral_get_for(scope=scope, referral_id=referral_id, actor=request.user))


def _visible(request: HttpRequest, referral_id: int) -> Referral:
    """A referral the caller may see (not audited as a read: the service audits the write)."""
    scope = request_scope(request)
    found = referral_base_for(scope=scope).filter(pk=referral_id).first()
    if found is None:
        raise NotFound(_("No such referral."))
    return found


# --- lists --------------------------------------------------------------------------------------


class ReferralFilter(PageIn):
    box: str = Field(BOX_ALL, pattern="^(incoming|outgoing|all)$", description="incoming, outgoing or all")
    status: RStatus | None = None
    direction: Direction | None = None
    overdue: bool = Field(False, description="Only referrals past their acceptance deadline")
    green: bool = Field(False, description="Only green-channel referrals")
    q: str = Field("", max_length=40, description="Start of the referral number, or part of the name")


@router.get(
    "/referrals",
    response={200: ReferralPage, **ERRORS},
    summary="Worklist: referrals in the caller's scope (overdue and green channel first)",
)
def referral_list(request: HttpRequest, filters: Query[ReferralFilter]) -> dict[str, Any]:
    scope = request_scope(request)
    qs = referral_list_for(
        scope=scope,
        box=filters.box,
        status=filters.status or "",
        direction=filters.direction or "",
        overdue=filters.overdue,
        green=filters.green,
        q=filters.q,
    )
    rows, meta = paginate(qs, filters)
    return {**meta, "items": [_row(r) for r in rows]}


class ReferralCountsOut(Schema):
    total: int
    by_status: dict[str, int]
    by_direction: dict[str, int]
    overdue: int
    green_channel: int
    follow_ups_open: int
    follow_ups_overdue: int


@router.get(
    "/referrals/counts",
    response={200: ReferralCountsOut, **ERRORS},
    summary="Referral counts (no personal rows)",
)
def referral_counts(request: HttpRequest) -> dict[str, Any]:
    return referral_counts_for(scope=request_scope(request))


# --- create -----------------------------------------------------------------------------------


class ReferralIn(_In):
    patient_id: int = Field(..., ge=1, le=2**31 - 1, description="From GET /referrals/patients")
    to_institution: str = Field(..., max_length=12, description="Code of the receiving institution")
    to_department_id: int | None = Field(None, ge=1, le=2**31 - 1)
    urgency: Urgency = Urgency.ROUTINE
    green_channel: str | None = Field(None, max_length=16, description="Code of a green-channel kind")
    diagnosis_code: str = Field(..., max_length=10, description="ICD-10 code")
    diagnosis_name: str = Field(..., max_length=120)
    history: str = Field("", max_length=4000)
    treatment: str = Field("", max_length=4000)
    reason: str = Field(..., max_length=16, description="Code of a referral reason (criterion)")
    reason_note: str = Field("", max_length=300)
    slot_id: int | None = Field(
        None, ge=1, le=2**31 - 1, description="An appointment slot at the receiver (GET /referrals/slots)"
    )
    submit: bool = Field(False, description="Submit at once instead of keeping a draft")


@router.post(
    "/referrals",
    response={201: ReferralDetail, **MOVE_ERRORS},
    summary="Write a referral-out slip (a draft, or submitted with submit=true)",
    auth=WRITES,
)
def referral_create(request: HttpRequest, payload: ReferralIn) -> Any:
    scope = request_scope(request)
    referral = services.referral_create(
        actor=request.user,
        patient=lookups.patient_by_id(payload.patient_id),
        to_institution=lookups.institution_by_code(scope, payload.to_institution),
        to_department=lookups.department_by_id(payload.to_department_id),
        urgency=payload.urgency,
        green_channel=lookups.green_by_code(payload.green_channel),
        diagnosis_code=payload.diagnosis_code,
        diagnosis_name=payload.diagnosis_name,
        history=payload.history,
        treatment=payload.treatment,
        reason=lookups.reason_by_code(payload.reason),
        reason_note=payload.reason_note,
        slot=lookups.slot_by_id(scope, payload.slot_id),
        submit=payload.submit,
    )
    return Status(201, _reload(request, referral.pk))


# --- request bodies of the moves ------------------------------------------------------------


class ReferralEmpty(_In):
    pass


class ReferralReasonIn(_In):
    reason: str = Field(..., max_length=300)


class ReferralAcceptIn(_In):
    department_id: int | None = Field(None, ge=1, le=2**31 - 1)
    doctor_id: int | None = Field(None, ge=1, le=2**31 - 1, description="A staff id at the receiver")


class ReferralRedirectIn(_In):
    to_institution: str = Field(..., max_length=12)
    to_department_id: int | None = Field(None, ge=1, le=2**31 - 1)
    note: str = Field("", max_length=300)


class ReferralCareIn(_In):
    mode: CareMode


class ReferralCompleteIn(_In):
    diagnosis_code: str = Field(..., max_length=10)
    diagnosis_name: str = Field(..., max_length=120)
    results: str = Field("", max_length=4000)
    treatment: str = Field("", max_length=4000)
    advice: str = Field(..., max_length=4000)


class ReferralFollowUpIn(_In):
    note: str = Field(..., max_length=4000)


# --- service centre: alerts, beds, follow-ups, reference, patient lookup --------------------


class ReferralAlertOut(Schema):
    id: int
    referral_id: int
    number: str
    kind: str
    patient_name: str
    green_channel: str | None
    department: str | None
    created_at: dt.datetime


@router.get(
    "/referrals/alerts", response={200: list[ReferralAlertOut], **ERRORS}, summary="Unacknowledged alerts"
)
def alert_list(request: HttpRequest) -> list[ReferralAlertOut]:
    return [_alert(a) for a in alert_list_for(scope=request_scope(request))[:100]]


def _alert(a: Alert) -> ReferralAlertOut:
    return ReferralAlertOut(
        id=a.pk,
        referral_id=a.referral_id,
        number=a.referral.number,
        kind=a.kind,
        patient_name=a.referral.patient.name,
        green_channel=a.referral.green_channel.name if a.referral.green_channel else None,
        department=a.department.name if a.department else None,
        created_at=a.created_at,
    )


@router.post(
    "/referrals/alerts/{alert_id}/acknowledge",
    response={200: ReferralAlertOut, **MOVE_ERRORS},
    summary="Acknowledge an alert",
    auth=WRITES,
)
def alert_acknowledge(request: HttpRequest, alert_id: int, payload: ReferralEmpty) -> ReferralAlertOut:
    alert = alert_list_for(scope=request_scope(request)).filter(pk=alert_id).first()
    if alert is None:
        raise NotFound(_("No such alert."))
    return _alert(services.alert_acknowledge(actor=request.user, alert=alert))


class ReferralBedOut(Schema):
    department_id: int
    department: str
    beds: int
    occupied: int
    held: int
    free: int


class ReferralBedFilter(InSchema):
    institution: str = Field("", max_length=12, description="Institution code (default: the caller's)")


@router.get(
    "/referrals/beds", response={200: list[ReferralBedOut], **ERRORS}, summary="Bed board by department"
)
def bed_board(request: HttpRequest, filters: Query[ReferralBedFilter]) -> list[ReferralBedOut]:
    scope = request_scope(request)
    inst = None
    if filters.institution:
        from yigongti.institutions.selectors import institution_get_for

        inst = institution_get_for(scope=scope, code=filters.institution)
    return [
        ReferralBedOut(
            department_id=r.department.pk,
            department=r.department.name,
            beds=r.beds,
            occupied=r.occupied,
            held=r.held,
            free=r.free,
        )
        for r in bed_board_for(scope=scope, institution=inst)
    ]


class ReferralOccupancyIn(_In):
    occupied: int = Field(..., ge=0, le=100000)


@router.put(
    "/referrals/beds/{department_id}",
    response={200: ReferralBedOut, **MOVE_ERRORS},
    summary="Set the beds in use in a department (the ward or the service centre)",
    auth=WRITES,
)
def bed_set(request: HttpRequest, department_id: int, payload: ReferralOccupancyIn) -> ReferralBedOut:
    department = lookups.department_by_id(department_id, "department_id")
    if department is None:  # pragma: no cover - an id is always given here
        raise AssertionError
    services.occupancy_set(actor=request.user, department=department, occupied=payload.occupied)
    scope = request_scope(request)
    row = next(
        r
        for r in bed_board_for(scope=scope, institution=department.institution)
        if r.department == department
    )
    return ReferralBedOut(
        department_id=department.pk,
        department=department.name,
        beds=row.beds,
        occupied=row.occupied,
        held=row.held,
        free=row.free,
    )


class ReferralFollowUpFilter(PageIn):
    status: TaskStatus | None = TaskStatus.OPEN


class ReferralFollowUpPage(PageOut[ReferralFollowUpOut]):
    pass


@router.get(
    "/referrals/follow-ups", response={200: ReferralFollowUpPage, **ERRORS}, summary="Follow-up tasks due"
)
def follow_up_list(request: HttpRequest, filters: Query[ReferralFollowUpFilter]) -> dict[str, Any]:
    qs = follow_up_list_for(scope=request_scope(request), status=filters.status or "")
    rows, meta = paginate(qs, filters)
    return {**meta, "items": [_task(t) for t in rows]}


@router.post(
    "/referrals/follow-ups/{task_id}",
    response={200: ReferralFollowUpOut, **MOVE_ERRORS},
    summary="Record the follow-up of a task (closes it; a completed referral becomes followed up)",
    auth=WRITES,
)
def follow_up_record(request: HttpRequest, task_id: int, payload: ReferralFollowUpIn) -> ReferralFollowUpOut:
    task = follow_up_get_for(scope=request_scope(request), task_id=task_id)
    task = services.follow_up_record(actor=request.user, task=task, note=payload.note)
    return _task(FollowUpTask.objects.select_related("patient", "institution", "staff").get(pk=task.pk))


class ReferralCodeName(Schema):
    code: str
    name: str
    direction: str | None = None


class ReferralDeadlineOut(Schema):
    urgency: str
    minutes: int


class ReferralReferenceOut(Schema):
    reasons: list[ReferralCodeName]
    green_channel: list[ReferralCodeName]
    deadlines: list[ReferralDeadlineOut]


@router.get(
    "/referrals/reference",
    response={200: ReferralReferenceOut, **ERRORS},
    summary="Reasons, green-channel kinds, deadlines",
)
def reference(request: HttpRequest) -> ReferralReferenceOut:
    from .models import AcceptanceDeadline

    return ReferralReferenceOut(
        reasons=[
            ReferralCodeName(code=r.code, name=r.name, direction=r.direction)
            for r in ReferralReason.objects.filter(is_active=True)
        ],
        green_channel=[
            ReferralCodeName(code=g.code, name=g.name)
            for g in GreenChannelKind.objects.filter(is_active=True)
        ],
        deadlines=[
            ReferralDeadlineOut(urgency=d.urgency, minutes=d.minutes)
            for d in AcceptanceDeadline.objects.all()
        ],
    )


class ReferralSlotFilter(InSchema):
    institution: str = Field(..., max_length=12, description="Code of the receiving institution")
    department_id: int | None = Field(None, ge=1, le=2**31 - 1)


class ReferralSlotOut(Schema):
    id: int
    starts_at: dt.datetime
    department: str | None
    doctor: str | None
    reserved_for_referral: bool
    free: int


@router.get(
    "/referrals/slots",
    response={200: list[ReferralSlotOut], **ERRORS},
    summary="Appointments open at the receiver for a routine referral (incl. reserved slots)",
    auth=WRITES,
)
def slot_list(request: HttpRequest, filters: Query[ReferralSlotFilter]) -> list[ReferralSlotOut]:
    scope = request_scope(request)
    institution = lookups.institution_by_code(scope, filters.institution, "institution")
    department = lookups.department_by_id(filters.department_id, "department_id")
    return [
        ReferralSlotOut(
            id=s.pk,
            starts_at=s.starts_at,
            department=s.session.department.name if s.session.department else None,
            doctor=s.session.doctor.name if s.session.doctor else None,
            reserved_for_referral=s.reserved_for_referral,
            free=s.capacity - s.booked,
        )
        for s in lookups.open_slots(scope, institution, department)
    ]


class ReferralLookupIn(InSchema):
    q: str = Field("", max_length=40, description="Your residents: name, pinyin or number")
    name: str = Field("", max_length=40, description="Master index: name (with birth_date or id_number)")
    birth_date: dt.date | None = None
    id_number: str = Field("", max_length=18)


class ReferralPatientHit(Schema):
    id: int
    name: str
    sex: str
    birth_date: dt.date | None
    id_number: str = Field(description="Masked")
    village: str | None


@router.get(
    "/referrals/patients",
    response={200: list[ReferralPatientHit], **ERRORS},
    summary="Find the patient to refer: own residents, or the master patient index's likely matches",
    auth=WRITES,
)
def patient_lookup(request: HttpRequest, filters: Query[ReferralLookupIn]) -> list[ReferralPatientHit]:
    scope = request_scope(request)
    found = patient_lookup_for(
        scope=scope,
        q=filters.q,
        name=filters.name,
        birth_date=filters.birth_date,
        id_number=filters.id_number,
    )
    return [
        ReferralPatientHit(
            id=p.pk,
            name=p.name,
            sex=p.sex,
            birth_date=p.birth_date,
            id_number=idnumbers.mask(p.id_number) if p.id_number else "",
            village=p.village.name if p.village else None,
        )
        for p in found
    ]


# --- one referral (after the fixed paths above: /referrals/alerts is not a referral id) ---------


@router.get(
    "/referrals/{referral_id}",
    response={200: ReferralDetail, **ERRORS},
    summary="One referral: the slip, the timeline, attachments and follow-ups (audited read)",
)
def referral_detail(request: HttpRequest, referral_id: int) -> ReferralDetail:
    return _reload(request, referral_id)


# --- moves --------------------------------------------------------------------------------------


def _move_doc(summary: str) -> dict[str, Any]:
    return {"response": {200: ReferralDetail, **MOVE_ERRORS}, "summary": summary, "auth": WRITES}


@router.post("/referrals/{referral_id}/submit", **_move_doc("Submit a draft (draft → submitted)"))
def referral_submit(request: HttpRequest, referral_id: int, payload: ReferralEmpty) -> ReferralDetail:
    services.referral_submit(actor=request.user, referral=_visible(request, referral_id))
    return _reload(request, referral_id)


@router.post(
    "/referrals/{referral_id}/accept", **_move_doc("Accept, optionally naming department and doctor")
)
def referral_accept(request: HttpRequest, referral_id: int, payload: ReferralAcceptIn) -> ReferralDetail:
    services.referral_accept(
        actor=request.user,
        referral=_visible(request, referral_id),
        department=lookups.department_by_id(payload.department_id, "department_id"),
        doctor=lookups.staff_by_id(payload.doctor_id, "doctor_id"),
    )
    return _reload(request, referral_id)


@router.post("/referrals/{referral_id}/reject", **_move_doc("Reject, with the reason"))
def referral_reject(request: HttpRequest, referral_id: int, payload: ReferralReasonIn) -> ReferralDetail:
    services.referral_reject(
        actor=request.user, referral=_visible(request, referral_id), reason=payload.reason
    )
    return _reload(request, referral_id)


@router.post(
    "/referrals/{referral_id}/redirect", **_move_doc("Redirect to another institution or department")
)
def referral_redirect(request: HttpRequest, referral_id: int, payload: ReferralRedirectIn) -> ReferralDetail:
    referral = _visible(request, referral_id)
    services.referral_redirect(
        actor=request.user,
        referral=referral,
        to_institution=lookups.institution_by_code(request_scope(request), payload.to_institution),
        to_department=lookups.department_by_id(payload.to_department_id),
        note=payload.note,
    )
    return _reload(request, referral_id)


@router.post("/referrals/{referral_id}/assign", **_move_doc("Assign the receiving department and doctor"))
def referral_assign(request: HttpRequest, referral_id: int, payload: ReferralAcceptIn) -> ReferralDetail:
    services.referral_assign(
        actor=request.user,
        referral=_visible(request, referral_id),
        department=lookups.department_by_id(payload.department_id, "department_id"),
        doctor=lookups.staff_by_id(payload.doctor_id, "doctor_id"),
    )
    return _reload(request, referral_id)


@router.post("/referrals/{referral_id}/arrive", **_move_doc("The patient arrived (releases a held bed)"))
def referral_arrive(request: HttpRequest, referral_id: int, payload: ReferralEmpty) -> ReferralDetail:
    services.referral_arrive(actor=request.user, referral=_visible(request, referral_id))
    return _reload(request, referral_id)


@router.post("/referrals/{referral_id}/start-care", **_move_doc("Care started: outpatient or admitted"))
def referral_start_care(request: HttpRequest, referral_id: int, payload: ReferralCareIn) -> ReferralDetail:
    services.referral_start_care(
        actor=request.user, referral=_visible(request, referral_id), mode=payload.mode
    )
    return _reload(request, referral_id)


@router.post("/referrals/{referral_id}/complete", **_move_doc("Write the return slip (in care → completed)"))
def referral_complete(request: HttpRequest, referral_id: int, payload: ReferralCompleteIn) -> ReferralDetail:
    services.referral_complete(
        actor=request.user,
        referral=_visible(request, referral_id),
        diagnosis_code=payload.diagnosis_code,
        diagnosis_name=payload.diagnosis_name,
        results=payload.results,
        treatment=payload.treatment,
        advice=payload.advice,
    )
    return _reload(request, referral_id)


@router.post("/referrals/{referral_id}/follow-up", **_move_doc("The grassroots records its follow-up"))
def referral_follow_up(request: HttpRequest, referral_id: int, payload: ReferralFollowUpIn) -> ReferralDetail:
    referral = _visible(request, referral_id)
    task = lookups.open_task(referral)
    if task is None:
        raise Conflict(_("This referral has no open follow-up task."), code="illegal_transition")
    services.follow_up_record(actor=request.user, task=task, note=payload.note)
    return _reload(request, referral_id)


@router.post("/referrals/{referral_id}/cancel", **_move_doc("Cancel (from any state that is not final)"))
def referral_cancel(request: HttpRequest, referral_id: int, payload: ReferralReasonIn) -> ReferralDetail:
    services.referral_cancel(
        actor=request.user, referral=_visible(request, referral_id), reason=payload.reason
    )
    return _reload(request, referral_id)


# --- slip and attachments ---------------------------------------------------------------------


@router.get(
    "/referrals/{referral_id}/slip.pdf",
    response={200: None, **ERRORS},
    summary="The referral slip as PDF (stub, referral-out, return), in the national layout",
    openapi_extra={"responses": {200: {"description": "PDF", "content": {"application/pdf": {}}}}},
)
def referral_slip(request: HttpRequest, referral_id: int) -> HttpResponse:
    scope = request_scope(request)
    referral = referral_get_for(scope=scope, referral_id=referral_id, actor=request.user)
    response = HttpResponse(slip_pdf(referral), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{referral.number}.pdf"'
    return response


@router.post(
    "/referrals/{referral_id}/attachments",
    response={201: ReferralAttachmentOut, **MOVE_ERRORS},
    summary="Attach a result (PDF, JPEG, PNG or text, at most 10 MB)",
    auth=WRITES,
)
def attachment_add(
    request: HttpRequest, referral_id: int, file: File[UploadedFile], description: Form[str] = ""
) -> Any:
    a = services.attachment_add(
        actor=request.user,
        referral=_visible(request, referral_id),
        upload=file,
        description=description[:200],
    )
    return Status(
        201,
        ReferralAttachmentOut(
            id=a.pk,
            name=a.original_name,
            content_type=a.content_type,
            size=a.size,
            description=a.description,
            uploaded_at=a.created_at,
        ),
    )


@router.get(
    "/referrals/{referral_id}/attachments/{attachment_id}",
    response={200: None, **ERRORS},
    summary="Download an attachment (audited read)",
    openapi_extra={
        "responses": {200: {"description": "The file", "content": {"application/octet-stream": {}}}}
    },
)
def attachment_get(request: HttpRequest, referral_id: int, attachment_id: int) -> Any:
    scope = request_scope(request)
    a = attachment_get_for(
        scope=scope, referral_id=referral_id, attachment_id=attachment_id, actor=request.user
    )
    return FileResponse(a.file.open("rb"), content_type=a.content_type, filename=a.original_name)
