"""Every write of the family-doctor app: teams and packages (the consortium office), contracts
and their state machine, fulfilment tasks, home visits and home beds (the team's township).

Each service is atomic, checks the actor's role and scope, validates, writes, and appends an
audit row. ``actor=None`` is the system (the demo generator).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import Scope, scope_for
from yigongti.core.audit import audit, snapshot
from yigongti.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from yigongti.institutions.choices import InstitutionKind, Level, Profession
from yigongti.institutions.models import Institution, Staff
from yigongti.patients.models import Patient

from .choices import (
    OPEN_STATUSES,
    BedStatus,
    Channel,
    ContractStatus,
    PackageKind,
    PriorityGroup,
    TaskStatus,
    TeamRole,
    VisitStatus,
    can_move,
)
from .hooks import priority_groups
from .models import Contract, HomeBed, HomeVisit, PackageItem, ServicePackage, Task, Team, TeamMember

#: A contract may be renewed from this many days before its end.
RENEWAL_WINDOW_DAYS = 60
MAX_TERM_YEARS = 3
DOCTOR_PROFESSIONS = frozenset(
    {
        Profession.PHYSICIAN,
        Profession.ASSISTANT_PHYSICIAN,
        Profession.TCM_PHYSICIAN,
        Profession.VILLAGE_DOCTOR,
    }
)
_CONTRACT_FIELDS = ["status", "team", "start_date", "end_date", "confirmed_on", "ended_on", "end_reason"]


def today() -> dt.date:
    return timezone.localdate()


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# --- who acts ---------------------------------------------------------------------------------


def _scope(actor: Any) -> Scope | None:
    return None if actor is None else scope_for(actor)


def _office(actor: Any) -> Scope | None:
    scope = _scope(actor)
    if scope is not None:
        scope.require(scope.manages_consortium, _("Only the consortium office may change this."))
    return scope


def _staff_of(actor: Any) -> Staff | None:
    if actor is None:
        return None
    return Staff.objects.filter(user_id=actor.pk, is_active=True).first()


def _team_staff(scope: Scope | None, team: Team) -> bool:
    if scope is None or scope.user_id is None:
        return False
    return TeamMember.objects.filter(team=team, staff__user_id=scope.user_id).exists()


def _require_clinical(
    scope: Scope | None, contract_or_team: Contract | Team, patient: Patient | None
) -> None:
    """Staff of the resident's village (clinic or its township centre), or a member of the team."""
    if scope is None:
        return
    scope.require_write()
    scope.require(
        scope.membership is not None and not scope.self_patient_only and not scope.is_oversight,
        _("Contracts are kept by the staff of the resident's clinic and township centre."),
    )
    team = contract_or_team if isinstance(contract_or_team, Team) else contract_or_team.team
    if patient is not None and patient.village_id in scope.resident_village_ids:
        return
    if _team_staff(scope, team):
        return
    raise NotFound(_("No such resident in your scope."))


def _membership(scope: Scope | None) -> Any:
    return scope.membership if scope else None


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


# --- contracts --------------------------------------------------------------------------------


def _validate_term(start: dt.date, end: dt.date) -> None:
    if end < add_years(start, 1) - dt.timedelta(days=1):
        raise InvalidInput(_("A contract runs for at least one year."), field="end_date")
    if end > add_years(start, MAX_TERM_YEARS):
        raise InvalidInput(_("A contract runs for at most three years."), field="end_date")


def _validate_packages(packages: Sequence[ServicePackage], groups: list[str]) -> None:
    if not packages:
        raise InvalidInput(_("Choose the service packages."), field="packages")
    if not any(p.kind == PackageKind.BASIC for p in packages):
        raise InvalidInput(_("The basic package is part of every contract."), field="packages")
    for p in packages:
        if not p.is_active:
            raise InvalidInput(_("%(name)s is no longer offered.") % {"name": p.name}, field="packages")
        if p.target_group and p.target_group not in groups:
            raise InvalidInput(
                _("%(name)s is for residents of its group only; tick the group first.") % {"name": p.name},
                field="packages",
            )


def _check_team_serves(team: Team, patient: Patient) -> None:
    if not team.is_active:
        raise InvalidInput(_("This team no longer takes contracts."), field="team")
    if patient.village_id is None or not team.villages.filter(pk=patient.village_id).exists():
        raise InvalidInput(_("This team does not serve the resident's village."), field="team")


