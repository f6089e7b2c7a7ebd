"""Encounters over JSON under /api/: the scoped list, one encounter (audited read), the counts
for the oversight roles, and a doctor recording a visit at their own institution."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.access import filter_residents, request_scope
from yigongti.core.api import BODY_ERRORS, ERRORS, InSchema, PageIn, PageOut, authorized, paginate
from yigongti.core.errors import InvalidInput
from yigongti.institutions.models import Department
from yigongti.patients.models import Patient

from .choices import EncounterKind
from .codes import diagnosis_name
from .models import Encounter
from .selectors import encounter_get_for, encounter_list_for, encounter_summary_for, parse_month
from .services import encounter_record

router = Router(tags=["encounters"])

#: The clinical roles that record visits (the service checks institution and resident).
RECORDERS = authorized(
    Role.COUNTY_DOCTOR,
    Role.TOWNSHIP_DOCTOR,
    Role.VILLAGE_DOCTOR,
    Role.NURSE,
    writes=True,
    message=gettext_lazy("Only doctors and nurses record encounters."),
)
MAX_ID = 2**53
MONTH = r"^([0-9]{4}-[0-9]{2})?$"  # empty: every month


class EncounterOut(Schema):
    id: int
    patient_id: int
    patient_name: str
    health_record_number: str | None
    id_number_masked: str | None
    institution_id: int | None
    institution_name: str
    department_id: int | None
    department_name: str
    kind: str
    kind_display: str
    started_at: dt.datetime
    admitted_on: dt.date | None
    discharged_on: dt.date | None
    bed_days: int | None
    is_tcm: bool
    total_cost: Decimal
    insurance_paid: Decimal
    out_of_pocket: Decimal
    diagnosis_code: str
    diagnosis_name: str
    residence_county_code: str
    in_county: bool
    facility_name: str
    facility_area_code: str
    source: str


class EncounterPage(PageOut[EncounterOut]):
    pass


def encounter_out(e: Encounter) -> EncounterOut:
    patient = e.patient
    return EncounterOut(
        id=e.pk,
        patient_id=e.patient_id,
        patient_name=patient.name,
        health_record_number=patient.health_record_number,
        id_number_masked=idnumbers.mask(patient.id_number) if patient.id_number else None,
        institution_id=e.institution_id,
        institution_name=e.institution.name if e.institution else "",
        department_id=e.department_id,
        department_name=e.department.name if e.department else "",
        kind=e.kind,
        kind_display=str(e.get_kind_display()),
        started_at=e.started_at,
        admitted_on=e.admitted_on,
        discharged_on=e.discharged_on,
        bed_days=e.bed_days,
        is_tcm=e.is_tcm,
        total_cost=e.total_cost,
        insurance_paid=e.insurance_paid,
        out_of_pocket=e.out_of_pocket,
        diagnosis_code=e.diagnosis_code,
        diagnosis_name=diagnosis_name(e.diagnosis_code),
        residence_county_code=e.residence_county_code,
        in_county=e.in_county,
        facility_name=e.facility_name,
        facility_area_code=e.facility_area_code,
        source=e.source,
    )


class EncounterFilter(PageIn):
    institution_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only at this institution")
    kind: EncounterKind | None = Field(None, description="Only this kind")
    month: str = Field("", max_length=7, pattern=MONTH, description="Only this month, YYYY-MM")
    patient_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only this resident")


class SummaryFilter(InSchema):
    institution_id: int | None = Field(None, ge=1, le=MAX_ID)
    kind: EncounterKind | None = None
    month: str = Field("", max_length=7, pattern=MONTH, description="Only this month, YYYY-MM")


class SummaryRowOut(Schema):
    institution_id: int | None
    institution_name: str
    level: str
    kind: str
    encounters: int
    tcm: int
    bed_days: int
    total_cost: Decimal
    out_of_pocket: Decimal


class SummaryOut(Schema):
    month: str
    items: list[SummaryRowOut]


@router.get(
    "/encounters",
    response={200: EncounterPage, **ERRORS},
    summary="Encounters at the caller's institutions and of the residents they look after "
    "(the consortium office and the bureau: 403, they see counts)",
)
def encounter_list(request: HttpRequest, filters: Query[EncounterFilter]) -> dict[str, Any]:
    qs = encounter_list_for(
        scope=request_scope(request),
        institution_id=filters.institution_id,
        kind=filters.kind.value if filters.kind else "",
        month=parse_month(filters.month),
        patient_id=filters.patient_id,
    )
    rows, meta = paginate(qs, filters)
    return {**meta, "items": [encounter_out(e) for e in rows]}


@router.get(
    "/encounters/summary",
    response={200: SummaryOut, **ERRORS},
    summary="Counts, bed days and costs by institution and kind (no personal data)",
)
def encounter_summary(request: HttpRequest, filters: Query[SummaryFilter]) -> SummaryOut:
    month = parse_month(filters.month)
    rows = encounter_summary_for(
        scope=request_scope(request),
        month=month,
        institution_id=filters.institution_id,
        kind=filters.kind.value if filters.kind else "",
    )
    return SummaryOut(month=filters.month, items=[SummaryRowOut(**r) for r in rows])


@router.get(
    "/encounters/{encounter_id}",
    response={200: EncounterOut, **ERRORS},
    summary="One encounter (audited read)",
)
def encounter_detail(request: HttpRequest, encounter_id: int) -> EncounterOut:
    row = encounter_get_for(scope=request_scope(request), pk=encounter_id, actor=request.user)
    return encounter_out(row)


class EncounterIn(InSchema):
    patient_id: int = Field(..., ge=1, le=MAX_ID, description="A resident you look after")
    kind: EncounterKind
    started_at: dt.datetime = Field(..., description="When it started (for a stay: the admission)")
    department_id: int | None = Field(None, ge=1, le=MAX_ID, description="A department of your institution")
    admitted_on: dt.date | None = Field(
        None, description="Inpatient: the admission date (the day started_at)"
    )
    discharged_on: dt.date | None = Field(None, description="Inpatient: empty while still in hospital")
    is_tcm: bool = False
    total_cost: Decimal = Field(..., ge=0, max_digits=12, decimal_places=2, description="Yuan")
    insurance_paid: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    out_of_pocket: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    diagnosis_code: str = Field("", max_length=20, description="ICD-10, e.g. J06.9")


@router.post(
    "/encounters",
    auth=RECORDERS,
    response={201: EncounterOut, **BODY_ERRORS},
    summary="Record a visit or stay at the caller's own institution, for a resident they look after",
)
def encounter_create(request: HttpRequest, body: EncounterIn) -> Status[EncounterOut]:
    scope = request_scope(request)
    membership = scope.membership
    institution = membership.institution if membership is not None else None
    patient = filter_residents(
        Patient.objects.filter(pk=body.patient_id, merged_into__isnull=True), scope
    ).first()
    if patient is None:
        raise InvalidInput(_("Unknown patient."), field="patient_id")
    department = None
    if body.department_id is not None:
        department = Department.objects.filter(pk=body.department_id, institution=institution).first()
        if department is None:
            raise InvalidInput(_("The department is not one of this institution's."), field="department_id")
    row, _created = encounter_record(
        actor=request.user,
        patient=patient,
        institution=institution,
        kind=body.kind.value,
        started_at=body.started_at,
        department=department,
        admitted_on=body.admitted_on,
        discharged_on=body.discharged_on,
        is_tcm=body.is_tcm,
        total_cost=body.total_cost,
        insurance_paid=body.insurance_paid,
        out_of_pocket=body.out_of_pocket,
        diagnosis_code=body.diagnosis_code,
    )
    row = Encounter.objects.select_related("patient", "institution", "department").get(pk=row.pk)
    return Status(201, encounter_out(row))
