"""Residents' records over JSON.

A resident reads their own record; township and village staff list the residents of their
villages (ID numbers masked) and open one record at a time. Every opened record is audited as
``patient.read``; a record outside the caller's scope is a 404, as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.access import Scope, request_scope
from yigongti.core.api import ERRORS, PageIn, PageOut, Text, paginate
from yigongti.core.errors import Forbidden, NotFound

from .matching.api import REGISTRAR, WRITE_ERRORS, RegisteredOut, RegistrationIn
from .matching.selectors import require_registrar
from .matching.services import registration_create
from .models import Patient
from .selectors import my_record_for, patient_get_for, patient_list_for

router = Router(tags=["patients"])


class PatientListOut(Schema):
    patient_id: int
    health_record_number: str | None
    name: str
    sex: str
    birth_date: dt.date | None
    age: int | None
    id_number_masked: str | None
    village_code: str | None
    village_name: str | None


class PatientPage(PageOut[PatientListOut]):
    pass


class PatientOut(Schema):
    patient_id: int
    health_record_number: str | None
    name: str
    sex: str
    sex_display: str
    birth_date: dt.date | None
    age: int | None
    id_number: str | None
    phone: str
    address: str
    household_code: str | None
    relation_to_head: str
    village_code: str | None
    village_name: str | None


class PatientFilter(PageIn):
    q: str = Field("", max_length=50, description="Part of the name, or the start of a number")


def _age(p: Patient) -> int | None:
    return p.age_on(timezone.localdate())


def _patient_out(p: Patient) -> PatientOut:
    return PatientOut(
        patient_id=p.pk,
        health_record_number=p.health_record_number,
        name=p.name,
        sex=p.sex,
        sex_display=str(p.get_sex_display()),
        birth_date=p.birth_date,
        age=_age(p),
        id_number=p.id_number,
        phone=p.phone,
        address=p.address,
        household_code=p.household.code if p.household else None,
        relation_to_head=p.relation_to_head,
        village_code=p.village.code if p.village else None,
        village_name=p.village.name if p.village else None,
    )


def _require_resident_access(scope: Scope) -> None:
    """Roles that never see personal rows (office, bureau, county staff) are told so plainly."""
    if not (scope.self_patient_only or scope.resident_village_ids):
        raise Forbidden(_("Your role does not see residents' personal records."))


@router.get(
    "/patients/me",
    response={200: PatientOut, **ERRORS},
    summary="The calling resident's own record (audited read)",
)
def patient_me(request: HttpRequest) -> PatientOut:
    scope = request_scope(request)
    scope.require(scope.role == Role.RESIDENT, _("Only a resident has their own record here."))
    patient = my_record_for(scope=scope, actor=request.user)
    if patient is None:
        raise NotFound(_("No resident record is linked to your account."))
    return _patient_out(patient)


@router.get(
    "/patients",
    response={200: PatientPage, **ERRORS},
    summary="Residents of the caller's villages, ID numbers masked (township and village staff)",
)
def patient_list(request: HttpRequest, filters: Query[PatientFilter]) -> dict[str, Any]:
    scope = request_scope(request)
    _require_resident_access(scope)
    rows, meta = paginate(patient_list_for(scope=scope, q=filters.q), filters)
    items = [
        PatientListOut(
            patient_id=p.pk,
            health_record_number=p.health_record_number,
            name=p.name,
            sex=p.sex,
            birth_date=p.birth_date,
            age=_age(p),
            id_number_masked=idnumbers.mask(p.id_number) if p.id_number else None,
            village_code=p.village.code if p.village else None,
            village_name=p.village.name if p.village else None,
        )
        for p in rows
    ]
    return {**meta, "items": items}


@router.post(
    "/patients",
    auth=REGISTRAR,
    response={200: RegisteredOut, 201: RegisteredOut, **WRITE_ERRORS},
    summary="Register a resident at the caller's institution: link, review or new",
)
def patient_register(request: HttpRequest, body: RegistrationIn) -> Status[RegisteredOut]:
    scope = request_scope(request)
    require_registrar(scope)
    if scope.membership is None:
        raise Forbidden(_("Only staff of a member institution may register residents."))
    done = registration_create(
        actor=request.user, institution=scope.membership.institution, entry=body.entry()
    )
    out = RegisteredOut(
        decision=done.decision,
        patient_id=done.patient.pk,
        registration_id=done.registration.pk,
        created=done.created,
        probability=done.registration.probability,
        health_record_number=done.patient.health_record_number,
        id_number_problem=done.registration.id_problem,
    )
    return Status(201 if done.created else 200, out)


@router.get(
    "/patients/{health_record_number}",
    response={200: PatientOut, **ERRORS},
    summary="One resident's record by health-record number (audited read)",
)
def patient_detail(request: HttpRequest, health_record_number: Text) -> PatientOut:
    scope = request_scope(request)
    _require_resident_access(scope)
    patient = patient_get_for(
        scope=scope,
        health_record_number=health_record_number,
        actor=request.user,
        membership=scope.membership,
    )
    return _patient_out(patient)