def _open_exists(patient: Patient, exclude: int | None = None) -> bool:
    qs = Contract.objects.filter(patient=patient, status__in=OPEN_STATUSES)
    if exclude:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


def _insert(contract: Contract) -> None:
    """Insert; the partial unique index is the last word if two signings race."""
    try:
        with transaction.atomic():
            contract.number = f"tmp-{uuid.uuid4().hex[:16]}"
            contract.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(_("The resident already has an open contract."), field="patient") from exc
    contract.number = f"QY{contract.start_date:%Y}{contract.pk:08d}"
    contract.save(update_fields=["number"])


@transaction.atomic
def contract_sign(
    *,
    actor: Any,
    patient: Patient,
    team: Team,
    packages: Sequence[ServicePackage],
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    groups: Iterable[str] = (),
) -> Contract:
    """At the clinic (a staff actor): a pending contract the resident then confirms, on her phone
    or by the paper signature the clinic records. Online (the resident herself): an application
    the team accepts. Either way the contract is active only after the second party agrees."""
    scope = _scope(actor)
    online = bool(scope and scope.self_patient_only)
    if online:
        assert scope is not None  # noqa: S101 - narrowed for mypy
        if patient.user_id != scope.user_id:
            raise NotFound(_("No such resident in your scope."))
    else:
        _require_clinical(scope, team, patient)
    ticked = list(groups)
    for g in ticked:
        if g not in PriorityGroup.values:
            raise InvalidInput(_("Unknown priority group."), field="groups")
    start = start_date or today()
    if start < today() - dt.timedelta(days=0 if scope else 3650):
        raise InvalidInput(_("A contract cannot start in the past."), field="start_date")
    end = end_date or add_years(start, 1) - dt.timedelta(days=1)
    _validate_term(start, end)
    _check_team_serves(team, patient)
    found = priority_groups(patient, start, ticked)
    _validate_packages(packages, found)
    if _open_exists(patient):
        raise Conflict(_("The resident already has an open contract."), field="patient")
    fee = sum((p.price for p in packages), Decimal("0"))
    resident_fee = sum((p.resident_pays for p in packages), Decimal("0"))
    contract = Contract(
        patient=patient,
        team=team,
        status=ContractStatus.PENDING,
        channel=Channel.ONLINE if online else Channel.CLINIC,
        start_date=start,
        end_date=end,
        priority_groups=found,
        is_priority=bool(found),
        fee=fee,
        resident_fee=resident_fee,
        signed_by=None if online else _staff_of(actor),
    )
    _insert(contract)
    contract.packages.set(packages)
    after = snapshot(contract) | {"packages": sorted(p.code for p in packages)}
    audit(
        actor=actor,
        verb="familydoctor.contract.sign",
        subject=contract,
        after=after,
        membership=_membership(scope),
    )
    return contract


def _move(contract: Contract, new: str) -> None:
    if not can_move(contract.status, new):
        raise Conflict(
            _("A contract that is %(status)s cannot become %(new)s.")
            % {"status": contract.get_status_display(), "new": ContractStatus(new).label}
        )


def _locked(contract: Contract) -> Contract:
    return Contract.objects.select_for_update().select_related("team", "patient").get(pk=contract.pk)


