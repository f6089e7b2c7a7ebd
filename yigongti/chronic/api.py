"""Chronic disease and the elderly over JSON under /api/: worklists, registries, follow-ups
(classified by the national rules), the one-click referral of an urgent finding, elderly
services, screenings, counts per village for the office, and the resident's own view."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status

from yigongti.accounts.choices import Role
from yigongti.core.access import request_scope
from yigongti.core.api import (
    BODY_ERRORS,
    ERRORS,
    ErrorOut,
    InSchema,
    PageIn,
    PageOut,
    Text,
    authorized,
    paginate,
)
from yigongti.core.errors import Forbidden, NotFound

from . import rules, selectors, services
from .choices import Adherence, Programme, RiskLevel, Source, VisitMode

router = Router(tags=["chronic"])

WRITES = authorized(writes=True)
OFFICE = authorized(Role.CONSORTIUM_OFFICE, writes=True)
#: A write that may also be refused because of the row's state.
WRITE_ERRORS: dict[int, type[Schema]] = {**BODY_ERRORS, 409: ErrorOut}
ID = Field(..., ge=1, le=2**31 - 1)


def _id(value: str, field: str) -> int:
    """A row id from the path (taken as text, so that the caller's credentials are checked
    first); not a number in the database's range: simply not found."""
    number = int(value) if value.isascii() and value.isdigit() and len(value) < 11 else 0
    if number < 1 or number > 2**31 - 1:
        raise NotFound(_("Not found."), field=field)
    return number


class EmptyIn(InSchema):
    """A move that needs no data (an empty JSON object)."""


# --- schemas ----------------------------------------------------------------------------------


class TaskOut(Schema):
    id: int
    patient_id: int
    patient_name: str
    village_id: int
    programme: str
    outcome: str
    due_on: dt.date
    priority: str
    status: str
    rule_version: str

    @staticmethod
    def resolve_patient_name(obj: Any) -> str:
        return str(obj.patient.name)


class TaskPage(PageOut[TaskOut]):
    pass


class TaskFilter(PageIn):
    box: str = Field(selectors.ALL_OPEN, pattern="^(week|overdue|urgent|all)$")
    programme: Programme | None = None
    village_id: int | None = Field(None, ge=1, le=2**31 - 1)


class CountsOut(Schema):
    week: int
    overdue: int
    urgent: int
    all: int


class EnrollmentOut(Schema):
    id: int
    patient_id: int
    patient_name: str
    village_id: int
    programme: str
    diagnosed_on: dt.date
    enrolled_on: dt.date
    source: str
    risk_level: str
    is_active: bool

    @staticmethod
    def resolve_patient_name(obj: Any) -> str:
        return str(obj.patient.name)


class EnrollmentPage(PageOut[EnrollmentOut]):
    pass


class EnrollmentFilter(PageIn):
    programme: Programme | None = None
    risk_level: RiskLevel | None = None
    q: str = Field("", max_length=40)


class EnrollmentIn(InSchema):
    patient_id: int = ID
    programme: Programme
    diagnosed_on: dt.date
    enrolled_on: dt.date | None = None
    source: Source
    risk_level: RiskLevel


class FollowUpOut(Schema):
    id: int
    enrollment_id: int
    patient_id: int
    programme: str
    visit_date: dt.date
    mode: str
    sbp: int
    dbp: int
    heart_rate: int | None
    weight_kg: Decimal | None
    height_cm: Decimal | None
    bmi: Decimal | None
    fasting_glucose: Decimal | None
    symptoms: str
    danger_signs: bool
    new_complications: bool
    adherence: str
    adverse_reaction: str
    classification: str
    on_target: bool
    next_due_on: dt.date
    referral_id: int | None


class FollowUpPage(PageOut[FollowUpOut]):
    pass


class FollowUpFilter(PageIn):
    programme: Programme | None = None
    classification: str = Field("", pattern="^(|controlled|uncontrolled|refer|urgent)$")


