"""Teams and service packages (the consortium office writes them)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Status

from yigongti.core.access import request_scope
from yigongti.core.api import (
    BODY_ERRORS,
    ERRORS,
    OFFICE_WRITES,
)
from yigongti.core.errors import NotFound

from .. import selectors, services
from .common import (
    ANYONE,
    MOVE_ERRORS,
    _institution,
    _members,
    _package,
    _team,
    _team_missing,
    router,
)
from .schemas import (
    ItemIn,
    PackageIn,
    PackageOut,
    PackageUpdateIn,
    TeamIn,
    TeamOut,
    TeamUpdateIn,
)

# --- teams ------------------------------------------------------------------------------------


@router.get(
    "/familydoctor/teams",
    response={200: list[TeamOut], **ERRORS},
    summary="Family-doctor teams in scope",
    auth=ANYONE,
    operation_id="yigongti_familydoctor_api_team_list",
)
def team_list(request: HttpRequest) -> list[TeamOut]:
    rows = selectors.team_list_with_stats(scope=request_scope(request))
    return [_team(r["team"], r) for r in rows]


@router.post(
    "/familydoctor/teams",
    response={201: TeamOut, **MOVE_ERRORS},
    summary="Create a team (consortium office)",
    auth=OFFICE_WRITES,
    operation_id="yigongti_familydoctor_api_team_create",
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
    "/familydoctor/teams/{team_id}",
    response={200: TeamOut, **ERRORS},
    summary="One team",
    auth=ANYONE,
    operation_id="yigongti_familydoctor_api_team_get",
)
def team_get(request: HttpRequest, team_id: int) -> TeamOut:
    return _team_stats(request, team_id)


@router.put(
    "/familydoctor/teams/{team_id}",
    response={200: TeamOut, **MOVE_ERRORS},
    summary="Change a team's name, villages and members (consortium office)",
    auth=OFFICE_WRITES,
    operation_id="yigongti_familydoctor_api_team_update",
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
    operation_id="yigongti_familydoctor_api_package_list",
)
def package_list(request: HttpRequest) -> list[PackageOut]:
    return [_package(p) for p in selectors.package_list_for(scope=request_scope(request))]


@router.post(
    "/familydoctor/packages",
    response={201: PackageOut, **MOVE_ERRORS},
    summary="Create a service package with its items (consortium office)",
    auth=OFFICE_WRITES,
    operation_id="yigongti_familydoctor_api_package_create",
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
    operation_id="yigongti_familydoctor_api_package_update",
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
    operation_id="yigongti_familydoctor_api_package_item_add",
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
