"""Scoped reads of teams, packages, contracts, plans, home visits and home beds.

Who sees what: township and village staff see the teams based in their scope and the contracts
of their villages' residents; a team member (e.g. the county specialist) also sees the
contracts of her teams; the consortium office and the bureau see teams, packages and counts,
never a resident's contract; a resident sees only her own contracts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import Scope, filter_institutions
from yigongti.core.audit import audit
from yigongti.core.errors import Forbidden, NotFound

from .choices import ContractStatus, TaskStatus, VisitStatus
from .models import Contract, HomeBed, HomeVisit, ServicePackage, Task, Team, TeamMember
from .services import today

EXPIRING_DAYS = 60


def _staff_only(scope: Scope) -> None:
    if scope.membership is None or scope.self_patient_only:
        raise Forbidden(_("Your role may not open this."))


def _member_teams(scope: Scope) -> QuerySet[Any]:
    return TeamMember.objects.filter(staff__user_id=scope.user_id or 0).values("team_id")


def team_list_for(*, scope: Scope) -> QuerySet[Team]:
    _staff_only(scope)
    qs = filter_institutions(Team.objects.all(), scope, "institution") | Team.objects.filter(
        pk__in=_member_teams(scope)
    )
    return (
        qs.distinct()
        .select_related("institution")
        .prefetch_related("villages", "members__staff__institution")
    )


def team_get_for(*, scope: Scope, team_id: int) -> Team:
    team = team_list_for(scope=scope).filter(pk=team_id).first()
    if team is None:
        raise NotFound(_("No such team."))
    return team


def teams_for_patient(patient: Any) -> QuerySet[Team]:
    """The active teams serving the resident's village (what she may apply to)."""
    return (
        Team.objects.filter(is_active=True, villages=patient.village_id)
        .select_related("institution")
        .prefetch_related("members__staff")
    )


def package_list_for(*, scope: Scope, active_only: bool = False) -> QuerySet[ServicePackage]:
    """Packages are public reference data (a resident chooses from them)."""
    if scope.membership is None:
        raise Forbidden(_("Your role may not open this."))
    qs = ServicePackage.objects.prefetch_related("items")
    return qs.filter(is_active=True) if active_only else qs


def package_get_for(*, scope: Scope, package_id: int) -> ServicePackage:
    package = package_list_for(scope=scope).filter(pk=package_id).first()
    if package is None:
        raise NotFound(_("No such package."))
    return package


def contract_base_for(*, scope: Scope) -> QuerySet[Contract]:
    if scope.self_patient_only:
        return (
            Contract.objects.filter(patient__user_id=scope.user_id)
            if scope.user_id
            else Contract.objects.none()
        )
    _staff_only(scope)
    if scope.is_oversight:
        raise Forbidden(_("The consortium office and the bureau see contract counts only."))
    condition = Q(team_id__in=_member_teams(scope))
    if scope.resident_village_ids:
        condition |= Q(patient__village_id__in=scope.resident_village_ids)
    return Contract.objects.filter(condition)


def contract_list_for(
    *,
    scope: Scope,
    team: int | None = None,
    village: int | None = None,
    status: str = "",
    group: str = "",
    expiring: bool = False,
    q: str = "",
) -> QuerySet[Contract]:
    qs = contract_base_for(scope=scope)
    if team:
        qs = qs.filter(team_id=team)
    if village:
        qs = qs.filter(patient__village_id=village)
    if status:
        qs = qs.filter(status=status)
    if group:
        # JSON containment differs between the databases; the codes are plain words, so match the
        # quoted word in the stored list (works on SQLite's text and PostgreSQL's jsonb).
        qs = qs.filter(priority_groups__icontains=f'"{group}"')
    if expiring:
        day = today()
        qs = qs.filter(status=ContractStatus.ACTIVE, end_date__lte=day + dt.timedelta(days=EXPIRING_DAYS))
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(patient__name__contains=q) | Q(number__startswith=q.upper()))
    return (
        qs.select_related("patient", "patient__village", "team").order_by("end_date", "id")
        if expiring
        else qs.select_related("patient", "patient__village", "team")
    )


def contract_get_for(*, scope: Scope, contract_id: int, reader: Any = None) -> Contract:
    """One contract; reading it is audited (a resident's record)."""
    contract = (
        contract_base_for(scope=scope)
        .filter(pk=contract_id)
        .select_related("patient", "patient__village", "team", "team__institution", "signed_by", "previous")
        .prefetch_related("packages", "team__members__staff")
        .first()
    )
    if contract is None:
        raise NotFound(_("No such contract."))
    if reader is not None:
        audit(actor=reader, verb="familydoctor.contract.read", subject=contract, membership=scope.membership)
    return contract


def current_contract_for_user(*, scope: Scope) -> Contract | None:
    """The resident's pending or active contract, else the latest one."""
    qs = (
        contract_base_for(scope=scope)
        .select_related("team", "team__institution", "patient")
        .prefetch_related("packages", "team__members__staff")
    )
    return qs.filter(status__in=[ContractStatus.PENDING, ContractStatus.ACTIVE]).first() or qs.first()


def rate(done: int, due: int) -> float | None:
    return round(100 * done / due, 1) if due else None


def contract_fulfilment(contract: Contract, on: dt.date | None = None) -> dict[str, Any]:
    """Done ÷ due to date among the plan's tasks due by ``on`` (cancelled ones do not count)."""
    day = on or today()
    row = (
        contract.tasks.filter(due_on__lte=day)
        .exclude(status=TaskStatus.CANCELLED)
        .aggregate(due=Count("id"), done=Count("id", filter=Q(status=TaskStatus.DONE)))
    )
    return {"due": row["due"], "done": row["done"], "rate": rate(row["done"], row["due"])}