class FollowUpIn(InSchema):
    enrollment_id: int = ID
    visit_date: dt.date
    mode: VisitMode = VisitMode.CLINIC
    sbp: int = Field(..., ge=0, le=1000)
    dbp: int = Field(..., ge=0, le=1000)
    heart_rate: int | None = Field(None, ge=0, le=1000)
    weight_kg: Decimal | None = Field(None, ge=0, le=1000, max_digits=6, decimal_places=1)
    height_cm: Decimal | None = Field(None, ge=0, le=1000, max_digits=6, decimal_places=1)
    fasting_glucose: Decimal | None = Field(None, ge=0, le=1000, max_digits=6, decimal_places=1)
    symptoms: str = Field("", max_length=300)
    danger_signs: bool = False
    new_complications: bool = False
    smoking_per_day: int = Field(0, ge=0, le=1000)
    drinking_per_day: int = Field(0, ge=0, le=1000)
    exercise_per_week: int = Field(0, ge=0, le=1000)
    salt_intake: str = Field("", max_length=8)
    adherence: Adherence = Adherence.REGULAR
    adverse_reaction: str = Field("", max_length=200)


class ReferralOut(Schema):
    referral_id: int
    number: str
    status: str


class ElderlyIn(InSchema):
    patient_id: int = ID
    service_date: dt.date
    self_care_score: int = Field(..., ge=0, le=1000)
    sbp: int = Field(..., ge=0, le=1000)
    dbp: int = Field(..., ge=0, le=1000)
    weight_kg: Decimal | None = Field(None, ge=0, le=1000, max_digits=6, decimal_places=1)
    fasting_glucose: Decimal | None = Field(None, ge=0, le=1000, max_digits=6, decimal_places=1)
    lifestyle: str = Field("", max_length=300)
    tests: str = Field("", max_length=300)
    guidance: str = Field("", max_length=300)


class ElderlyOut(Schema):
    id: int
    patient_id: int
    service_date: dt.date
    self_care_score: int
    self_care_band: str
    sbp: int
    dbp: int


class ScreeningIn(InSchema):
    patient_id: int = ID
    screened_on: dt.date
    sbp: int = Field(..., ge=0, le=1000)
    dbp: int = Field(..., ge=0, le=1000)
    high_risk: bool = False


class ScreeningOut(Schema):
    id: int
    patient_id: int
    screened_on: dt.date
    sbp: int
    dbp: int
    high_risk: bool


class RecordOut(Schema):
    patient_id: int
    name: str
    enrollments: list[EnrollmentOut]
    follow_ups: list[FollowUpOut]
    elderly_services: list[ElderlyOut]
    screenings: list[ScreeningOut]
    tasks: list[TaskOut]


class VillageCountOut(Schema):
    village_id: int
    village_code: str
    village_name: str
    township_name: str
    hypertension: int
    diabetes: int
    week: int
    overdue: int
    urgent: int
    elderly_served: int


class RebuildOut(Schema):
    open_tasks: int
    rule_version: str


def _record_out(record: selectors.ChronicRecord) -> dict[str, Any]:
    return {
        "patient_id": record.patient.pk,
        "name": record.patient.name,
        "enrollments": record.enrollments,
        "follow_ups": record.follow_ups,
        "elderly_services": record.services,
        "screenings": record.screenings,
        "tasks": record.tasks,
    }


# --- worklist ---------------------------------------------------------------------------------


@router.get(
    "/chronic/tasks",
    response={200: TaskPage, **ERRORS},
    summary="The worklist: open tasks due this week, overdue, urgent or all",
)
def task_list(request: HttpRequest, filters: Query[TaskFilter]) -> dict[str, Any]:
    qs = selectors.task_list_for(
        scope=request_scope(request),
        box=filters.box,
        programme=filters.programme or "",
        village_id=filters.village_id,
    )
    rows, meta = paginate(qs, filters)
    return {**meta, "items": rows}


