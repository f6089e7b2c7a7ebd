"""Institutions, departments, staff and secondments over JSON.

Reads go through the scoped selectors (an institution outside the caller's scope is a 404, as if
it did not exist); writes are the consortium office's and go through the services, which check
the role again and write the audit row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.access import Scope, request_scope, scope_for
from yigongti.core.api import (
    BODY_ERRORS,
    ERRORS,
    OFFICE_WRITES,
    ErrorOut,
    InSchema,
    PageIn,
    PageOut,
    Text,
    paginate,
)
from yigongti.core.errors import NotFound

from . import services
from .choices import DepartmentCategory, ExternalLevel, InstitutionKind, Level, Profession, Sex, Title
from .models import Department, Institution, Secondment, Staff
from .selectors import (
    department_get_for,
    department_list_for,
    institution_beds,
    institution_get_for,
    institution_list_for,
    secondment_get_for,
    secondment_list_for,
    staff_get_for,
    staff_list_for,
)

router = Router(tags=["institutions"])

WRITE_ERRORS: dict[int, type[Schema]] = {**BODY_ERRORS, 409: ErrorOut}


class _In(InSchema):
    """Request bodies: enums arrive as their plain values, unknown keys are refused."""

    model_config = ConfigDict(use_enum_values=True, extra="forbid")


def _institution(scope: Scope, code: str, field: str) -> Institution:
    """An institution in scope by code; a missing or foreign one is a 404 naming ``field``."""
    try:
        return institution_get_for(scope=scope, code=code)
    except NotFound as exc:
        raise NotFound(exc.message, field=field) from None


# --- institutions -----------------------------------------------------------------------------


class InstitutionFilter(PageIn):
    q: str = Field("", max_length=50, description="Part of the name, or the start of the code")
    kind: InstitutionKind | None = None
    level: Level | None = None
    parent: str | None = Field(None, max_length=12, description="Code of the parent institution")


class InstitutionOut(Schema):
    code: str
    name: str
    short_name: str
    kind: str
    kind_display: str
    level: str
    parent_code: str | None
    staff_count: int
    beds: int
    is_active: bool


class InstitutionPage(PageOut[InstitutionOut]):
    pass


class ConsortiumOut(Schema):
    code: str
    name: str
    county_code: str
    county_name: str


class DepartmentOut(Schema):
    id: int
    institution_code: str
    code: str
    name: str
    category: str
    category_display: str
    beds: int
    staff_count: int


class DepartmentPage(PageOut[DepartmentOut]):
    pass


class InstitutionDetailOut(InstitutionOut):
    area_code: str
    township_name: str
    external_level: str
    address: str
    phone: str
    consortium: ConsortiumOut | None
    children: list[str]
    departments: list[DepartmentOut]


def _institution_out(inst: Institution, staff_count: int, beds: int) -> dict[str, Any]:
    return {
        "code": inst.code,
        "name": inst.name,
        "short_name": inst.short_name,
        "kind": inst.kind,
        "kind_display": str(inst.get_kind_display()),
        "level": inst.level,
        "parent_code": inst.parent.code if inst.parent else None,
        "staff_count": staff_count,
        "beds": beds,
        "is_active": inst.is_active,
    }


def _department_out(dept: Department, institution: Institution) -> DepartmentOut:
    return DepartmentOut(
        id=dept.pk,
        institution_code=institution.code,
        code=dept.code,
        name=dept.name,
        category=dept.category,
        category_display=str(dept.get_category_display()),
        beds=dept.beds,
        staff_count=getattr(dept, "staff_count", 0),
    )


def _institution_detail(scope: Scope, inst: Institution) -> InstitutionDetailOut:
    departments = [_department_out(d, inst) for d in department_list_for(scope=scope, institution=inst)]
    children = list(institution_list_for(scope=scope, parent_id=inst.pk).values_list("code", flat=True))
    staff_count = staff_list_for(scope=scope, institution_id=inst.pk, include_seconded_in=False).count()
    c = inst.consortium
    return InstitutionDetailOut(
        **_institution_out(inst, staff_count, sum(d.beds for d in departments)),
        area_code=inst.area_code,
        township_name=inst.township_name,
        external_level=inst.external_level,
        address=inst.address,
        phone=inst.phone,
        consortium=ConsortiumOut(
            code=c.code, name=c.name, county_code=c.county_code, county_name=c.county_name
        )
        if c
        else None,
        children=children,
        departments=departments,
    )


@router.get(
    "/institutions",
    response={200: InstitutionPage, **ERRORS},
    summary="Institutions in the caller's scope, with active staff and approved beds",
)
def institution_list(request: HttpRequest, filters: Query[InstitutionFilter]) -> dict[str, Any]:
    scope = request_scope(request)
    parent_id = _institution(scope, filters.parent, "parent").pk if filters.parent else None
    qs = institution_list_for(
        scope=scope,
        q=filters.q.strip(),
        kind=filters.kind or "",
        level=filters.level or "",
        parent_id=parent_id,
    )
    rows, meta = paginate(qs, filters)
    beds = institution_beds([i.pk for i in rows])
    items = [InstitutionOut(**_institution_out(i, i.staff_count, beds.get(i.pk, 0))) for i in rows]
    return {**meta, "items": items}


@router.get(
    "/institutions/{code}",
    response={200: InstitutionDetailOut, **ERRORS},
    summary="One institution by its 12-digit code, with consortium, children and departments",
)
def institution_detail(request: HttpRequest, code: Text) -> InstitutionDetailOut:
    scope = request_scope(request)
    return _institution_detail(scope, _institution(scope, code, "code"))


class InstitutionIn(_In):
    code: str = Field(..., max_length=12, description="12 digits: county (6), township (3), village (3)")
    name: str = Field(..., max_length=100)
    kind: InstitutionKind
    parent: str | None = Field(None, max_length=12, description="Code of the parent institution")
    short_name: str = Field("", max_length=40)
    township_name: str = Field("", max_length=40)
    external_level: ExternalLevel | None = None
    address: str = Field("", max_length=200)
    phone: str = Field("", max_length=20)


@router.post(
    "/institutions",
    response={201: InstitutionDetailOut, **WRITE_ERRORS},
    summary="Add an institution to the consortium's tree (consortium office)",
    auth=OFFICE_WRITES,
)
def institution_create(request: HttpRequest, payload: InstitutionIn) -> Status[InstitutionDetailOut]:
    scope = request_scope(request)
    parent = _institution(scope, payload.parent, "parent") if payload.parent else None
    inst = services.institution_create(
        actor=request.user,
        code=payload.code.strip(),
        name=payload.name,
        kind=payload.kind,
        consortium=scope.membership.institution.consortium if scope.membership else None,
        parent=parent,
        short_name=payload.short_name,
        township_name=payload.township_name,
        external_level=payload.external_level or "",
        address=payload.address,
        phone=payload.phone,
    )
    # The request's scope was computed before the new institution existed.
    return Status(201, _institution_detail(scope_for(request.user, scope.membership), inst))


# --- departments ------------------------------------------------------------------------------


@router.get(
    "/institutions/{code}/departments",
    response={200: DepartmentPage, **ERRORS},
    summary="Departments of one institution with their beds and staff",
)
def department_list(request: HttpRequest, code: Text, page: Query[PageIn]) -> dict[str, Any]:
    scope = request_scope(request)
    inst = _institution(scope, code, "code")
    rows, meta = paginate(department_list_for(scope=scope, institution=inst), page)
    return {**meta, "items": [_department_out(d, inst) for d in rows]}


class DepartmentIn(_In):
    code: str = Field(..., min_length=1, max_length=20)
    name: str = Field(..., min_length=1, max_length=60)
    category: DepartmentCategory
    beds: int = Field(0, ge=0, le=10000)


@router.post(
    "/institutions/{code}/departments",
    response={201: DepartmentOut, **WRITE_ERRORS},
    summary="Add a department to an institution (consortium office)",
    auth=OFFICE_WRITES,
)
def department_create(request: HttpRequest, code: Text, payload: DepartmentIn) -> Status[DepartmentOut]:
    scope = request_scope(request)
    inst = _institution(scope, code, "code")
    dept = services.department_create(
        actor=request.user,
        institution=inst,
        code=payload.code.strip(),
        name=payload.name.strip(),
        category=payload.category,
        beds=payload.beds,
    )
    return Status(201, _department_out(dept, inst))


class DepartmentPatch(_In):
    beds: int = Field(..., ge=0, le=10000)


@router.patch(
    "/departments/{department_id}",
    response={200: DepartmentOut, **WRITE_ERRORS},
    summary="Change a department's approved beds (consortium office)",
    auth=OFFICE_WRITES,
)
def department_update(request: HttpRequest, department_id: int, payload: DepartmentPatch) -> DepartmentOut:
    scope = request_scope(request)
    dept = department_get_for(scope=scope, department_id=department_id)
    dept = services.department_set_beds(actor=request.user, department=dept, beds=payload.beds)
    return _department_out(dept, dept.institution)


# --- staff ------------------------------------------------------------------------------------


class StaffFilter(PageIn):
    q: str = Field("", max_length=50, description="Part of the name, or the start of the employee number")
    institution: str | None = Field(None, max_length=12, description="Code of the institution")
    profession: Profession | None = None


class StaffOut(Schema):
    id: int
    employee_no: str
    name: str
    sex: str
    birth_date: dt.date | None
    id_number: str | None = Field(description="Full for the consortium office, masked for everyone else")
    profession: str
    profession_display: str
    title: str
    phone: str
    institution_code: str
    institution_name: str
    department_id: int | None
    department_name: str | None
    is_active: bool


class StaffPage(PageOut[StaffOut]):
    pass


def _staff_out(scope: Scope, s: Staff) -> StaffOut:
    id_number = s.id_number
    if id_number and scope.role != Role.CONSORTIUM_OFFICE:
        id_number = idnumbers.mask(id_number)
    return StaffOut(
        id=s.pk,
        employee_no=s.employee_no,
        name=s.name,
        sex=s.sex,
        birth_date=s.birth_date,
        id_number=id_number,
        profession=s.profession,
        profession_display=str(s.get_profession_display()),
        title=s.title,
        phone=s.phone,
        institution_code=s.institution.code,
        institution_name=s.institution.name,
        department_id=s.department_id,
        department_name=s.department.name if s.department else None,
        is_active=s.is_active,
    )


@router.get(
    "/staff",
    response={200: StaffPage, **ERRORS},
    summary="Active staff of institutions in scope, and staff seconded to them now",
)
def staff_list(request: HttpRequest, filters: Query[StaffFilter]) -> dict[str, Any]:
    scope = request_scope(request)
    inst_id = _institution(scope, filters.institution, "institution").pk if filters.institution else None
    qs = staff_list_for(
        scope=scope, q=filters.q.strip(), institution_id=inst_id, profession=filters.profession or ""
    )
    rows, meta = paginate(qs, filters)
    return {**meta, "items": [_staff_out(scope, s) for s in rows]}


@router.get("/staff/{staff_id}", response={200: StaffOut, **ERRORS}, summary="One staff member")
def staff_detail(request: HttpRequest, staff_id: int) -> StaffOut:
    scope = request_scope(request)
    return _staff_out(scope, staff_get_for(scope=scope, staff_id=staff_id))


class StaffIn(_In):
    institution: str = Field(..., max_length=12, description="Code of the employing institution")
    department: int | None = Field(None, description="Department id at that institution")
    employee_no: str = Field(..., max_length=20)
    name: str = Field(..., max_length=40)
    sex: Sex | None = Field(None, description="Taken from the ID number when one is given")
    birth_date: dt.date | None = Field(None, description="Taken from the ID number when one is given")
    id_number: str | None = Field(None, max_length=40, description="GB 11643; 15-digit numbers are converted")
    profession: Profession
    title: Title = Title.NONE
    phone: str = Field("", max_length=20)


def _department_field(scope: Scope, department_id: int | None) -> Department | None:
    if department_id is None:
        return None
    try:
        return department_get_for(scope=scope, department_id=department_id)
    except NotFound as exc:
        raise NotFound(exc.message, field="department") from None


@router.post(
    "/staff",
    response={201: StaffOut, **WRITE_ERRORS},
    summary="Register a staff member; the ID number is checked (consortium office)",
    auth=OFFICE_WRITES,
)
def staff_create(request: HttpRequest, payload: StaffIn) -> Status[StaffOut]:
    scope = request_scope(request)
    inst = _institution(scope, payload.institution, "institution")
    fields = payload.model_dump(exclude_unset=True, exclude={"institution"})
    fields["department"] = _department_field(scope, payload.department)
    if "birth_date" in fields and fields["birth_date"] is None:
        del fields["birth_date"]
    staff = services.staff_create(actor=request.user, institution=inst, **fields)
    return Status(201, _staff_out(scope, staff))


class StaffPatch(_In):
    department: int | None = None
    employee_no: str | None = Field(None, max_length=20)
    name: str | None = Field(None, max_length=40)
    sex: Sex | None = None
    id_number: str | None = Field(None, max_length=40)
    profession: Profession | None = None
    title: Title | None = None
    phone: str | None = Field(None, max_length=20)


@router.patch(
    "/staff/{staff_id}",
    response={200: StaffOut, **WRITE_ERRORS},
    summary="Change a staff member's details; only the fields sent change (consortium office)",
    auth=OFFICE_WRITES,
)
def staff_update(request: HttpRequest, staff_id: int, payload: StaffPatch) -> StaffOut:
    scope = request_scope(request)
    staff = staff_get_for(scope=scope, staff_id=staff_id)
    fields = payload.model_dump(exclude_unset=True)
    if "department" in fields:
        fields["department"] = _department_field(scope, fields["department"])
    for key in ("employee_no", "name", "sex", "profession", "title", "phone"):
        if key in fields and fields[key] is None:
            del fields[key]  # null means "unchanged" for fields that cannot be empty
    if fields.get("id_number") is None and "id_number" in fields:
        fields["id_number"] = ""
    staff = services.staff_update(actor=request.user, staff=staff, **fields)
    return _staff_out(scope, staff)


# --- secondments ------------------------------------------------------------------------------


class SecondmentFilter(PageIn):
    current: bool = Field(False, description="Only secondments running today")


class SecondmentOut(Schema):
    id: int
    staff_id: int
    staff_name: str
    home_code: str
    home_name: str
    host_code: str
    host_name: str
    start_date: dt.date
    end_date: dt.date
    ended_early_on: dt.date | None
    purpose: str
    is_current: bool


class SecondmentPage(PageOut[SecondmentOut]):
    pass


def _secondment_out(s: Secondment) -> SecondmentOut:
    return SecondmentOut(
        id=s.pk,
        staff_id=s.staff_id,
        staff_name=s.staff.name,
        home_code=s.home.code,
        home_name=s.home.name,
        host_code=s.host.code,
        host_name=s.host.name,
        start_date=s.start_date,
        end_date=s.end_date,
        ended_early_on=s.ended_early_on,
        purpose=s.purpose,
        is_current=s.is_current(timezone.localdate()),
    )


@router.get(
    "/secondments",
    response={200: SecondmentPage, **ERRORS},
    summary="Secondments into or out of institutions in scope (派驻/下沉)",
)
def secondment_list(request: HttpRequest, filters: Query[SecondmentFilter]) -> dict[str, Any]:
    scope = request_scope(request)
    current_on = timezone.localdate() if filters.current else None
    rows, meta = paginate(secondment_list_for(scope=scope, current_on=current_on), filters)
    return {**meta, "items": [_secondment_out(s) for s in rows]}


class SecondmentIn(_In):
    staff: int = Field(..., description="Staff id")
    host: str = Field(..., max_length=12, description="Code of the host institution")
    start_date: dt.date
    end_date: dt.date
    purpose: str = Field("", max_length=200)


@router.post(
    "/secondments",
    response={201: SecondmentOut, **WRITE_ERRORS},
    summary="Station a staff member at another member for a period (consortium office)",
    auth=OFFICE_WRITES,
)
def secondment_create(request: HttpRequest, payload: SecondmentIn) -> Status[SecondmentOut]:
    scope = request_scope(request)
    try:
        staff = staff_get_for(scope=scope, staff_id=payload.staff)
    except NotFound as exc:
        raise NotFound(exc.message, field="staff") from None
    host = _institution(scope, payload.host, "host")
    secondment = services.secondment_create(
        actor=request.user,
        staff=staff,
        host=host,
        start_date=payload.start_date,
        end_date=payload.end_date,
        purpose=payload.purpose,
    )
    return Status(201, _secondment_out(secondment))


class SecondmentEndIn(_In):
    on: dt.date | None = Field(None, description="The last day; today when omitted")


@router.post(
    "/secondments/{secondment_id}/end",
    response={200: SecondmentOut, **WRITE_ERRORS},
    summary="End a secondment before its planned end (consortium office)",
    auth=OFFICE_WRITES,
)
def secondment_end(request: HttpRequest, secondment_id: int, payload: SecondmentEndIn) -> SecondmentOut:
    scope = request_scope(request)
    secondment = secondment_get_for(scope=scope, secondment_id=secondment_id)
    secondment = services.secondment_end_early(
        actor=request.user, secondment=secondment, on=payload.on or timezone.localdate()
    )
    return _secondment_out(secondment)
