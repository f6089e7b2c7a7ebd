"""Institution, staff and secondment pages.

Reads go through the scoped selectors and writes through the services; a domain error becomes a
form error beside its field, or the translated 403/404 page. Every list works as a plain GET
form; htmx only swaps the results in while typing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.core import idnumbers
from yigongti.core.access import Scope
from yigongti.core.errors import Conflict, InvalidInput
from yigongti.core.views import (
    apply_domain_error,
    page_or_partial,
    paginate,
    require_staff_scope,
    translate_domain_errors,
)

from . import services
from .forms import (
    InstitutionFilterForm,
    InstitutionPickForm,
    SecondmentCreateForm,
    StaffCreateForm,
    StaffFilterForm,
)
from .models import Institution, Secondment
from .selectors import (
    department_list_for,
    institution_beds,
    institution_get_for,
    institution_list_for,
    secondment_list_for,
    staff_get_for,
    staff_list_for,
)


def _require_office(request: HttpRequest) -> Scope:
    """Only the consortium office changes institutions' staff and secondments."""
    scope = require_staff_scope(request)
    if not scope.manages_consortium:
        raise PermissionDenied(_("Only the consortium office may change this."))
    return scope


def _member_institutions(scope: Scope) -> QuerySet[Institution]:
    """Institutions in scope that employ staff: members of a consortium, not the bureau or outsiders."""
    return institution_list_for(scope=scope).filter(consortium__isnull=False)


def _secondment_state(secondment: Secondment, today: dt.date) -> str:
    if secondment.start_date > today:
        return "planned"
    if secondment.effective_end < today:
        return "ended"
    return "current"


@login_required
@require_GET
@translate_domain_errors
def institution_list(request: HttpRequest) -> HttpResponse:
    scope = require_staff_scope(request)
    form = InstitutionFilterForm(request.GET or None)
    f = form.values()
    rows = institution_list_for(scope=scope, q=f["q"] or "", kind=f["kind"] or "", level=f["level"] or "")
    page = paginate(request, rows)
    beds = institution_beds([i.pk for i in page.object_list])
    context = {
        "form": form,
        "page_obj": page,
        "rows": [{"institution": i, "beds": beds.get(i.pk, 0)} for i in page.object_list],
    }
    return page_or_partial(
        request, "institutions/list.html", "institutions/_partials/institution_results.html", context
    )


@login_required
@require_GET
@translate_domain_errors
def institution_detail(request: HttpRequest, code: str) -> HttpResponse:
    scope = require_staff_scope(request)
    institution = institution_get_for(scope=scope, code=code)
    departments = list(department_list_for(scope=scope, institution=institution))
    children = list(institution_list_for(scope=scope, parent_id=institution.pk))
    child_beds = institution_beds([c.pk for c in children])
    today = timezone.localdate()
    current = list(
        secondment_list_for(scope=scope, current_on=today).filter(
            Q(host_id=institution.pk) | Q(home_id=institution.pk)
        )
    )
    context = {
        "institution": institution,
        "departments": departments,
        "beds": sum(d.beds for d in departments),
        "children": [{"institution": c, "beds": child_beds.get(c.pk, 0)} for c in children],
        "seconded_in": [s for s in current if s.host_id == institution.pk],
        "seconded_out": [s for s in current if s.home_id == institution.pk],
        "page_obj": paginate(request, staff_list_for(scope=scope, institution_id=institution.pk)),
        "visible_ids": scope.institution_ids,
        "can_write": scope.manages_consortium,
        "employs_staff": institution.consortium_id is not None,
    }
    return render(request, "institutions/detail.html", context)


@login_required
@require_GET
@translate_domain_errors
def staff_list(request: HttpRequest) -> HttpResponse:
    scope = require_staff_scope(request)
    institutions = _member_institutions(scope)
    form = StaffFilterForm(request.GET or None, institutions=institutions)
    f = form.values()
    chosen = f["institution"]
    rows = staff_list_for(
        scope=scope,
        q=(f["q"] or "").strip(),
        institution_id=chosen.pk if chosen else None,
        profession=f["profession"] or "",
    )
    context = {
        "form": form,
        "page_obj": paginate(request, rows),
        "visible_ids": scope.institution_ids,
        "show_institution": True,
        "can_write": scope.manages_consortium,
        "chosen": chosen,
    }
    return page_or_partial(
        request, "institutions/staff_list.html", "institutions/_partials/staff_results.html", context
    )


