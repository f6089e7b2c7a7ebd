"""Who acts, and what a write touched: the helpers every family-doctor service shares.

``actor=None`` is the system (the demo generator). ``changed`` sends
``signals.familydoctor_changed`` with the (institution, month) cells of the sources in
``indicator_sources``: a contract or visit is attributed to the resident's village clinic and
to the team's home institution, a task to the village it was planned for and the team's, so a
key names each (``contract_keys``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import Scope, scope_for
from yigongti.core.errors import Conflict, Forbidden, NotFound
from yigongti.institutions.choices import Profession
from yigongti.institutions.models import Staff
from yigongti.patients.models import Patient

from ..choices import ContractStatus
from ..models import Contract, Task, Team, TeamMember
from ..signals import send_changed

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


def _require_active(contract: Contract) -> None:
    if contract.status != ContractStatus.ACTIVE:
        raise Conflict(_("The contract is not active."))


def forbid_oversight(scope: Scope) -> None:
    if scope.is_oversight:
        raise Forbidden(_("The consortium office and the bureau see contract counts only."))


# --- what a write touched ---------------------------------------------------------------------


def month_of(day: dt.date | None) -> dt.date | None:
    return day.replace(day=1) if day is not None else None


def contract_keys(
    contract: Contract, day: dt.date | None = None, *, task: Task | None = None
) -> set[tuple[int, dt.date | None]]:
    """The cells of the contract's rows in ``day``'s month (None: every month): the resident's
    village clinic and the team's home institution. A task counts for the village it was planned
    for (``Task.village``), the resident's unless they have moved since: ``task``'s village is
    named too, and for every month the villages of all the contract's tasks."""
    month = month_of(day)
    insts = {contract.patient.village_id, contract.team.institution_id}
    if task is not None:
        insts.add(task.village_id)
    elif day is None:
        insts.update(contract.tasks.order_by().values_list("village_id", flat=True).distinct())
    return {(inst, month) for inst in insts if inst is not None}


def changed(keys: set[tuple[int, dt.date | None]]) -> None:
    """Inside the writing transaction (the caller is atomic)."""
    send_changed(keys)
