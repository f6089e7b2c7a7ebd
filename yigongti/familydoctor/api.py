"""Family doctors over JSON under /api/.

Teams and service packages (``/familydoctor/teams``, ``/familydoctor/packages``; the consortium
office writes them), contracts (``/familydoctor/contracts``: sign at the clinic, or apply online
as a resident; then ``confirm``, ``cancel``, ``terminate``, ``renew``, ``expire``; an illegal move
is a 409), the fulfilment worklist (``/familydoctor/tasks``, ``.../record``), home visits and home
beds, and the per-team statistics (``/familydoctor/stats``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.access import request_scope
from yigongti.core.api import (
    BODY_ERRORS,
    ERRORS,
    OFFICE_WRITES,
    ErrorOut,
    InSchema,
    PageIn,
    PageOut,
    authorized,
    paginate,
)
from yigongti.core.errors import InvalidInput, NotFound
from yigongti.institutions.models import Institution, Staff
from yigongti.patients.models import Patient

from . import selectors, services
from .choices import BedStatus, ContractStatus, PackageKind, PriorityGroup, TeamRole, VisitStatus
from .models import Contract, HomeBed, HomeVisit, ServicePackage, Task, Team

router = Router(tags=["familydoctor"])

WRITES = authorized(writes=True)
ANYONE = authorized()
MOVE_ERRORS: dict[int, type[Schema]] = {**BODY_ERRORS, 409: ErrorOut}


class _In(InSchema):
    model_config = ConfigDict(extra="forbid")


# --- schemas ----------------------------------------------------------------------------------


class MemberIn(_In):
    staff_id: int
    role: TeamRole


class TeamIn(_In):
    code: str = Field(..., min_length=1, max_length=20)
    name: str = Field(..., min_length=1, max_length=60)
    institution: str = Field(..., max_length=12, description="Code of the township centre or village clinic")
    villages: list[str] = Field(..., max_length=100, description="Codes of the village clinics served")
    members: list[MemberIn] = Field(..., max_length=20)


class TeamUpdateIn(_In):
    name: str = Field(..., min_length=1, max_length=60)
    villages: list[str] = Field(..., max_length=100)
    members: list[MemberIn] = Field(..., max_length=20)
    is_active: bool = True


class MemberOut(Schema):
    staff_id: int
    name: str
    role: str
    institution: str


class FulfilmentOut(Schema):
    due: int
    done: int
    rate: float | None


class TeamOut(Schema):
    id: int
    code: str
    name: str
    institution: str
    villages: list[str]
    members: list[MemberOut]
    is_active: bool
    active_contracts: int
    priority_contracts: int
    fulfilment: FulfilmentOut


class ItemIn(_In):
    name: str = Field(..., min_length=1, max_length=80)
    times_per_year: int = Field(..., ge=1, le=52)
    is_home_visit: bool = False


class PackageIn(_In):
    code: str = Field(..., min_length=1, max_length=20)
    name: str = Field(..., min_length=1, max_length=60)
    kind: PackageKind
    target_group: PriorityGroup | None = None
    price: Decimal = Field(..., ge=0, le=100000, max_digits=8, decimal_places=2)
    insurance_share: Decimal = Field(Decimal("0"), ge=0, le=100000, max_digits=8, decimal_places=2)
    description: str = Field("", max_length=300)
    items: list[ItemIn] = Field(default_factory=list, max_length=40)


class PackageUpdateIn(_In):
    name: str = Field(..., min_length=1, max_length=60)
    price: Decimal = Field(..., ge=0, le=100000, max_digits=8, decimal_places=2)
    insurance_share: Decimal = Field(..., ge=0, le=100000, max_digits=8, decimal_places=2)
    description: str = Field("", max_length=300)
    is_active: bool = True


class ItemOut(Schema):
    id: int
    name: str
    times_per_year: int
    is_home_visit: bool


class PackageOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    target_group: str
    price: Decimal
    insurance_share: Decimal
    resident_pays: Decimal
    description: str
    is_active: bool
    items: list[ItemOut]


class ContractIn(_In):
    patient_id: int
    team_id: int
    packages: list[str] = Field(..., max_length=20, description="Package codes; the basic one is required")
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    groups: list[PriorityGroup] = Field(default_factory=list, max_length=9)


class ConfirmIn(_In):
    paper_signature: bool = False


class ReasonIn(_In):
    reason: str = Field("", max_length=200)


class RenewIn(_In):
    team_id: int | None = None
    packages: list[str] | None = Field(None, max_length=20)
    end_date: dt.date | None = None


class ContractRow(Schema):
    id: int
    number: str
    status: str
    status_label: str
    channel: str
    patient_id: int
    patient_name: str
    patient_id_number: str
    village: str
    team_id: int
    team: str
    start_date: dt.date
    end_date: dt.date
    priority_groups: list[str]
    fee: Decimal
    resident_fee: Decimal


class ContractPage(PageOut[ContractRow]):
    pass


class TaskOut(Schema):
    id: int
    contract_id: int
    patient_name: str
    item: str
    due_on: dt.date
    status: str
    overdue: bool
    done_on: dt.date | None
    result: str


class ContractDetail(ContractRow):
    packages: list[str]
    paper_signature: bool
    confirmed_on: dt.date | None
    ended_on: dt.date | None
    end_reason: str
    previous_id: int | None
    fulfilment: FulfilmentOut
    tasks: list[TaskOut]


class ContractFilter(PageIn):
    team: int | None = None
    village: str = Field("", max_length=12)
    status: ContractStatus | None = None
    group: PriorityGroup | None = None
    expiring: bool = False
    q: str = Field("", max_length=40)


class TaskFilter(PageIn):
    window: str = Field("week", pattern="^(week|overdue)$")
    team: int | None = None


class TaskPage(PageOut[TaskOut]):
    pass


class RecordIn(_In):
    done_on: dt.date | None = None
    result: str = Field("", max_length=300)


class VisitIn(_In):
    contract_id: int
    scheduled_on: dt.date
    purpose: str = Field(..., min_length=1, max_length=200)
    home_bed_id: int | None = None


class VisitRecordIn(_In):
    done_on: dt.date | None = None
    note: str = Field("", max_length=300)
    missed: bool = False


class VisitOut(Schema):
    id: int
    contract_id: int
    patient_name: str
    team: str
    scheduled_on: dt.date
    purpose: str
    status: str
    done_on: dt.date | None
    note: str
    home_bed_id: int | None


class VisitPage(PageOut[VisitOut]):
    pass


class ListFilter(PageIn):
    status: str = Field("", max_length=12)
    team: int | None = None


class BedIn(_In):
    contract_id: int
    admitted_on: dt.date
    reason: str = Field(..., min_length=1, max_length=200)


class DischargeIn(_In):
    discharged_on: dt.date | None = None
    note: str = Field("", max_length=300)


class BedOut(Schema):
    id: int
    contract_id: int
    patient_name: str
    team: str
    admitted_on: dt.date
    discharged_on: dt.date | None
    reason: str
    status: str
    visits_done: int


class BedPage(PageOut[BedOut]):
    pass


class MonthOut(Schema):
    team_id: int
    team: str
    month: dt.date
    visits: int
    beds: int


# --- converters -------------------------------------------------------------------------------


def _team(t: Team, stats: dict[str, Any]) -> TeamOut:
    return TeamOut(
        id=t.pk,
        code=t.code,
        name=t.name,
        institution=t.institution.code,
        villages=[v.code for v in t.villages.all()],
        members=[
            MemberOut(
                staff_id=m.staff_id, name=m.staff.name, role=m.role, institution=m.staff.institution.code
            )
            for m in t.members.all()
        ],
        is_active=t.is_active,
        active_contracts=stats["counts"]["active"],
        priority_contracts=stats["counts"]["priority"],
        fulfilment=FulfilmentOut(**stats["fulfilment"]),
    )


def _package(p: ServicePackage) -> PackageOut:
    return PackageOut(
        id=p.pk,
        code=p.code,
        name=p.name,
        kind=p.kind,
        target_group=p.target_group,
        price=p.price,
        insurance_share=p.insurance_share,
        resident_pays=p.resident_pays,
        description=p.description,
        is_active=p.is_active,
        items=[
            ItemOut(id=i.pk, name=i.name, times_per_year=i.times_per_year, is_home_visit=i.is_home_visit)
            for i in p.items.all()
        ],
    )


def _row(c: Contract) -> dict[str, Any]:
    return {
        "id": c.pk,
        "number": c.number,
        "status": c.status,
        "status_label": str(c.get_status_display()),
        "channel": c.channel,
        "patient_id": c.patient_id,
        "patient_name": c.patient.name,
        "patient_id_number": idnumbers.mask(c.patient.id_number) if c.patient.id_number else "",
        "village": c.patient.village.code if c.patient.village else "",
        "team_id": c.team_id,
        "team": c.team.name,
        "start_date": c.start_date,
        "end_date": c.end_date,
        "priority_groups": list(c.priority_groups),
        "fee": c.fee,
        "resident_fee": c.resident_fee,
    }


def _task(t: Task) -> TaskOut:
    return TaskOut(
        id=t.pk,
        contract_id=t.contract_id,
        patient_name=t.contract.patient.name,
        item=t.item.name,
        due_on=t.due_on,
        status=t.status,
        overdue=t.status == "open" and t.due_on < services.today(),
        done_on=t.done_on,
        result=t.result,
    )


def _detail(c: Contract) -> ContractDetail:
    tasks = list(c.tasks.select_related("item", "contract__patient").order_by("due_on", "id"))
    return ContractDetail(
        **_row(c),
        packages=[p.code for p in c.packages.all()],
        paper_signature=c.paper_signature,
        confirmed_on=c.confirmed_on,
        ended_on=c.ended_on,
        end_reason=c.end_reason,
        previous_id=c.previous_id,
        fulfilment=FulfilmentOut(**selectors.contract_fulfilment(c)),
        tasks=[_task(t) for t in tasks],
    )


def _visit(v: HomeVisit) -> VisitOut:
    return VisitOut(
        id=v.pk,
        contract_id=v.contract_id,
        patient_name=v.contract.patient.name,
        team=v.contract.team.name,
        scheduled_on=v.scheduled_on,
        purpose=v.purpose,
        status=v.status,
        done_on=v.done_on,
        note=v.note,
        home_bed_id=v.home_bed_id,
    )


def _bed(b: HomeBed) -> BedOut:
    return BedOut(
        id=b.pk,
        contract_id=b.contract_id,
        patient_name=b.contract.patient.name,
        team=b.contract.team.name,
        admitted_on=b.admitted_on,
        discharged_on=b.discharged_on,
        reason=b.reason,
        status=b.status,
        visits_done=getattr(b, "visits_done", 0),
    )


# --- lookups ----------------------------------------------------------------------------------


def _institution(code: str, field: str) -> Institution:
    found = Institution.objects.filter(code=code).first()
    if found is None:
        raise InvalidInput(_no_such_institution(), field=field)
    return found


def _no_such_institution() -> Any:
    return _("No such institution.")


def _members(request: HttpRequest, members: list[MemberIn]) -> list[tuple[Staff, str]]:
    scope = request_scope(request)
    staff = {
        s.pk: s
        for s in Staff.objects.filter(pk__in=[m.staff_id for m in members]).select_related("institution")
    }
    out = []
    for m in members:
        s = staff.get(m.staff_id)
        if s is None or not scope.sees_institution(s.institution_id):
            raise InvalidInput(_("No such staff member."), field="members")
        out.append((s, str(m.role)))
    return out


def _packages(codes: list[str]) -> list[ServicePackage]:
    found = {p.code: p for p in ServicePackage.objects.filter(code__in=codes)}
    missing = [c for c in codes if c not in found]
    if missing:
        raise InvalidInput(_("No such package: %(codes)s") % {"codes": ", ".join(missing)}, field="packages")
    return [found[c] for c in dict.fromkeys(codes)]


def _patient(request: HttpRequest, patient_id: int) -> Patient:
    scope = request_scope(request)
    qs = Patient.objects.filter(pk=patient_id, merged_into__isnull=True)
    if scope.self_patient_only:
        qs = qs.filter(user_id=scope.user_id or 0)
    else:
        qs = qs.filter(village_id__in=scope.resident_village_ids)
    patient = qs.first()
    if patient is None:
        raise NotFound(_("No such resident in your scope."))
    return patient


def _team_for(team_id: int) -> Team:
    """Any team by id: whether it may sign this resident is the service's check (villages served)."""
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise InvalidInput(_team_missing(), field="team_id")
    return team


