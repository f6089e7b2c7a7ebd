"""Fulfilment: plan tasks recorded as done, home visits and home beds (the team's township)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from yigongti.core.audit import audit, snapshot
from yigongti.core.errors import Conflict, InvalidInput

from ..choices import (
    BedStatus,
    ContractStatus,
    TaskStatus,
    VisitStatus,
)
from ..models import Contract, HomeBed, HomeVisit, Task
from .common import (
    _membership,
    _require_active,
    _require_clinical,
    _scope,
    _staff_of,
    changed,
    contract_keys,
    month_of,
    today,
)


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
    changed(contract_keys(contract, task.due_on, task=task))
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
    changed(contract_keys(contract, scheduled_on))
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
    changed(contract_keys(visit.contract, visit.scheduled_on))
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
    missed = bed.visits.filter(status=VisitStatus.SCHEDULED)
    months = {month_of(d) for d in missed.values_list("scheduled_on", flat=True)}
    missed.update(status=VisitStatus.MISSED)
    changed({key for m in months for key in contract_keys(bed.contract, m)})
    audit(
        actor=actor,
        verb="familydoctor.bed.discharge",
        subject=bed,
        before=before,
        after=snapshot(bed),
        membership=_membership(scope),
    )
    return bed