@router.get(
    "/chronic/tasks/counts",
    response={200: CountsOut, **ERRORS},
    summary="How many open tasks in each worklist box",
)
def task_counts(request: HttpRequest) -> dict[str, int]:
    return selectors.task_counts_for(scope=request_scope(request))


@router.post(
    "/chronic/tasks/rebuild",
    response={200: RebuildOut, **ERRORS},
    summary="Regenerate every open task from the rules (consortium office)",
    auth=OFFICE,
)
def task_rebuild(request: HttpRequest) -> dict[str, Any]:
    count = services.tasks_rebuild(actor=request.user)
    return {"open_tasks": count, "rule_version": rules.VERSION}


@router.get(
    "/chronic/rules",
    response={200: dict[str, Any], **ERRORS},
    summary="The worklist rule set in force, with its version",
)
def rule_set(request: HttpRequest) -> dict[str, Any]:
    return {
        "version": rules.VERSION,
        "programmes": {str(k): v for k, v in rules.RULESET["programmes"].items()},
    }


# --- registries -------------------------------------------------------------------------------


@router.get(
    "/chronic/enrollments",
    response={200: EnrollmentPage, **ERRORS},
    summary="Registry entries in scope, with filters",
)
def enrollment_list(request: HttpRequest, filters: Query[EnrollmentFilter]) -> dict[str, Any]:
    qs = selectors.enrollment_list_for(
        scope=request_scope(request),
        programme=filters.programme or "",
        risk_level=filters.risk_level or "",
        q=filters.q.strip(),
    )
    rows, meta = paginate(qs, filters)
    return {**meta, "items": rows}


@router.post(
    "/chronic/enrollments",
    response={201: EnrollmentOut, **WRITE_ERRORS},
    summary="Enter a resident in the hypertension or type 2 diabetes registry",
    auth=WRITES,
)
def enrollment_create(request: HttpRequest, payload: EnrollmentIn) -> Any:
    scope = request_scope(request)
    patient = selectors.patient_for(scope=scope, patient_id=payload.patient_id)
    entry = services.enrollment_create(
        actor=request.user,
        patient=patient,
        programme=payload.programme,
        diagnosed_on=payload.diagnosed_on,
        enrolled_on=payload.enrolled_on,
        source=payload.source,
        risk_level=payload.risk_level,
    )
    return Status(201, entry)


class EnrollmentCloseIn(InSchema):
    reason: str = Field(..., max_length=200)


@router.post(
    "/chronic/enrollments/{enrollment_id}/close",
    response={200: EnrollmentOut, **WRITE_ERRORS},
    summary="Take a resident off the register (the entry stays, inactive; her contract's group follows)",
    auth=WRITES,
)
def enrollment_close(request: HttpRequest, enrollment_id: Text, payload: EnrollmentCloseIn) -> Any:
    scope = request_scope(request)
    entry = selectors.enrollment_get_for(scope=scope, enrollment_id=_id(enrollment_id, "enrollment"))
    return services.enrollment_close(actor=request.user, enrollment=entry, reason=payload.reason)


# --- follow-ups -------------------------------------------------------------------------------


@router.get(
    "/chronic/follow-ups", response={200: FollowUpPage, **ERRORS}, summary="Follow-ups in scope, newest first"
)
def follow_up_list(request: HttpRequest, filters: Query[FollowUpFilter]) -> dict[str, Any]:
    qs = selectors.follow_up_list_for(
        scope=request_scope(request), programme=filters.programme or "", classification=filters.classification
    )
    rows, meta = paginate(qs, filters)
    return {**meta, "items": rows}