def _team_missing() -> Any:
    return _("No such team.")


# --- teams ------------------------------------------------------------------------------------


@router.get(
    "/familydoctor/teams",
    response={200: list[TeamOut], **ERRORS},
    summary="Family-doctor teams in scope",
    auth=ANYONE,
)
def team_list(request: HttpRequest) -> list[TeamOut]:
    rows = selectors.team_list_with_stats(scope=request_scope(request))
    return [_team(r["team"], r) for r in rows]


@router.post(
    "/familydoctor/teams",
    response={201: TeamOut, **MOVE_ERRORS},
    summary="Create a team (consortium office)",
    auth=OFFICE_WRITES,
)
def team_create(request: HttpRequest, payload: TeamIn) -> Status:
    team = services.team_create(
        actor=request.user,
        code=payload.code,
        name=payload.name,
        institution=_institution(payload.institution, "institution"),
        villages=[_institution(c, "villages") for c in payload.villages],
        members=_members(request, payload.members),
    )
    return Status(201, _team_stats(request, team.pk))


def _team_stats(request: HttpRequest, team_id: int) -> TeamOut:
    for r in selectors.team_list_with_stats(scope=request_scope(request)):
        if r["team"].pk == team_id:
            return _team(r["team"], r)
    raise NotFound(_team_missing())


