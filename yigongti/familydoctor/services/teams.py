"""Teams and service packages: the consortium office keeps them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from yigongti.core.audit import audit, snapshot
from yigongti.core.errors import Conflict, InvalidInput, NotFound
from yigongti.institutions.choices import InstitutionKind, Level
from yigongti.institutions.models import Institution, Staff

from ..choices import (
    OPEN_STATUSES,
    PackageKind,
    PriorityGroup,
    TeamRole,
)
from ..models import PackageItem, ServicePackage, Team, TeamMember
from .common import (
    DOCTOR_PROFESSIONS,
    _membership,
    _office,
)

# --- teams ------------------------------------------------------------------------------------


def _township_of(institution: Institution) -> Institution:
    if institution.kind == InstitutionKind.TOWNSHIP_CENTRE:
        return institution
    if institution.kind == InstitutionKind.VILLAGE_CLINIC and institution.parent is not None:
        return institution.parent
    raise InvalidInput(
        _("A team is based at a township health centre or a village clinic."), field="institution"
    )


def _validate_team(
    institution: Institution, villages: Sequence[Institution], members: Sequence[tuple[Staff, str]]
) -> None:
    town = _township_of(institution)
    if not villages:
        raise InvalidInput(_("Name at least one village the team serves."), field="villages")
    for v in villages:
        if v.kind != InstitutionKind.VILLAGE_CLINIC:
            raise InvalidInput(_("%(name)s is not a village clinic.") % {"name": v.name}, field="villages")
        if v.parent_id != town.pk:
            raise InvalidInput(
                _("%(name)s belongs to another township; a team serves villages of its own township only.")
                % {"name": v.name},
                field="villages",
            )
    roles = [r for _s, r in members]
    if roles.count(TeamRole.FAMILY_DOCTOR) != 1:
        raise InvalidInput(_("A team has exactly one family doctor."), field="members")
    for needed in (TeamRole.NURSE, TeamRole.PUBLIC_HEALTH):
        if needed not in roles:
            raise InvalidInput(
                _("A team needs a family doctor, a nurse and a public-health worker."), field="members"
            )
    seen: set[int] = set()
    local = {town.pk} | set(Institution.objects.filter(parent=town).values_list("pk", flat=True))
    for staff, role in members:
        if role not in TeamRole.values:
            raise InvalidInput(_("Unknown team role."), field="members")
        if staff.pk in seen:
            raise InvalidInput(_("%(name)s is named twice.") % {"name": staff.name}, field="members")
        seen.add(staff.pk)
        if not staff.is_active:
            raise InvalidInput(_("%(name)s no longer works here.") % {"name": staff.name}, field="members")
        if role == TeamRole.SPECIALIST:
            if staff.institution.level != Level.COUNTY:
                raise InvalidInput(_("The specialist comes from a county hospital."), field="members")
            continue
        if role == TeamRole.PHARMACIST:
            if staff.institution_id not in local and staff.institution.level != Level.COUNTY:
                raise InvalidInput(
                    _("%(name)s works outside the team's township.") % {"name": staff.name}, field="members"
                )
            continue
        if staff.institution_id not in local:
            raise InvalidInput(
                _("%(name)s works outside the team's township.") % {"name": staff.name}, field="members"
            )
        if role == TeamRole.FAMILY_DOCTOR and staff.profession not in DOCTOR_PROFESSIONS:
            raise InvalidInput(
                _("The family doctor is a general practitioner or a qualified village doctor."),
                field="members",
            )


def _team_after(team: Team) -> dict[str, Any]:
    data = snapshot(team)
    data["villages"] = sorted(team.villages.values_list("pk", flat=True))
    data["members"] = sorted([m.staff_id, m.role] for m in team.members.all())
    return data


@transaction.atomic
def team_create(
    *,
    actor: Any,
    code: str,
    name: str,
    institution: Institution,
    villages: Sequence[Institution],
    members: Sequence[tuple[Staff, str]],
) -> Team:
    scope = _office(actor)
    code, name = code.strip(), name.strip()
    if not code:
        raise InvalidInput(_("Give the team a code."), field="code")
    if not name:
        raise InvalidInput(_("Give the team a name."), field="name")
    if scope is not None and not scope.sees_institution(institution.pk):
        raise NotFound(_("No such institution in your scope."))
    _validate_team(institution, villages, members)
    if Team.objects.filter(code=code).exists():
        raise Conflict(_("A team with this code exists."), field="code")
    team = Team.objects.create(code=code, name=name, institution=institution)
    team.villages.set(villages)
    TeamMember.objects.bulk_create([TeamMember(team=team, staff=s, role=r) for s, r in members])
    audit(
        actor=actor,
        verb="familydoctor.team.create",
        subject=team,
        after=_team_after(team),
        membership=_membership(scope),
    )
    return team


@transaction.atomic
def team_update(
    *,
    actor: Any,
    team: Team,
    name: str,
    villages: Sequence[Institution],
    members: Sequence[tuple[Staff, str]],
    is_active: bool = True,
) -> Team:
    scope = _office(actor)
    if scope is not None and not scope.sees_institution(team.institution_id):
        raise NotFound(_("No such team."))
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give the team a name."), field="name")
    _validate_team(team.institution, villages, members)
    before = _team_after(team)
    if not is_active and team.contracts.filter(status__in=OPEN_STATUSES).exists():
        raise Conflict(_("The team still has open contracts; change them to another team at renewal first."))
    team.name, team.is_active = name, is_active
    team.save(update_fields=["name", "is_active", "updated_at"])
    team.villages.set(villages)
    team.members.all().delete()
    TeamMember.objects.bulk_create([TeamMember(team=team, staff=s, role=r) for s, r in members])
    audit(
        actor=actor,
        verb="familydoctor.team.update",
        subject=team,
        before=before,
        after=_team_after(team),
        membership=_membership(scope),
    )
    return team


# --- packages ---------------------------------------------------------------------------------


def _validate_package(kind: str, target_group: str, price: Decimal, insurance_share: Decimal) -> None:
    if kind not in PackageKind.values:
        raise InvalidInput(_("Unknown package kind."), field="kind")
    if target_group and target_group not in PriorityGroup.values:
        raise InvalidInput(_("Unknown priority group."), field="target_group")
    if kind == PackageKind.PERSONALISED and not target_group:
        raise InvalidInput(_("A personalised package names the group it is for."), field="target_group")
    if kind == PackageKind.BASIC and target_group:
        raise InvalidInput(_("The basic package is for everyone."), field="target_group")
    if price < 0 or price > Decimal("100000"):
        raise InvalidInput(_("The price is out of range."), field="price")
    if insurance_share < 0 or insurance_share > price:
        raise InvalidInput(_("Insurance pays between nothing and the whole price."), field="insurance_share")


@transaction.atomic
def package_create(
    *,
    actor: Any,
    code: str,
    name: str,
    kind: str,
    price: Decimal,
    insurance_share: Decimal = Decimal("0"),
    target_group: str = "",
    description: str = "",
    items: Iterable[tuple[str, int, bool]] = (),
) -> ServicePackage:
    scope = _office(actor)
    code, name = code.strip(), name.strip()
    if not code:
        raise InvalidInput(_("Give the package a code."), field="code")
    if not name:
        raise InvalidInput(_("Give the package a name."), field="name")
    _validate_package(kind, target_group, price, insurance_share)
    if ServicePackage.objects.filter(code=code).exists():
        raise Conflict(_("A package with this code exists."), field="code")
    package = ServicePackage.objects.create(
        code=code,
        name=name,
        kind=kind,
        target_group=target_group,
        price=price,
        insurance_share=insurance_share,
        description=description.strip(),
    )
    for item_name, times, home in items:
        _item_add(package, item_name, times, home)
    audit(
        actor=actor,
        verb="familydoctor.package.create",
        subject=package,
        after=snapshot(package),
        membership=_membership(scope),
    )
    return package


@transaction.atomic
def package_update(
    *,
    actor: Any,
    package: ServicePackage,
    name: str,
    price: Decimal,
    insurance_share: Decimal,
    description: str = "",
    is_active: bool = True,
) -> ServicePackage:
    scope = _office(actor)
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give the package a name."), field="name")
    _validate_package(package.kind, package.target_group, price, insurance_share)
    before = snapshot(package)
    package.name, package.price, package.insurance_share = name, price, insurance_share
    package.description, package.is_active = description.strip(), is_active
    package.save()
    audit(
        actor=actor,
        verb="familydoctor.package.update",
        subject=package,
        before=before,
        after=snapshot(package),
        membership=_membership(scope),
    )
    return package


def _item_add(package: ServicePackage, name: str, times: int, home: bool) -> PackageItem:
    name = name.strip()
    if not name:
        raise InvalidInput(_("Name the service."), field="name")
    if not 1 <= times <= 52:
        raise InvalidInput(_("Between 1 and 52 times a year."), field="times_per_year")
    return PackageItem.objects.create(package=package, name=name, times_per_year=times, is_home_visit=home)


@transaction.atomic
def package_item_add(
    *, actor: Any, package: ServicePackage, name: str, times_per_year: int, is_home_visit: bool = False
) -> PackageItem:
    """A new item applies to contracts that become active from now on; plans already made stay."""
    scope = _office(actor)
    item = _item_add(package, name, times_per_year, is_home_visit)
    audit(
        actor=actor,
        verb="familydoctor.package.item_add",
        subject=package,
        after=snapshot(item),
        membership=_membership(scope),
    )
    return item
