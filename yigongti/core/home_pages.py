"""One home page per role, each showing real data from the user's scope.

The office and the bureau oversee the consortium tree; people who work at an institution see
that institution first (a township also its villages, grassroots staff their residents as
counts); a resident sees their own record, and that read is audited like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.institutions.choices import InstitutionKind, Level
from yigongti.institutions.selectors import (
    TreeNode,
    department_list_for,
    institution_get_for,
    institution_list_for,
    institution_tree_for,
    secondment_list_for,
    staff_list_for,
)

from .access import Scope
from .views import paginate

HomePage = Callable[[HttpRequest, Scope], HttpResponse]


@dataclass
class LevelTotal:
    """Member institutions, active staff and approved beds at one level of the consortium."""

    level: str
    label: str
    institutions: int = 0
    staff: int = 0
    beds: int = 0


@dataclass
class TownshipRow:
    node: TreeNode
    village_staff: int
    village_beds: int


@dataclass
class ConsortiumBlock:
    """One consortium as the home page draws it: the lead, its county members, its townships."""

    lead: TreeNode
    county_members: list[TreeNode] = field(default_factory=list)
    townships: list[TownshipRow] = field(default_factory=list)


def _walk(nodes: list[TreeNode]) -> Iterator[TreeNode]:
    for node in nodes:
        yield node
        yield from _walk(node.children)


def _by_code(nodes: list[TreeNode]) -> list[TreeNode]:
    return sorted(nodes, key=lambda n: n.institution.code)


def _consortium_block(lead: TreeNode) -> ConsortiumBlock:
    block = ConsortiumBlock(lead=lead)
    for child in _by_code(lead.children):
        if child.institution.kind == InstitutionKind.TOWNSHIP_CENTRE:
            child.children = _by_code(child.children)
            block.townships.append(
                TownshipRow(
                    node=child,
                    village_staff=sum(v.staff_count for v in child.children),
                    village_beds=sum(v.beds for v in child.children),
                )
            )
        else:
            block.county_members.append(child)
    return block


def _oversight_context(scope: Scope) -> dict[str, Any]:
    """The tree with staff and beds per institution and per level (three queries for the tree)."""
    roots = institution_tree_for(scope=scope)
    blocks = [
        _consortium_block(r) for r in _by_code(roots) if r.institution.kind == InstitutionKind.LEAD_HOSPITAL
    ]
    others = [r for r in _by_code(roots) if r.institution.kind != InstitutionKind.LEAD_HOSPITAL]
    totals: dict[str, LevelTotal] = {
        str(lvl): LevelTotal(str(lvl), str(lvl.label))
        for lvl in (Level.COUNTY, Level.TOWNSHIP, Level.VILLAGE)
    }
    for node in _walk(roots):
        total = totals.get(node.institution.level)
        if total is None or node.institution.consortium_id is None:
            continue  # the bureau and external hospitals are not members
        total.institutions += 1
        total.staff += node.staff_count
        total.beds += node.beds
    today = timezone.localdate()
    return {
        "blocks": blocks,
        "others": others,
        "level_totals": list(totals.values()),
        "townships": totals[Level.TOWNSHIP].institutions,
        "villages": totals[Level.VILLAGE].institutions,
        "staff_total": sum(t.staff for t in totals.values()),
        "beds_total": sum(t.beds for t in totals.values()),
        "current_secondments": secondment_list_for(scope=scope, current_on=today).count(),
        "today": today,
    }


def office_home(request: HttpRequest, scope: Scope) -> HttpResponse:
    from yigongti.patients.matching.selectors import review_counts_for
    from yigongti.patients.models import ReviewStatus

    context = _oversight_context(scope)
    context["can_write"] = scope.can_write
    if scope.manages_consortium:  # the master index's steward: possible duplicates to decide
        context["open_reviews"] = review_counts_for(scope=scope).get(ReviewStatus.OPEN, 0)
    return render(request, "core/home_oversight.html", context)


def bureau_home(request: HttpRequest, scope: Scope) -> HttpResponse:
    context = _oversight_context(scope)
    context["can_write"] = False
    return render(request, "core/home_oversight.html", context)


def _institution_context(request: HttpRequest, scope: Scope) -> dict[str, Any]:
    """The own institution's card and its staff, one page at a time."""
    if scope.membership is None:
        raise PermissionDenied
    institution = institution_get_for(scope=scope, code=scope.membership.institution.code)
    departments = list(department_list_for(scope=scope, institution=institution))
    staff_page = paginate(request, staff_list_for(scope=scope, institution_id=institution.pk))
    return {
        "institution": institution,
        "departments": departments,
        "beds": sum(d.beds for d in departments),
        "page_obj": staff_page,
        "visible_ids": scope.institution_ids,
    }


def _resident_counts(scope: Scope) -> dict[str, Any]:
    from yigongti.patients.selectors import resident_counts_for

    return {"resident_counts": resident_counts_for(scope=scope, today=timezone.localdate())}


def institution_home(request: HttpRequest, scope: Scope) -> HttpResponse:
    """County doctors, nurses, pharmacists and dispatchers at a county-level institution."""
    return render(request, "core/home_institution.html", _institution_context(request, scope))


def township_home(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Township staff: their centre, its village clinics with staff and residents, resident counts."""
    from yigongti.patients.selectors import resident_counts_by_village

    context = _institution_context(request, scope)
    residents = resident_counts_by_village(scope=scope)
    villages = list(institution_list_for(scope=scope, parent_id=context["institution"].pk))
    context["villages"] = [{"institution": v, "residents": residents.get(v.pk, 0)} for v in villages]
    context.update(_resident_counts(scope))
    return render(request, "core/home_institution.html", context)


def village_home(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Village doctors and nurses: their clinic, its staff and how many residents it looks after."""
    context = _institution_context(request, scope)
    context.update(_resident_counts(scope))
    return render(request, "core/home_institution.html", context)


def resident_home(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The resident's own record summary; reading it writes a ``patient.read`` audit row."""
    from yigongti.patients.selectors import my_record_for
    from yigongti.patients.views import record_context

    patient = my_record_for(scope=scope, actor=request.user)
    context = record_context(scope, patient, masked=True) if patient is not None else {"patient": None}
    return render(request, "core/home_resident.html", context)


ROLE_HOMES: dict[str, HomePage] = {
    Role.CONSORTIUM_OFFICE: office_home,
    Role.HEALTH_BUREAU: bureau_home,
    Role.RESIDENT: resident_home,
}

LEVEL_HOMES: dict[str, HomePage] = {
    Level.TOWNSHIP: township_home,
    Level.VILLAGE: village_home,
}


def render_home(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The home page of the active membership's role (staff: by their institution's level)."""
    if scope.membership is None:
        raise PermissionDenied
    page = ROLE_HOMES.get(scope.role) or LEVEL_HOMES.get(scope.membership.institution.level, institution_home)
    return page(request, scope)