@router.get(
    "/familydoctor/teams/{team_id}", response={200: TeamOut, **ERRORS}, summary="One team", auth=ANYONE
)
def team_get(request: HttpRequest, team_id: int) -> TeamOut:
    return _team_stats(request, team_id)


@router.put(
    "/familydoctor/teams/{team_id}",
    response={200: TeamOut, **MOVE_ERRORS},
    summary="Change a team's name, villages and members (consortium office)",
    auth=OFFICE_WRITES,
)
def team_update(request: HttpRequest, team_id: int, payload: TeamUpdateIn) -> TeamOut:
    team = selectors.team_get_for(scope=request_scope(request), team_id=team_id)
    services.team_update(
        actor=request.user,
        team=team,
        name=payload.name,
        villages=[_institution(c, "villages") for c in payload.villages],
        members=_members(request, payload.members),
        is_active=payload.is_active,
    )
    return _team_stats(request, team_id)


# --- packages ---------------------------------------------------------------------------------


@router.get(
    "/familydoctor/packages",
    response={200: list[PackageOut], **ERRORS},
    summary="Service packages",
    auth=ANYONE,
)
def package_list(request: HttpRequest) -> list[PackageOut]:
    return [_package(p) for p in selectors.package_list_for(scope=request_scope(request))]


