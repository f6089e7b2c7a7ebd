"""Reads of institutions, staff and secondments, always through the user's scope."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import Scope, filter_institutions
from yigongti.core.errors import NotFound

from .models import Department, Institution, Secondment, Staff


def institution_list_for(
    *, scope: Scope, q: str = "", kind: str = "", level: str = "", parent_id: int | None = None
) -> QuerySet[Institution]:
    """Institutions in scope, with their active staff and beds counted in the same query."""
    qs = filter_institutions(Institution.objects.all(), scope)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(short_name__icontains=q) | Q(code__startswith=q))
    if kind:
        qs = qs.filter(kind=kind)
    if level:
        qs = qs.filter(level=level)
    if parent_id is not None:
        qs = qs.filter(parent_id=parent_id)
    staff_count = Count("staff", filter=Q(staff__is_active=True), distinct=True)
    return qs.annotate(staff_count=staff_count).select_related("parent").order_by("code")


def institution_get_for(*, scope: Scope, code: str) -> Institution:
    """One institution by code, or NotFound when it does not exist or is out of scope."""
    inst = (
        filter_institutions(Institution.objects.all(), scope)
        .filter(code=code)
        .select_related("parent", "consortium")
        .first()
    )
    if inst is None:
        raise NotFound(_("No institution with this code."), field="code")
    return inst


def institution_beds(institution_ids: list[int]) -> dict[int, int]:
    """Approved beds per institution (sum over departments)."""
    rows = (
        Department.objects.filter(institution_id__in=institution_ids)
        .values("institution_id")
        .annotate(total=Sum("beds"))
    )
    return {r["institution_id"]: r["total"] or 0 for r in rows}


def department_list_for(*, scope: Scope, institution: Institution) -> QuerySet[Department]:
    if not scope.sees_institution(institution.pk):
        raise NotFound(_("No institution with this code."), field="code")
    return (
        Department.objects.filter(institution=institution)
        .annotate(staff_count=Count("staff", filter=Q(staff__is_active=True)))
        .order_by("code")
    )


def department_get_for(*, scope: Scope, department_id: int) -> Department:
    """One department of an institution in scope, or NotFound."""
    dept = (
        filter_institutions(Department.objects.all(), scope, "institution")
        .filter(pk=department_id)
        .select_related("institution")
        .first()
    )
    if dept is None:
        raise NotFound(_("No such department."), field="department_id")
    return dept


def staff_list_for(
    *,
    scope: Scope,
    q: str = "",
    institution_id: int | None = None,
    profession: str = "",
    include_seconded_in: bool = True,
) -> QuerySet[Staff]:
    """Active staff of institutions in scope (and, for a host, the staff seconded to it now)."""
    if scope.self_patient_only:
        return Staff.objects.none()
    today = dt.date.today()  # noqa: DTZ011 - a calendar date in the server's (Shanghai) zone
    ids = scope.institution_ids if institution_id is None else scope.institution_ids & {institution_id}
    cond = Q(institution_id__in=ids)
    if include_seconded_in:
        cond |= Q(
            secondments__host_id__in=ids,
            secondments__start_date__lte=today,
            secondments__end_date__gte=today,
            secondments__ended_early_on__isnull=True,
        )
    qs = Staff.objects.filter(cond, is_active=True)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(employee_no__startswith=q) | Q(phone__startswith=q))
    if profession:
        qs = qs.filter(profession=profession)
    return (
        qs.select_related("institution", "department").distinct().order_by("institution__code", "employee_no")
    )


def staff_get_for(*, scope: Scope, staff_id: int) -> Staff:
    staff = staff_list_for(scope=scope, include_seconded_in=False).filter(pk=staff_id).first()
    if staff is None:
        raise NotFound(_("No such staff member."), field="staff_id")
    return staff


def secondment_list_for(*, scope: Scope, current_on: dt.date | None = None) -> QuerySet[Secondment]:
    """Secondments into or out of institutions in scope; ``current_on`` keeps those running that day."""
    ids = scope.institution_ids
    if not ids:
        return Secondment.objects.none()
    qs = Secondment.objects.filter(Q(host_id__in=ids) | Q(home_id__in=ids))
    if current_on is not None:
        qs = qs.filter(start_date__lte=current_on, end_date__gte=current_on).filter(
            Q(ended_early_on__isnull=True) | Q(ended_early_on__gte=current_on)
        )
    return qs.select_related("staff", "home", "host").order_by("-start_date", "id")


def secondment_get_for(*, scope: Scope, secondment_id: int) -> Secondment:
    """One secondment into or out of an institution in scope, or NotFound."""
    secondment = secondment_list_for(scope=scope).filter(pk=secondment_id).first()
    if secondment is None:
        raise NotFound(_("No such secondment."), field="secondment_id")
    return secondment


@dataclass
class TreeNode:
    institution: Institution
    staff_count: int
    beds: int
    children: list[TreeNode] = field(default_factory=list)


def institution_tree_for(*, scope: Scope) -> list[TreeNode]:
    """The visible part of the tree, roots first, with staff and bed counts (three queries)."""
    insts = list(institution_list_for(scope=scope))
    beds = institution_beds([i.pk for i in insts])
    nodes = {i.pk: TreeNode(i, getattr(i, "staff_count", 0), beds.get(i.pk, 0)) for i in insts}
    roots: list[TreeNode] = []
    for node in nodes.values():
        parent = nodes.get(node.institution.parent_id or -1)
        (parent.children if parent else roots).append(node)
    return roots
