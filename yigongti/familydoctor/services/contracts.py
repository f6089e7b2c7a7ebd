"""Contracts and their state machine: sign, confirm, cancel, terminate, expire, renew; the plan
of tasks a contract gets when it becomes active."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from yigongti.core.audit import audit, snapshot
from yigongti.core.errors import Conflict, InvalidInput, NotFound
from yigongti.patients.models import Patient

from ..choices import (
    OPEN_STATUSES,
    BedStatus,
    Channel,
    ContractStatus,
    PackageKind,
    PriorityGroup,
    TaskStatus,
    VisitStatus,
    can_move,
)
from ..hooks import AGE_GROUPS, priority_groups, resolved_groups
from ..models import Contract, ServicePackage, Task, Team
from .common import (
    _CONTRACT_FIELDS,
    MAX_TERM_YEARS,
    RENEWAL_WINDOW_DAYS,
    _membership,
    _require_clinical,
    _scope,
    _staff_of,
    add_years,
    changed,
    contract_keys,
    today,
)

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
    changed(contract_keys(contract))
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
    village = contract.patient.village_id  # the task counts for the village it was planned for
    for package in packages if packages is not None else contract.packages.prefetch_related("items"):
        for item in package.items.all():
            for due in due_dates(contract.start_date, contract.end_date, item.times_per_year):
                tasks.append(Task(contract=contract, item=item, due_on=due, village_id=village))
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
    changed(contract_keys(contract))
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
    changed(contract_keys(contract))
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
    changed(contract_keys(contract))
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
    changed(contract_keys(contract))
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
    changed(contract_keys(old) | contract_keys(new))  # the old and the new team
    audit(
        actor=actor,
        verb="familydoctor.contract.renew",
        subject=old,
        before=before,
        after=snapshot(old, _CONTRACT_FIELDS) | {"next": new.pk, "team": new_team.pk},
        membership=_membership(scope),
    )
    return new


@transaction.atomic
def contract_groups_update(*, actor: Any, contract: Contract, groups: Iterable[str]) -> Contract:
    """The resident's priority groups changed during the term (a new diagnosis, a disability
    certificate, a household lifted out of poverty): the open contract's groups are found again
    as at signing (age and the registers as of today, plus what staff tick) and the group
    coverage indicators follow. A targeted package needs its group to stay."""
    scope = _scope(actor)
    contract = _locked(contract)
    _require_clinical(scope, contract, contract.patient)
    if contract.status not in OPEN_STATUSES:
        raise Conflict(_("Only a pending or active contract can change its priority groups."))
    ticked = list(groups)
    for g in ticked:
        if g not in PriorityGroup.values:
            raise InvalidInput(_("Unknown priority group."), field="groups")
    found = priority_groups(contract.patient, max(today(), contract.start_date), ticked)
    for p in contract.packages.all():
        if p.target_group and p.target_group not in found:
            raise InvalidInput(
                _("%(name)s is for residents of its group only; tick the group first.") % {"name": p.name},
                field="groups",
            )
    _set_groups(actor, scope, contract, found)
    return contract


def _set_groups(actor: Any, scope: Any, contract: Contract, found: list[str], **note: Any) -> bool:
    """Save the contract's new groups (if they changed) with the indicator signal, and audit the
    decision either way (``note`` goes into the row: a cause, groups kept). True if saved."""
    before = list(contract.priority_groups)
    moved = found != before
    if moved:
        contract.priority_groups, contract.is_priority = found, bool(found)
        contract.save(update_fields=["priority_groups", "is_priority", "updated_at"])
        changed(contract_keys(contract))
    audit(
        actor=actor,
        verb="familydoctor.contract.groups",
        subject=contract,
        before={"priority_groups": before},
        after={"priority_groups": found, **note},
        membership=_membership(scope),
    )
    return moved


def _in_order(groups: set[str]) -> list[str]:
    return [g.value for g in PriorityGroup if g.value in groups]


@transaction.atomic
def contract_groups_follow(
    *, actor: Any, patient_ids: Iterable[int], groups: Iterable[str], cause: str
) -> list[Contract]:
    """A register changed (``hooks.priority_changed``: the chronic app enrolled a resident or
    closed her entry): the open contracts' groups among ``groups`` are answered again by the
    resolvers as at ``contract_groups_update`` (today, or the start of a contract not begun yet);
    age groups and what staff ticked for other groups stay as they are.

    A targeted package (``target_group``) whose group the register no longer answers keeps that
    group while the package is on the contract: dropping it would leave the resident with a
    package she is no longer eligible for, and a contract's packages change only at renewal. An
    audit row names the groups so kept (``kept_for_packages``), even when nothing else changed;
    the renewal (whose packages must match the groups then found) settles it.

    The actor is the user who wrote the register (authorised by that app's service; this is its
    consequence, so the family-doctor scope is not checked again). Each contract whose groups
    change is saved, audited (``familydoctor.contract.groups``, with ``cause``) and sent to the
    indicators, in the caller's transaction; a resident without an open contract, or whose groups
    stay the same (and none is held by a package), writes nothing. Returns the contracts changed."""
    managed = {g for g in groups if g in PriorityGroup.values and g not in AGE_GROUPS}
    ids = sorted(set(patient_ids))
    if not managed or not ids:
        return []
    scope = _scope(actor)
    contracts = (
        Contract.objects.select_for_update()
        .select_related("team", "patient")
        .filter(patient_id__in=ids, status__in=OPEN_STATUSES)
        .order_by("pk")
    )
    moved: list[Contract] = []
    for contract in contracts:
        current = set(contract.priority_groups)
        answered = resolved_groups(contract.patient, max(today(), contract.start_date)) & managed
        held = {
            p.target_group
            for p in contract.packages.all()
            if p.target_group in managed & current and p.target_group not in answered
        }
        found = _in_order((current - managed) | answered | held)
        if found == list(contract.priority_groups) and not held:
            continue
        if _set_groups(actor, scope, contract, found, cause=cause, kept_for_packages=sorted(held)):
            moved.append(contract)
    return moved


# --- fulfilment -------------------------------------------------------------------------------