@router.post(
    "/familydoctor/packages",
    response={201: PackageOut, **MOVE_ERRORS},
    summary="Create a service package with its items (consortium office)",
    auth=OFFICE_WRITES,
)
def package_create(request: HttpRequest, payload: PackageIn) -> Status:
    package = services.package_create(
        actor=request.user,
        code=payload.code,
        name=payload.name,
        kind=str(payload.kind),
        target_group=str(payload.target_group or ""),
        price=payload.price,
        insurance_share=payload.insurance_share,
        description=payload.description,
        items=[(i.name, i.times_per_year, i.is_home_visit) for i in payload.items],
    )
    return Status(
        201, _package(selectors.package_get_for(scope=request_scope(request), package_id=package.pk))
    )


@router.put(
    "/familydoctor/packages/{package_id}",
    response={200: PackageOut, **BODY_ERRORS},
    summary="Change a package's name, price, insurance share (consortium office)",
    auth=OFFICE_WRITES,
)
def package_update(request: HttpRequest, package_id: int, payload: PackageUpdateIn) -> PackageOut:
    package = selectors.package_get_for(scope=request_scope(request), package_id=package_id)
    services.package_update(
        actor=request.user,
        package=package,
        name=payload.name,
        price=payload.price,
        insurance_share=payload.insurance_share,
        description=payload.description,
        is_active=payload.is_active,
    )
    return _package(selectors.package_get_for(scope=request_scope(request), package_id=package_id))


