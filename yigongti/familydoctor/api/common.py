"""The router, its authorisation shorthands, the row converters and the scoped look-ups every
family-doctor endpoint shares."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema

from yigongti.core import idnumbers
from yigongti.core.access import request_scope
from yigongti.core.api import (
    BODY_ERRORS,
    ErrorOut,
    authorized,
)
from yigongti.core.errors import InvalidInput, NotFound
from yigongti.institutions.models import Institution, Staff
from yigongti.patients.models import Patient

from .. import selectors, services
from ..models import Contract, HomeBed, HomeVisit, ServicePackage, Task, Team
from .schemas import (
    BedOut,
    ContractDetail,
    FulfilmentOut,
    ItemOut,
    MemberIn,
    MemberOut,
    PackageOut,
    TaskOut,
    TeamOut,
    VisitOut,
)

router = Router(tags=["familydoctor"])

WRITES = authorized(writes=True)
ANYONE = authorized()
MOVE_ERRORS: dict[int, type[Schema]] = {**BODY_ERRORS, 409: ErrorOut}


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