def due_dates(start: dt.date, end: dt.date, times_per_year: int) -> list[dt.date]:
    """Evenly spread deadlines over the term: the i-th falls at the end of its share of the term."""
    days = (end - start).days + 1
    count = max(1, round(times_per_year * days / 365.25))
    return [start + dt.timedelta(days=-(-days * (i + 1) // count) - 1) for i in range(count)]


def plan_tasks(contract: Contract, packages: Iterable[ServicePackage] | None = None) -> list[Task]:
    """The contract's plan, unsaved: every item of every package across the term."""
    tasks: list[Task] = []
    for package in packages if packages is not None else contract.packages.prefetch_related("items"):
        for item in package.items.all():
            for due in due_dates(contract.start_date, contract.end_date, item.times_per_year):
                tasks.append(Task(contract=contract, item=item, due_on=due))
    return tasks


def _activate(contract: Contract, on: dt.date) -> None:
    contract.status = ContractStatus.ACTIVE
    contract.confirmed_on = on
    contract.save(update_fields=["status", "confirmed_on", "paper_signature", "updated_at"])
    Task.objects.bulk_create(plan_tasks(contract), batch_size=1000)


@transaction.atomic
def contract_confirm(*, actor: Any, contract: Contract, paper_signature: bool = False) -> Contract:
    """The second party agrees: the resident confirms a clinic signing (or the clinic records her
    paper signature); the team accepts an online application. The plan is generated now."""
    scope = _scope(actor)
    contract = _locked(contract)
    if scope is not None and scope.self_patient_only:
        if contract.patient.user_id != scope.user_id:
            raise NotFound(_("No such contract."))
        _move(contract, ContractStatus.ACTIVE)
        if contract.channel != Channel.CLINIC:
            raise Conflict(_("Your application waits for the team to accept it."))
    else:
        _require_clinical(scope, contract, contract.patient)
        _move(contract, ContractStatus.ACTIVE)
        if contract.channel == Channel.CLINIC and not paper_signature and scope is not None:
            raise InvalidInput(
                _("The resident confirms on her phone, or the clinic records her paper signature."),
                field="paper_signature",
            )
        contract.paper_signature = contract.channel == Channel.CLINIC and paper_signature
    before = snapshot(contract, _CONTRACT_FIELDS)
    _activate(contract, today() if scope is not None else contract.start_date)
    audit(
        actor=actor,
        verb="familydoctor.contract.confirm",
        subject=contract,
        before=before,
        after=snapshot(contract, _CONTRACT_FIELDS) | {"tasks": contract.tasks.count()},
        membership=_membership(scope),
    )
    return contract


@transaction.atomic
def contract_cancel(*, actor: Any, contract: Contract, reason: str = "") -> Contract:
    """A pending contract is withdrawn: the resident declines, or the team declines the application."""
    scope = _scope(actor)
    contract = _locked(contract)
    if scope is not None and scope.self_patient_only:
        if contract.patient.user_id != scope.user_id:
            raise NotFound(_("No such contract."))
    else:
        _require_clinical(scope, contract, contract.patient)
    _move(contract, ContractStatus.CANCELLED)
    before = snapshot(contract, _CONTRACT_FIELDS)
    contract.status, contract.ended_on, contract.end_reason = (
        ContractStatus.CANCELLED,
        today(),
        reason.strip()[:200],
    )
    contract.save(update_fields=["status", "ended_on", "end_reason", "updated_at"])
    audit(
        actor=actor,
        verb="familydoctor.contract.cancel",
        subject=contract,
        before=before,
        after=snapshot(contract, _CONTRACT_FIELDS),
        membership=_membership(scope),
    )
    return contract


@transaction.atomic
def contract_terminate(*, actor: Any, contract: Contract, reason: str, on: dt.date | None = None) -> Contract:
    """End an active contract before its term (moved away, died, asked to): open tasks are cancelled."""
    scope = _scope(actor)
    contract = _locked(contract)
    _require_clinical(scope, contract, contract.patient)
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("Give the reason for ending the contract."), field="reason")
    _move(contract, ContractStatus.TERMINATED)
    if contract.home_beds.filter(status=BedStatus.OPEN).exists():
        raise Conflict(_("Discharge the resident's home bed first."))
    before = snapshot(contract, _CONTRACT_FIELDS)
    contract.status, contract.ended_on, contract.end_reason = (
        ContractStatus.TERMINATED,
        on or today(),
        reason[:200],
    )
    contract.save(update_fields=["status", "ended_on", "end_reason", "updated_at"])
    cancelled = contract.tasks.filter(status=TaskStatus.OPEN).update(status=TaskStatus.CANCELLED)
    contract.home_visits.filter(status=VisitStatus.SCHEDULED).update(status=VisitStatus.MISSED)
    audit(
        actor=actor,
        verb="familydoctor.contract.terminate",
        subject=contract,
        before=before,
        after=snapshot(contract, _CONTRACT_FIELDS) | {"tasks_cancelled": cancelled},
        membership=_membership(scope),
    )
    return contract


@transaction.atomic
def contract_expire(*, actor: Any, contract: Contract, on: dt.date | None = None) -> Contract:
    """An active contract whose term is over becomes expired (the team may still renew later)."""
    scope = _scope(actor)
    contract = _locked(contract)
    if scope is not None:
        _require_clinical(scope, contract, contract.patient)
    _move(contract, ContractStatus.EXPIRED)
    day = on or today()
    if contract.end_date >= day:
        raise Conflict(_("The contract runs until %(date)s.") % {"date": contract.end_date.isoformat()})
    before = snapshot(contract, _CONTRACT_FIELDS)
    contract.status, contract.ended_on = ContractStatus.EXPIRED, contract.end_date
    contract.save(update_fields=["status", "ended_on", "updated_at"])
    audit(
        actor=actor,
        verb="familydoctor.contract.expire",
        subject=contract,
        before=before,
        after=snapshot(contract, _CONTRACT_FIELDS),
        membership=_membership(scope),
    )
    return contract


@transaction.atomic
def contract_renew(
    *,
    actor: Any,
    contract: Contract,
    team: Team | None = None,
    packages: Sequence[ServicePackage] | None = None,
    end_date: dt.date | None = None,
    groups: Iterable[str] = (),
    on: dt.date | None = None,
) -> Contract:
    """The next term, in one step: the current term is marked renewed and the new one starts the
    day after it ends, active at once (the resident agreed at the renewal visit) with its plan.
    The team may change only here, at the end of a term."""
    scope = _scope(actor)
    old = _locked(contract)
    _require_clinical(scope, old, old.patient)
    _move(old, ContractStatus.RENEWED)
    day = on or today()
    if old.end_date - day > dt.timedelta(days=RENEWAL_WINDOW_DAYS):
        raise Conflict(
            _("A contract can be renewed from %(days)s days before its end.") % {"days": RENEWAL_WINDOW_DAYS}
        )
    new_team = team or old.team
    packs = list(packages) if packages is not None else list(old.packages.all())
    start = max(old.end_date + dt.timedelta(days=1), day)
    end = end_date or add_years(start, 1) - dt.timedelta(days=1)
    _validate_term(start, end)
    _check_team_serves(new_team, old.patient)
    found = priority_groups(old.patient, start, list(groups) or list(old.priority_groups))
    _validate_packages(packs, found)
    before = snapshot(old, _CONTRACT_FIELDS)
    old.status, old.ended_on = ContractStatus.RENEWED, old.end_date
    old.save(update_fields=["status", "ended_on", "updated_at"])
    new = Contract(
        patient=old.patient,
        team=new_team,
        status=ContractStatus.ACTIVE,
        channel=old.channel,
        start_date=start,
        end_date=end,
        priority_groups=found,
        is_priority=bool(found),
        fee=sum((p.price for p in packs), Decimal("0")),
        resident_fee=sum((p.resident_pays for p in packs), Decimal("0")),
        signed_by=_staff_of(actor),
        confirmed_on=day,
        previous=old,
    )
    _insert(new)
    new.packages.set(packs)
    Task.objects.bulk_create(plan_tasks(new), batch_size=1000)
    audit(
        actor=actor,
        verb="familydoctor.contract.renew",
        subject=old,
        before=before,
        after=snapshot(old, _CONTRACT_FIELDS) | {"next": new.pk, "team": new_team.pk},
        membership=_membership(scope),
    )
    return new


# --- fulfilment -------------------------------------------------------------------------------


@transaction.atomic
def task_record(*, actor: Any, task: Task, done_on: dt.date | None = None, result: str = "") -> Task:
    """A service of the plan was given: the task is closed with its date and result."""
    scope = _scope(actor)
    task = (
        Task.objects.select_for_update().select_related("contract__patient", "contract__team").get(pk=task.pk)
    )
    contract = task.contract
    _require_clinical(scope, contract, contract.patient)
    if task.status != TaskStatus.OPEN:
        raise Conflict(_("This service is already closed."))
    if contract.status != ContractStatus.ACTIVE:
        raise Conflict(_("The contract is not active."))
    day = done_on or today()
    if day > today():
        raise InvalidInput(_("A service cannot be recorded in the future."), field="done_on")
    if day < contract.start_date:
        raise InvalidInput(_("The date is before the contract began."), field="done_on")
    before = snapshot(task)
    task.status, task.done_on, task.result, task.done_by = (
        TaskStatus.DONE,
        day,
        result.strip()[:300],
        _staff_of(actor),
    )
    task.save()
    audit(
        actor=actor,
        verb="familydoctor.task.record",
        subject=task,
        before=before,
        after=snapshot(task),
        membership=_membership(scope),
    )
    return task


# --- home visits and home beds ----------------------------------------------------------------


def _require_active(contract: Contract) -> None:
    if contract.status != ContractStatus.ACTIVE:
        raise Conflict(_("The contract is not active."))


@transaction.atomic
def home_visit_schedule(
    *, actor: Any, contract: Contract, scheduled_on: dt.date, purpose: str, home_bed: HomeBed | None = None
) -> HomeVisit:
    scope = _scope(actor)
    _require_clinical(scope, contract, contract.patient)
    _require_active(contract)
    purpose = purpose.strip()
    if not purpose:
        raise InvalidInput(_("Say what the visit is for."), field="purpose")
    if scope is not None and scheduled_on < today():
        raise InvalidInput(_("A visit is scheduled for today or later."), field="scheduled_on")
    if scheduled_on > contract.end_date:
        raise InvalidInput(_("The visit falls after the contract ends."), field="scheduled_on")
    if home_bed is not None and (home_bed.contract_id != contract.pk or home_bed.status != BedStatus.OPEN):
        raise InvalidInput(_("That home bed is not open for this resident."), field="home_bed")
    visit = HomeVisit.objects.create(
        contract=contract, scheduled_on=scheduled_on, purpose=purpose[:200], home_bed=home_bed
    )
    audit(
        actor=actor,
        verb="familydoctor.visit.schedule",
        subject=visit,
        after=snapshot(visit),
        membership=_membership(scope),
    )
    return visit


@transaction.atomic
def home_visit_record(
    *, actor: Any, visit: HomeVisit, done_on: dt.date | None = None, note: str = "", missed: bool = False
) -> HomeVisit:
    scope = _scope(actor)
    visit = (
        HomeVisit.objects.select_for_update()
        .select_related("contract__patient", "contract__team")
        .get(pk=visit.pk)
    )
    _require_clinical(scope, visit.contract, visit.contract.patient)
    if visit.status != VisitStatus.SCHEDULED:
        raise Conflict(_("This visit is already recorded."))
    day = done_on or today()
    if day > today():
        raise InvalidInput(_("A visit cannot be recorded in the future."), field="done_on")
    before = snapshot(visit)
    visit.status = VisitStatus.MISSED if missed else VisitStatus.DONE
    visit.done_on = None if missed else day
    visit.note, visit.staff = note.strip()[:300], _staff_of(actor)
    visit.save()
    audit(
        actor=actor,
        verb="familydoctor.visit.record",
        subject=visit,
        before=before,
        after=snapshot(visit),
        membership=_membership(scope),
    )
    return visit


@transaction.atomic
def home_bed_open(*, actor: Any, contract: Contract, admitted_on: dt.date, reason: str) -> HomeBed:
    scope = _scope(actor)
    _require_clinical(scope, contract, contract.patient)
    _require_active(contract)
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("Give the reason for the home bed."), field="reason")
    if admitted_on > today() or admitted_on < contract.start_date:
        raise InvalidInput(
            _("The admission date lies outside the contract or in the future."), field="admitted_on"
        )
    if contract.home_beds.filter(status=BedStatus.OPEN).exists():
        raise Conflict(_("The resident already has an open home bed."))
    bed = HomeBed.objects.create(contract=contract, admitted_on=admitted_on, reason=reason[:200])
    audit(
        actor=actor,
        verb="familydoctor.bed.open",
        subject=bed,
        after=snapshot(bed),
        membership=_membership(scope),
    )
    return bed


@transaction.atomic
def home_bed_discharge(
    *, actor: Any, bed: HomeBed, discharged_on: dt.date | None = None, note: str = ""
) -> HomeBed:
    scope = _scope(actor)
    bed = (
        HomeBed.objects.select_for_update()
        .select_related("contract__patient", "contract__team")
        .get(pk=bed.pk)
    )
    _require_clinical(scope, bed.contract, bed.contract.patient)
    if bed.status != BedStatus.OPEN:
        raise Conflict(_("The home bed is already closed."))
    day = discharged_on or today()
    if day < bed.admitted_on or day > today():
        raise InvalidInput(
            _("The discharge date lies before the admission or in the future."), field="discharged_on"
        )
    before = snapshot(bed)
    bed.status, bed.discharged_on, bed.discharge_note = BedStatus.DISCHARGED, day, note.strip()[:300]
    bed.save()
    bed.visits.filter(status=VisitStatus.SCHEDULED).update(status=VisitStatus.MISSED)
    audit(
        actor=actor,
        verb="familydoctor.bed.discharge",
        subject=bed,
        before=before,
        after=snapshot(bed),
        membership=_membership(scope),
    )
    return bed


def forbid_oversight(scope: Scope) -> None:
    if scope.is_oversight:
        raise Forbidden(_("The consortium office and the bureau see contract counts only."))