@router.post(
    "/familydoctor/packages/{package_id}/items",
    response={201: PackageOut, **BODY_ERRORS},
    summary="Add an item to a package (consortium office)",
    auth=OFFICE_WRITES,
)
def package_item_add(request: HttpRequest, package_id: int, payload: ItemIn) -> Status:
    package = selectors.package_get_for(scope=request_scope(request), package_id=package_id)
    services.package_item_add(
        actor=request.user,
        package=package,
        name=payload.name,
        times_per_year=payload.times_per_year,
        is_home_visit=payload.is_home_visit,
    )
    return Status(
        201, _package(selectors.package_get_for(scope=request_scope(request), package_id=package_id))
    )


# --- contracts --------------------------------------------------------------------------------


@router.get(
    "/familydoctor/contracts",
    response={200: ContractPage, **ERRORS},
    summary="Contracts in scope",
    auth=ANYONE,
)
def contract_list(request: HttpRequest, filters: Query[ContractFilter]) -> dict[str, Any]:
    scope = request_scope(request)
    village = (
        Institution.objects.filter(code=filters.village).values_list("pk", flat=True).first()
        if filters.village
        else None
    )
    qs = selectors.contract_list_for(
        scope=scope,
        team=filters.team,
        village=village or (-1 if filters.village else None),
        status=str(filters.status or ""),
        group=str(filters.group or ""),
        expiring=filters.expiring,
        q=filters.q,
    )
    rows, meta = paginate(qs.order_by("-start_date", "-id"), filters)
    return {**meta, "items": [_row(c) for c in rows]}


@router.post(
    "/familydoctor/contracts",
    response={201: ContractDetail, **MOVE_ERRORS},
    summary="Sign a contract at the clinic (staff) or apply online (the resident herself)",
    auth=authorized(Role.TOWNSHIP_DOCTOR, Role.VILLAGE_DOCTOR, Role.NURSE, Role.COUNTY_DOCTOR, Role.RESIDENT),
)
def contract_sign(request: HttpRequest, payload: ContractIn) -> Status:
    patient = _patient(request, payload.patient_id)
    contract = services.contract_sign(
        actor=request.user,
        patient=patient,
        team=_team_for(payload.team_id),
        packages=_packages(payload.packages),
        start_date=payload.start_date,
        end_date=payload.end_date,
        groups=[str(g) for g in payload.groups],
    )
    return Status(
        201, _detail(selectors.contract_get_for(scope=request_scope(request), contract_id=contract.pk))
    )


@router.get(
    "/familydoctor/contracts/{contract_id}",
    response={200: ContractDetail, **ERRORS},
    summary="One contract with its plan",
    auth=ANYONE,
)
def contract_get(request: HttpRequest, contract_id: int) -> ContractDetail:
    scope = request_scope(request)
    return _detail(selectors.contract_get_for(scope=scope, contract_id=contract_id, reader=request.user))


def _contract(request: HttpRequest, contract_id: int) -> Contract:
    return selectors.contract_get_for(scope=request_scope(request), contract_id=contract_id)