def team_fulfilment(team_ids: list[int], on: dt.date | None = None) -> dict[int, dict[str, Any]]:
    """Per team, one grouped query: done ÷ due to date over all its contracts' tasks."""
    day = on or today()
    rows = (
        Task.objects.filter(contract__team_id__in=team_ids, due_on__lte=day)
        .exclude(status=TaskStatus.CANCELLED)
        .values("contract__team_id")
        .annotate(due=Count("id"), done=Count("id", filter=Q(status=TaskStatus.DONE)))
    )
    return {
        r["contract__team_id"]: {"due": r["due"], "done": r["done"], "rate": rate(r["done"], r["due"])}
        for r in rows
    }


def team_contract_counts(team_ids: list[int]) -> dict[int, dict[str, int]]:
    """Active contracts and those of priority groups, per team (one grouped query)."""
    rows = (
        Contract.objects.filter(team_id__in=team_ids, status=ContractStatus.ACTIVE)
        .values("team_id")
        .annotate(active=Count("id"), priority=Count("id", filter=Q(is_priority=True)))
    )
    return {r["team_id"]: {"active": r["active"], "priority": r["priority"]} for r in rows}


def team_list_with_stats(*, scope: Scope) -> list[dict[str, Any]]:
    teams = list(team_list_for(scope=scope))
    ids = [t.pk for t in teams]
    rates, counts = team_fulfilment(ids), team_contract_counts(ids)
    empty = {"due": 0, "done": 0, "rate": None}
    return [
        {
            "team": t,
            "fulfilment": rates.get(t.pk, empty),
            "counts": counts.get(t.pk, {"active": 0, "priority": 0}),
        }
        for t in teams
    ]


def task_worklist_for(*, scope: Scope, window: str = "week", team: int | None = None) -> QuerySet[Task]:
    """Open tasks of active contracts: due this week (overdue included), or overdue only."""
    qs = Task.objects.filter(
        contract__in=contract_base_for(scope=scope).filter(status=ContractStatus.ACTIVE),
        status=TaskStatus.OPEN,
    )
    day = today()
    qs = (
        qs.filter(due_on__lt=day)
        if window == "overdue"
        else qs.filter(due_on__lte=day + dt.timedelta(days=7))
    )
    if team:
        qs = qs.filter(contract__team_id=team)
    return qs.select_related("item", "contract", "contract__patient", "contract__team").order_by(
        "due_on", "id"
    )


def task_get_for(*, scope: Scope, task_id: int) -> Task:
    task = Task.objects.filter(pk=task_id, contract__in=contract_base_for(scope=scope)).first()
    if task is None:
        raise NotFound(_("No such task."))
    return task


def visit_list_for(*, scope: Scope, status: str = "", team: int | None = None) -> QuerySet[HomeVisit]:
    qs = HomeVisit.objects.filter(contract__in=contract_base_for(scope=scope))
    if status:
        qs = qs.filter(status=status)
    if team:
        qs = qs.filter(contract__team_id=team)
    return qs.select_related("contract", "contract__patient", "contract__team", "staff", "home_bed")


def visit_get_for(*, scope: Scope, visit_id: int) -> HomeVisit:
    visit = visit_list_for(scope=scope).filter(pk=visit_id).first()
    if visit is None:
        raise NotFound(_("No such home visit."))
    return visit


def bed_list_for(*, scope: Scope, status: str = "", team: int | None = None) -> QuerySet[HomeBed]:
    qs = HomeBed.objects.filter(contract__in=contract_base_for(scope=scope))
    if status:
        qs = qs.filter(status=status)
    if team:
        qs = qs.filter(contract__team_id=team)
    return qs.select_related("contract", "contract__patient", "contract__team").annotate(
        visits_done=Count("visits", filter=Q(visits__status=VisitStatus.DONE))
    )


def bed_get_for(*, scope: Scope, bed_id: int) -> HomeBed:
    bed = bed_list_for(scope=scope).filter(pk=bed_id).first()
    if bed is None:
        raise NotFound(_("No such home bed."))
    return bed


def monthly_counts(*, scope: Scope, months: int = 6) -> list[dict[str, Any]]:
    """Home visits done and home beds admitted per team and month (two grouped queries); teams
    in scope only, so the office sees every team's counts without any resident's row."""
    team_ids = [t.pk for t in team_list_for(scope=scope)]
    since = (today().replace(day=1) - dt.timedelta(days=31 * (months - 1))).replace(day=1)
    visits = (
        HomeVisit.objects.filter(contract__team_id__in=team_ids, status=VisitStatus.DONE, done_on__gte=since)
        .annotate(month=TruncMonth("done_on"))
        .values("contract__team_id", "contract__team__name", "month")
        .annotate(n=Count("id"))
    )
    beds = (
        HomeBed.objects.filter(contract__team_id__in=team_ids, admitted_on__gte=since)
        .annotate(month=TruncMonth("admitted_on"))
        .values("contract__team_id", "contract__team__name", "month")
        .annotate(n=Count("id"))
    )
    table: dict[tuple[int, Any], dict[str, Any]] = {}
    for kind, rows in (("visits", visits), ("beds", beds)):
        for r in rows:
            month = r["month"]
            month = month.date() if isinstance(month, dt.datetime) else month
            key = (r["contract__team_id"], month)
            cell = table.setdefault(
                key,
                {
                    "team_id": key[0],
                    "team": r["contract__team__name"],
                    "month": month,
                    "visits": 0,
                    "beds": 0,
                },
            )
            cell[kind] = r["n"]
    return sorted(table.values(), key=lambda c: (c["team"], c["month"]), reverse=False)