@router.post(
    "/chronic/follow-ups",
    response={201: FollowUpOut, **WRITE_ERRORS},
    summary="Record a follow-up; it is classified by the national rules and the next task is set",
    auth=WRITES,
)
def follow_up_create(request: HttpRequest, payload: FollowUpIn) -> Any:
    scope = request_scope(request)
    entry = selectors.enrollment_get_for(scope=scope, enrollment_id=payload.enrollment_id)
    data = payload.dict(exclude={"enrollment_id"})
    row = services.follow_up_record(actor=request.user, enrollment=entry, **data)
    return Status(201, row)


@router.post(
    "/chronic/follow-ups/{follow_up_id}/referral",
    response={201: ReferralOut, **WRITE_ERRORS},
    summary="One-click upward referral of an urgent or twice-uncontrolled finding (a draft to submit)",
    auth=WRITES,
)
def follow_up_refer(request: HttpRequest, follow_up_id: Text, payload: EmptyIn) -> Any:
    scope = request_scope(request)
    row = selectors.follow_up_get_for(scope=scope, follow_up_id=_id(follow_up_id, "follow_up"))
    referral = services.referral_from_follow_up(actor=request.user, follow_up=row)
    return Status(201, {"referral_id": referral.pk, "number": referral.number, "status": referral.status})


# --- elderly and screening --------------------------------------------------------------------


@router.post(
    "/chronic/elderly-services",
    response={201: ElderlyOut, **WRITE_ERRORS},
    summary="Record the annual elderly health service with the self-care score",
    auth=WRITES,
)
def elderly_create(request: HttpRequest, payload: ElderlyIn) -> Any:
    scope = request_scope(request)
    patient = selectors.patient_for(scope=scope, patient_id=payload.patient_id)
    row = services.elderly_service_record(
        actor=request.user, patient=patient, **payload.dict(exclude={"patient_id"})
    )
    return Status(201, row)


@router.post(
    "/chronic/screenings",
    response={201: ScreeningOut, **WRITE_ERRORS},
    summary="Record a blood-pressure screening of a resident aged 35 or over",
    auth=WRITES,
)
def screening_create(request: HttpRequest, payload: ScreeningIn) -> Any:
    scope = request_scope(request)
    patient = selectors.patient_for(scope=scope, patient_id=payload.patient_id)
    row = services.screening_record(
        actor=request.user, patient=patient, **payload.dict(exclude={"patient_id"})
    )
    return Status(201, row)


# --- one resident, the resident herself, the office ---------------------------------------------


@router.get(
    "/chronic/patients/{patient_id}",
    response={200: RecordOut, **ERRORS},
    summary="One resident's chronic record (audited read)",
)
def patient_record(request: HttpRequest, patient_id: Text) -> dict[str, Any]:
    record = selectors.record_for(
        scope=request_scope(request), patient_id=_id(patient_id, "patient"), actor=request.user
    )
    return _record_out(record)


@router.get(
    "/chronic/me",
    response={200: RecordOut, **ERRORS},
    summary="The resident's own registry entries, plan (due tasks) and follow-up results",
    auth=authorized(Role.RESIDENT),
)
def my_record(request: HttpRequest) -> dict[str, Any]:
    scope = request_scope(request)
    patient = selectors.my_patient(scope=scope)
    if patient is None:
        raise Forbidden(_no_record())
    return _record_out(selectors.record_for(scope=scope, patient_id=patient.pk, actor=request.user))


def _no_record() -> Any:
    return _("Your account is not linked to a resident's record.")


@router.get(
    "/chronic/villages",
    response={200: list[VillageCountOut], **ERRORS},
    summary="Counts per village clinic in scope (aggregates, no personal rows)",
)
def village_counts(request: HttpRequest) -> list[dict[str, Any]]:
    rows = selectors.village_counts_for(scope=request_scope(request))
    return [
        {
            **{k: v for k, v in r.items() if k != "village"},
            "village_id": r["village"].pk,
            "village_code": r["village"].code,
            "village_name": r["village"].name,
            "township_name": r["village"].parent.name if r["village"].parent else "",
        }
        for r in rows
    ]
