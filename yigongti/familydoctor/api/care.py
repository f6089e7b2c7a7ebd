"""The fulfilment worklist, home visits and home beds, and the monthly statistics."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Status

from yigongti.core.access import request_scope
from yigongti.core.api import (
    ERRORS,
    paginate,
)

from .. import selectors, services
from ..choices import BedStatus, VisitStatus
from .common import (
    ANYONE,
    MOVE_ERRORS,
    WRITES,
    _bed,
    _task,
    _visit,
    router,
)
from .schemas import (
    BedIn,
    BedOut,
    BedPage,
    DischargeIn,
    ListFilter,
    MonthOut,
    RecordIn,
    TaskFilter,
    TaskOut,
    TaskPage,
    VisitIn,
    VisitOut,
    VisitPage,
    VisitRecordIn,
)

# --- fulfilment -------------------------------------------------------------------------------


@router.get(
    "/familydoctor/tasks",
    response={200: TaskPage, **ERRORS},
    summary="Due this week, or overdue",
    auth=ANYONE,
    operation_id="yigongti_familydoctor_api_task_list",
)
def task_list(request: HttpRequest, filters: Query[TaskFilter]) -> dict[str, Any]:
    qs = selectors.task_worklist_for(scope=request_scope(request), window=filters.window, team=filters.team)
    rows, meta = paginate(qs, filters)
    return {**meta, "items": [_task(t) for t in rows]}


@router.post(
    "/familydoctor/tasks/{task_id}/record",
    response={200: TaskOut, **MOVE_ERRORS},
    summary="Record a done service of the plan",
    auth=WRITES,
    operation_id="yigongti_familydoctor_api_task_record",
)
def task_record(request: HttpRequest, task_id: int, payload: RecordIn) -> TaskOut:
    task = selectors.task_get_for(scope=request_scope(request), task_id=task_id)
    done = services.task_record(actor=request.user, task=task, done_on=payload.done_on, result=payload.result)
    return _task(done)


# --- home visits and beds ---------------------------------------------------------------------


@router.get(
    "/familydoctor/home-visits",
    response={200: VisitPage, **ERRORS},
    summary="Home visits",
    auth=ANYONE,
    operation_id="yigongti_familydoctor_api_visit_list",
)
def visit_list(request: HttpRequest, filters: Query[ListFilter]) -> dict[str, Any]:
    status = filters.status if filters.status in VisitStatus.values else ""
    qs = selectors.visit_list_for(scope=request_scope(request), status=status, team=filters.team)
    rows, meta = paginate(qs, filters)
    return {**meta, "items": [_visit(v) for v in rows]}


@router.post(
    "/familydoctor/home-visits",
    response={201: VisitOut, **MOVE_ERRORS},
    summary="Schedule a home visit",
    auth=WRITES,
    operation_id="yigongti_familydoctor_api_visit_schedule",
)
def visit_schedule(request: HttpRequest, payload: VisitIn) -> Status:
    scope = request_scope(request)
    contract = selectors.contract_get_for(scope=scope, contract_id=payload.contract_id)
    bed = selectors.bed_get_for(scope=scope, bed_id=payload.home_bed_id) if payload.home_bed_id else None
    visit = services.home_visit_schedule(
        actor=request.user,
        contract=contract,
        scheduled_on=payload.scheduled_on,
        purpose=payload.purpose,
        home_bed=bed,
    )
    return Status(201, _visit(selectors.visit_get_for(scope=scope, visit_id=visit.pk)))


@router.post(
    "/familydoctor/home-visits/{visit_id}/record",
    response={200: VisitOut, **MOVE_ERRORS},
    summary="Record a home visit as done or missed",
    auth=WRITES,
    operation_id="yigongti_familydoctor_api_visit_record",
)
def visit_record(request: HttpRequest, visit_id: int, payload: VisitRecordIn) -> VisitOut:
    scope = request_scope(request)
    visit = selectors.visit_get_for(scope=scope, visit_id=visit_id)
    services.home_visit_record(
        actor=request.user, visit=visit, done_on=payload.done_on, note=payload.note, missed=payload.missed
    )
    return _visit(selectors.visit_get_for(scope=scope, visit_id=visit_id))


@router.get(
    "/familydoctor/home-beds",
    response={200: BedPage, **ERRORS},
    summary="Home beds",
    auth=ANYONE,
    operation_id="yigongti_familydoctor_api_bed_list",
)
def bed_list(request: HttpRequest, filters: Query[ListFilter]) -> dict[str, Any]:
    status = filters.status if filters.status in BedStatus.values else ""
    qs = selectors.bed_list_for(scope=request_scope(request), status=status, team=filters.team)
    rows, meta = paginate(qs, filters)
    return {**meta, "items": [_bed(b) for b in rows]}


@router.post(
    "/familydoctor/home-beds",
    response={201: BedOut, **MOVE_ERRORS},
    summary="Admit a resident to a home bed",
    auth=WRITES,
    operation_id="yigongti_familydoctor_api_bed_open",
)
def bed_open(request: HttpRequest, payload: BedIn) -> Status:
    scope = request_scope(request)
    contract = selectors.contract_get_for(scope=scope, contract_id=payload.contract_id)
    bed = services.home_bed_open(
        actor=request.user, contract=contract, admitted_on=payload.admitted_on, reason=payload.reason
    )
    return Status(201, _bed(selectors.bed_get_for(scope=scope, bed_id=bed.pk)))


@router.post(
    "/familydoctor/home-beds/{bed_id}/discharge",
    response={200: BedOut, **MOVE_ERRORS},
    summary="Discharge a home bed",
    auth=WRITES,
    operation_id="yigongti_familydoctor_api_bed_discharge",
)
def bed_discharge(request: HttpRequest, bed_id: int, payload: DischargeIn) -> BedOut:
    scope = request_scope(request)
    bed = selectors.bed_get_for(scope=scope, bed_id=bed_id)
    services.home_bed_discharge(
        actor=request.user, bed=bed, discharged_on=payload.discharged_on, note=payload.note
    )
    return _bed(selectors.bed_get_for(scope=scope, bed_id=bed_id))


@router.get(
    "/familydoctor/stats/monthly",
    response={200: list[MonthOut], **ERRORS},
    summary="Home visits done and home beds admitted per team and month (last six months)",
    auth=ANYONE,
    operation_id="yigongti_familydoctor_api_monthly",
)
def monthly(request: HttpRequest) -> list[MonthOut]:
    return [MonthOut(**r) for r in selectors.monthly_counts(scope=request_scope(request))]