@login_required
@require_GET
@translate_domain_errors
def staff_detail(request: HttpRequest, staff_id: int) -> HttpResponse:
    scope = require_staff_scope(request)
    staff = staff_get_for(scope=scope, staff_id=staff_id)
    today = timezone.localdate()
    secondments = [
        {"secondment": s, "state": _secondment_state(s, today)}
        for s in secondment_list_for(scope=scope).filter(staff_id=staff.pk)
    ]
    context = {
        "staff": staff,
        "id_masked": idnumbers.mask(staff.id_number) if staff.id_number else "",
        "secondments": secondments,
        "visible_ids": scope.institution_ids,
        "can_write": scope.manages_consortium,
    }
    return render(request, "institutions/staff_detail.html", context)


@login_required
@require_GET
@translate_domain_errors
def staff_new(request: HttpRequest) -> HttpResponse:
    """Step one of adding staff: choose the institution (its departments make the form)."""
    scope = _require_office(request)
    form = InstitutionPickForm(request.GET or None, institutions=_member_institutions(scope))
    if form.is_bound and form.is_valid():
        return redirect("institutions:staff_new_at", code=form.cleaned_data["institution"].code)
    return render(request, "institutions/staff_pick.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def staff_new_at(request: HttpRequest, code: str) -> HttpResponse:
    scope = _require_office(request)
    institution = institution_get_for(scope=scope, code=code)
    departments = department_list_for(scope=scope, institution=institution)
    form = StaffCreateForm(request.POST if request.method == "POST" else None, departments=departments)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                staff = services.staff_create(
                    actor=request.user, institution=institution, **form.service_fields()
                )
            except (InvalidInput, Conflict) as exc:
                apply_domain_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("%(name)s was added.") % {"name": staff.name})
                return redirect("institutions:staff_detail", staff_id=staff.pk)
        else:
            status = 422
    context = {"form": form, "institution": institution}
    return render(request, "institutions/staff_form.html", context, status=status)


@login_required
@require_GET
@translate_domain_errors
def secondment_list(request: HttpRequest) -> HttpResponse:
    scope = require_staff_scope(request)
    show = request.GET.get("show", "current")
    if show not in ("current", "all"):
        show = "current"
    today = timezone.localdate()
    rows = secondment_list_for(scope=scope, current_on=today if show == "current" else None)
    q = request.GET.get("q", "").strip()[:40]
    if q:
        rows = rows.filter(Q(staff__name__icontains=q) | Q(staff__employee_no__startswith=q))
    page = paginate(request, rows)
    context = {
        "page_obj": page,
        "rows": [{"secondment": s, "state": _secondment_state(s, today)} for s in page.object_list],
        "show": show,
        "q": q,
        "visible_ids": scope.institution_ids,
        "can_write": scope.manages_consortium,
    }
    return page_or_partial(
        request,
        "institutions/secondment_list.html",
        "institutions/_partials/secondment_results.html",
        context,
    )


def _secondment_form(request: HttpRequest, scope: Scope) -> SecondmentCreateForm:
    hosts = _member_institutions(scope)
    staff = staff_list_for(scope=scope, include_seconded_in=False)
    initial: dict[str, Any] = {}
    wanted = request.GET.get("staff", "")
    if wanted.isdigit():
        initial["staff"] = wanted
    return SecondmentCreateForm(
        request.POST if request.method == "POST" else None, staff=staff, hosts=hosts, initial=initial
    )


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def secondment_new(request: HttpRequest) -> HttpResponse:
    scope = _require_office(request)
    form = _secondment_form(request, scope)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                secondment = services.secondment_create(
                    actor=request.user,
                    staff=data["staff"],
                    host=data["host"],
                    start_date=data["start_date"],
                    end_date=data["end_date"],
                    purpose=data["purpose"],
                )
            except (InvalidInput, Conflict) as exc:
                apply_domain_error(form, exc)
                status = exc.status
            else:
                messages.success(
                    request,
                    _("%(name)s is seconded to %(host)s.")
                    % {"name": secondment.staff.name, "host": secondment.host.name},
                )
                return redirect("institutions:staff_detail", staff_id=secondment.staff_id)
        else:
            status = 422
    return render(request, "institutions/secondment_form.html", {"form": form}, status=status)