@router.post(
    "/familydoctor/contracts/{contract_id}/confirm",
    response={200: ContractDetail, **MOVE_ERRORS},
    summary="The resident confirms (or the clinic records her paper signature); the team accepts",
    auth=ANYONE,
)
def contract_confirm(request: HttpRequest, contract_id: int, payload: ConfirmIn) -> ContractDetail:
    c = services.contract_confirm(
        actor=request.user, contract=_contract(request, contract_id), paper_signature=payload.paper_signature
    )
    return _detail(_contract(request, c.pk))


@router.post(
    "/familydoctor/contracts/{contract_id}/cancel",
    response={200: ContractDetail, **MOVE_ERRORS},
    summary="Withdraw or decline a pending contract",
    auth=ANYONE,
)
def contract_cancel(request: HttpRequest, contract_id: int, payload: ReasonIn) -> ContractDetail:
    c = services.contract_cancel(
        actor=request.user, contract=_contract(request, contract_id), reason=payload.reason
    )
    return _detail(_contract(request, c.pk))


@router.post(
    "/familydoctor/contracts/{contract_id}/terminate",
    response={200: ContractDetail, **MOVE_ERRORS},
    summary="End an active contract early, with the reason",
    auth=WRITES,
)
def contract_terminate(request: HttpRequest, contract_id: int, payload: ReasonIn) -> ContractDetail:
    c = services.contract_terminate(
        actor=request.user, contract=_contract(request, contract_id), reason=payload.reason
    )
    return _detail(_contract(request, c.pk))


@router.post(
    "/familydoctor/contracts/{contract_id}/expire",
    response={200: ContractDetail, **MOVE_ERRORS},
    summary="Mark an active contract whose term is over as expired",
    auth=WRITES,
)
def contract_expire(request: HttpRequest, contract_id: int) -> ContractDetail:
    c = services.contract_expire(actor=request.user, contract=_contract(request, contract_id))
    return _detail(_contract(request, c.pk))


@router.post(
    "/familydoctor/contracts/{contract_id}/renew",
    response={201: ContractDetail, **MOVE_ERRORS},
    summary="Renew for the next term (within 60 days of the end); the team may change here only",
    auth=WRITES,
)
def contract_renew(request: HttpRequest, contract_id: int, payload: RenewIn) -> Status:
    old = _contract(request, contract_id)
    new = services.contract_renew(
        actor=request.user,
        contract=old,
        team=_team_for(payload.team_id) if payload.team_id else None,
        packages=_packages(payload.packages) if payload.packages is not None else None,
        end_date=payload.end_date,
    )
    return Status(201, _detail(_contract(request, new.pk)))


# --- fulfilment -------------------------------------------------------------------------------


@router.get(
    "/familydoctor/tasks",
    response={200: TaskPage, **ERRORS},
    summary="Due this week, or overdue",
    auth=ANYONE,
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
)
def task_record(request: HttpRequest, task_id: int, payload: RecordIn) -> TaskOut:
    task = selectors.task_get_for(scope=request_scope(request), task_id=task_id)
    done = services.task_record(actor=request.user, task=task, done_on=payload.done_on, result=payload.result)
    return _task(done)


# --- home visits and beds ---------------------------------------------------------------------


@router.get(
    "/familydoctor/home-visits", response={200: VisitPage, **ERRORS}, summary="Home visits", auth=ANYONE
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
)
def visit_record(request: HttpRequest, visit_id: int, payload: VisitRecordIn) -> VisitOut:
    scope = request_scope(request)
    visit = selectors.visit_get_for(scope=scope, visit_id=visit_id)
    services.home_visit_record(
        actor=request.user, visit=visit, done_on=payload.done_on, note=payload.note, missed=payload.missed
    )
    return _visit(selectors.visit_get_for(scope=scope, visit_id=visit_id))


@router.get("/familydoctor/home-beds", response={200: BedPage, **ERRORS}, summary="Home beds", auth=ANYONE)
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
)
def monthly(request: HttpRequest) -> list[MonthOut]:
    return [MonthOut(**r) for r in selectors.monthly_counts(scope=request_scope(request))]
