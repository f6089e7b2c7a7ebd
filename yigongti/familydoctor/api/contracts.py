"""Contracts: sign, read, and the moves of the state machine (an illegal move is a 409)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Status

from yigongti.accounts.choices import Role
from yigongti.core.access import request_scope
from yigongti.core.api import (
    ERRORS,
    authorized,
    paginate,
)
from yigongti.institutions.models import Institution

from .. import selectors, services
from ..models import Contract
from .common import (
    ANYONE,
    MOVE_ERRORS,
    WRITES,
    _detail,
    _packages,
    _patient,
    _row,
    _team_for,
    router,
)
from .schemas import (
    ConfirmIn,
    ContractDetail,
    ContractFilter,
    ContractIn,
    ContractPage,
    GroupsIn,
    ReasonIn,
    RenewIn,
)

# --- contracts --------------------------------------------------------------------------------


@router.get(
    "/familydoctor/contracts",
    response={200: ContractPage, **ERRORS},
    summary="Contracts in scope",
    auth=ANYONE,
    operation_id="yigongti_familydoctor_api_contract_list",
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
    operation_id="yigongti_familydoctor_api_contract_sign",
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
    operation_id="yigongti_familydoctor_api_contract_get",
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
    operation_id="yigongti_familydoctor_api_contract_confirm",
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
    operation_id="yigongti_familydoctor_api_contract_cancel",
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
    operation_id="yigongti_familydoctor_api_contract_terminate",
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
    operation_id="yigongti_familydoctor_api_contract_expire",
)
def contract_expire(request: HttpRequest, contract_id: int) -> ContractDetail:
    c = services.contract_expire(actor=request.user, contract=_contract(request, contract_id))
    return _detail(_contract(request, c.pk))


@router.post(
    "/familydoctor/contracts/{contract_id}/renew",
    response={201: ContractDetail, **MOVE_ERRORS},
    summary="Renew for the next term (within 60 days of the end); the team may change here only",
    auth=WRITES,
    operation_id="yigongti_familydoctor_api_contract_renew",
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


@router.post(
    "/familydoctor/contracts/{contract_id}/groups",
    response={200: ContractDetail, **MOVE_ERRORS},
    summary="Set the priority groups of an open contract (age and registers are found again)",
    auth=WRITES,
    operation_id="yigongti_familydoctor_api_contract_groups",
)
def contract_groups(request: HttpRequest, contract_id: int, payload: GroupsIn) -> ContractDetail:
    c = services.contract_groups_update(
        actor=request.user, contract=_contract(request, contract_id), groups=payload.groups
    )
    return _detail(_contract(request, c.pk))
