"""Family-doctor pages: teams and packages (the office edits them), contracts with filters, the
signing form, one contract with its plan and its moves, the fulfilment worklist, home visits and
home beds, and the resident's own contract on her phone."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yigongti.core import idnumbers
from yigongti.core.access import Scope, request_scope
from yigongti.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from yigongti.core.views import apply_domain_error, paginate, translate_domain_errors
from yigongti.patients.models import Patient

from . import forms, selectors, services
from .choices import BedStatus, ContractStatus, TeamRole, VisitStatus
from .models import Contract


def _staff(request: HttpRequest) -> Scope:
    scope = request_scope(request)
    if scope.membership is None or scope.self_patient_only:
        raise PermissionDenied(_("Your role may not open this page."))
    return scope


def _clinical(request: HttpRequest) -> Scope:
    scope = _staff(request)
    if scope.is_oversight:
        raise PermissionDenied(_("The consortium office and the bureau see contract counts only."))
    return scope


def _office(request: HttpRequest) -> Scope:
    scope = _staff(request)
    if not scope.manages_consortium:
        raise PermissionDenied(_("Only the consortium office may change this."))
    return scope


# --- teams ------------------------------------------------------------------------------------


@login_required
@require_GET
@translate_domain_errors
def teams(request: HttpRequest) -> HttpResponse:
    scope = _staff(request)
    rows = selectors.team_list_with_stats(scope=scope)
    return render(
        request,
        "familydoctor/teams.html",
        {"rows": rows, "may_edit": scope.manages_consortium, "months": selectors.monthly_counts(scope=scope)},
    )


@login_required
@require_GET
@translate_domain_errors
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    scope = _staff(request)
    team = selectors.team_get_for(scope=scope, team_id=team_id)
    stats = next(r for r in selectors.team_list_with_stats(scope=scope) if r["team"].pk == team.pk)
    return render(
        request,
        "familydoctor/team_detail.html",
        {
            "team": team,
            "stats": stats,
            "may_edit": scope.manages_consortium,
            "clinical": not scope.is_oversight,
        },
    )


def _members(data: dict[str, Any]) -> list[tuple[Any, str]]:
    pairs = [
        (data["doctor"], TeamRole.FAMILY_DOCTOR),
        (data["nurse"], TeamRole.NURSE),
        (data["public_health"], TeamRole.PUBLIC_HEALTH),
        (data.get("specialist"), TeamRole.SPECIALIST),
        (data.get("pharmacist"), TeamRole.PHARMACIST),
    ]
    return [(s, str(r)) for s, r in pairs if s is not None]


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def team_new(request: HttpRequest) -> HttpResponse:
    scope = _office(request)
    form = forms.TeamForm(request.POST or None, consortium_id=scope.consortium_id)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            team = services.team_create(
                actor=request.user,
                code=d["code"],
                name=d["name"],
                institution=d["institution"],
                villages=list(d["villages"]),
                members=_members(d),
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("The team was created."))
            return redirect("familydoctor:team_detail", team.pk)
    return render(
        request,
        "familydoctor/form.html",
        {"form": form, "title": _("New family-doctor team")},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def team_edit(request: HttpRequest, team_id: int) -> HttpResponse:
    scope = _office(request)
    team = selectors.team_get_for(scope=scope, team_id=team_id)
    by_role = {m.role: m.staff for m in team.members.all()}
    initial = {
        "name": team.name,
        "villages": list(team.villages.all()),
        "doctor": by_role.get(TeamRole.FAMILY_DOCTOR),
        "nurse": by_role.get(TeamRole.NURSE),
        "public_health": by_role.get(TeamRole.PUBLIC_HEALTH),
        "specialist": by_role.get(TeamRole.SPECIALIST),
        "pharmacist": by_role.get(TeamRole.PHARMACIST),
        "is_active": team.is_active,
    }
    form = forms.TeamForm(
        request.POST or None, initial=initial, consortium_id=scope.consortium_id, editing=True
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.team_update(
                actor=request.user,
                team=team,
                name=d["name"],
                villages=list(d["villages"]),
                members=_members(d),
                is_active=d["is_active"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("The team was saved."))
            return redirect("familydoctor:team_detail", team.pk)
    return render(
        request,
        "familydoctor/form.html",
        {"form": form, "title": team.name},
        status=422 if form.errors else 200,
    )


# --- packages ---------------------------------------------------------------------------------


@login_required
@require_GET
@translate_domain_errors
def packages(request: HttpRequest) -> HttpResponse:
    scope = request_scope(request)
    rows = selectors.package_list_for(scope=scope)
    return render(
        request, "familydoctor/packages.html", {"packages": rows, "may_edit": scope.manages_consortium}
    )


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def package_new(request: HttpRequest) -> HttpResponse:
    _office(request)
    form = forms.PackageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            package = services.package_create(
                actor=request.user,
                code=d["code"],
                name=d["name"],
                kind=d["kind"],
                target_group=d["target_group"],
                price=d["price"],
                insurance_share=d["insurance_share"],
                description=d["description"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("The package was created; add its items."))
            return redirect("familydoctor:package_edit", package.pk)
    return render(
        request,
        "familydoctor/form.html",
        {"form": form, "title": _("New service package")},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def package_edit(request: HttpRequest, package_id: int) -> HttpResponse:
    scope = _office(request)
    package = selectors.package_get_for(scope=scope, package_id=package_id)
    initial = {
        "name": package.name,
        "price": package.price,
        "insurance_share": package.insurance_share,
        "description": package.description,
        "is_active": package.is_active,
    }
    adding = request.method == "POST" and "times_per_year" in request.POST
    form = forms.PackageForm(
        request.POST if request.method == "POST" and not adding else None, initial=initial, editing=True
    )
    item_form = forms.ItemForm(request.POST if adding else None)
    target = item_form if adding else form
    if request.method == "POST" and target.is_valid():
        d = target.cleaned_data
        try:
            if adding:
                services.package_item_add(
                    actor=request.user,
                    package=package,
                    name=d["name"],
                    times_per_year=d["times_per_year"],
                    is_home_visit=d["is_home_visit"],
                )
            else:
                services.package_update(
                    actor=request.user,
                    package=package,
                    name=d["name"],
                    price=d["price"],
                    insurance_share=d["insurance_share"],
                    description=d["description"],
                    is_active=d["is_active"],
                )
        except DomainError as exc:
            apply_domain_error(target, exc)
        else:
            messages.success(request, _("The package was saved."))
            return redirect("familydoctor:package_edit", package.pk)
    context = {"form": form, "item_form": item_form, "package": package, "title": package.name}
    return render(request, "familydoctor/package_edit.html", context, status=422 if target.errors else 200)


# --- contracts --------------------------------------------------------------------------------


@login_required
@require_GET
@translate_domain_errors
def contracts(request: HttpRequest) -> HttpResponse:
    scope = _clinical(request)
    form = forms.ContractFilterForm(request.GET or None, teams=selectors.team_list_for(scope=scope))
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        filters = {
            "team": d["team"].pk if d["team"] else None,
            "status": d["status"],
            "group": d["group"],
            "expiring": d["expiring"],
            "q": d["q"],
        }
    page = paginate(request, selectors.contract_list_for(scope=scope, **filters))
    rows = [
        {"c": c, "id_masked": idnumbers.mask(c.patient.id_number) if c.patient.id_number else ""}
        for c in page
    ]
    return render(request, "familydoctor/contracts.html", {"form": form, "page_obj": page, "rows": rows})


def _find_patient(scope: Scope, number: str) -> Patient:
    number = number.strip().upper()
    patient = (
        Patient.objects.filter(merged_into__isnull=True, village_id__in=scope.resident_village_ids)
        .filter(Q(health_record_number=number) | Q(id_number=number))
        .first()
    )
    if patient is None:
        raise NotFound(_("No resident of your villages has this number."), field="patient")
    return patient


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def sign(request: HttpRequest) -> HttpResponse:
    scope = _clinical(request)
    if not scope.can_write:
        raise PermissionDenied(_("Your role may only read."))
    initial = {"patient": request.GET.get("patient", "")[:18]}
    form = forms.SignForm(
        request.POST or None,
        initial=initial,
        teams=selectors.team_list_for(scope=scope).filter(is_active=True),
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            contract = services.contract_sign(
                actor=request.user,
                patient=_find_patient(scope, d["patient"]),
                team=d["team"],
                packages=list(d["packages"]),
                start_date=d["start_date"],
                end_date=d["end_date"],
                groups=d["groups"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(
                request, _("Signed. The resident confirms on her phone, or record her paper signature.")
            )
            return redirect("familydoctor:contract", contract.pk)
    return render(request, "familydoctor/sign.html", {"form": form}, status=422 if form.errors else 200)


def _contract_context(request: HttpRequest, scope: Scope, contract: Contract) -> dict[str, Any]:
    tasks = list(contract.tasks.select_related("item", "done_by").order_by("due_on", "id"))
    return {
        "c": contract,
        "tasks": tasks,
        "today": services.today(),
        "fulfilment": selectors.contract_fulfilment(contract),
        "visits": contract.home_visits.select_related("staff").order_by("-scheduled_on"),
        "beds": contract.home_beds.order_by("-admitted_on"),
        "may_write": scope.can_write and not scope.self_patient_only,
        "reason_form": forms.ReasonForm(),
        "groups_form": forms.GroupsForm(initial={"groups": list(contract.priority_groups)}),
        "renew_form": forms.RenewForm(teams=selectors.teams_for_patient(contract.patient)),
        "visit_form": forms.VisitForm(),
        "bed_form": forms.BedForm(),
        "id_masked": idnumbers.mask(contract.patient.id_number) if contract.patient.id_number else "",
    }


@login_required
@require_GET
@translate_domain_errors
def contract(request: HttpRequest, contract_id: int) -> HttpResponse:
    scope = _clinical(request)
    c = selectors.contract_get_for(scope=scope, contract_id=contract_id, reader=request.user)
    return render(request, "familydoctor/contract.html", _contract_context(request, scope, c))


@login_required
@require_POST
@translate_domain_errors
def act(request: HttpRequest, contract_id: int, action: str) -> HttpResponse:
    """One move of a contract from its page; a refused move shows its reason on the page."""
    scope = request_scope(request)
    if scope.membership is None:
        raise PermissionDenied(_("Your role may not open this page."))
    c = selectors.contract_get_for(scope=scope, contract_id=contract_id)
    back = "familydoctor:mine" if scope.self_patient_only else "familydoctor:contract"
    args = () if scope.self_patient_only else (c.pk,)
    post = request.POST
    try:
        if action == "confirm":
            services.contract_confirm(
                actor=request.user, contract=c, paper_signature=post.get("paper_signature") == "1"
            )
        elif action == "cancel":
            services.contract_cancel(actor=request.user, contract=c, reason=post.get("reason", "")[:200])
        elif action == "terminate":
            services.contract_terminate(actor=request.user, contract=c, reason=post.get("reason", "")[:200])
        elif action == "expire":
            services.contract_expire(actor=request.user, contract=c)
        elif action == "renew":
            rf = forms.RenewForm(post, teams=selectors.teams_for_patient(c.patient))
            if not rf.is_valid():
                raise InvalidInput(_("Check the team and the end date."), field="end_date")
            new = services.contract_renew(
                actor=request.user,
                contract=c,
                team=rf.cleaned_data["team"],
                end_date=rf.cleaned_data["end_date"],
            )
            messages.success(request, _("Renewed for the next term."))
            return redirect("familydoctor:contract", new.pk)
        elif action == "groups":
            gf = forms.GroupsForm(post)
            if not gf.is_valid():
                raise InvalidInput(_("Unknown priority group."), field="groups")
            services.contract_groups_update(actor=request.user, contract=c, groups=gf.cleaned_data["groups"])
        elif action == "visit":
            vf = forms.VisitForm(post)
            if not vf.is_valid():
                raise InvalidInput(_("Give the date and the purpose of the visit."), field="scheduled_on")
            services.home_visit_schedule(actor=request.user, contract=c, **vf.cleaned_data)
        elif action == "bed":
            bf = forms.BedForm(post)
            if not bf.is_valid():
                raise InvalidInput(_("Give the admission date and the reason."), field="admitted_on")
            services.home_bed_open(actor=request.user, contract=c, **bf.cleaned_data)
        else:
            raise NotFound(_("No such action."))
    except (InvalidInput, Conflict, Forbidden) as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Saved."))
    return redirect(back, *args)


@login_required
@require_POST
@translate_domain_errors
def task_record(request: HttpRequest, task_id: int) -> HttpResponse:
    scope = _clinical(request)
    task = selectors.task_get_for(scope=scope, task_id=task_id)
    try:
        services.task_record(actor=request.user, task=task, result=request.POST.get("result", "")[:300])
    except (InvalidInput, Conflict) as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Recorded."))
    nxt = request.POST.get("next", "")
    if nxt == "worklist":
        return redirect("familydoctor:worklist")
    return redirect("familydoctor:contract", task.contract_id)


@login_required
@require_GET
@translate_domain_errors
def worklist(request: HttpRequest) -> HttpResponse:
    scope = _clinical(request)
    window = "overdue" if request.GET.get("window") == "overdue" else "week"
    page = paginate(request, selectors.task_worklist_for(scope=scope, window=window))
    return render(
        request,
        "familydoctor/worklist.html",
        {"page_obj": page, "window": window, "today": services.today(), "may_write": scope.can_write},
    )


@login_required
@require_GET
@translate_domain_errors
def visits(request: HttpRequest) -> HttpResponse:
    scope = _clinical(request)
    status = request.GET.get("status", VisitStatus.SCHEDULED)
    status = status if status in VisitStatus.values else VisitStatus.SCHEDULED
    qs = selectors.visit_list_for(scope=scope, status=status).order_by("scheduled_on", "id")
    beds = selectors.bed_list_for(scope=scope, status=BedStatus.OPEN).order_by("admitted_on")
    return render(
        request,
        "familydoctor/visits.html",
        {
            "page_obj": paginate(request, qs),
            "status": status,
            "statuses": VisitStatus.choices,
            "beds": beds,
            "may_write": scope.can_write,
        },
    )


@login_required
@require_POST
@translate_domain_errors
def visit_record(request: HttpRequest, visit_id: int) -> HttpResponse:
    scope = _clinical(request)
    visit = selectors.visit_get_for(scope=scope, visit_id=visit_id)
    try:
        services.home_visit_record(
            actor=request.user,
            visit=visit,
            note=request.POST.get("note", "")[:300],
            missed=request.POST.get("missed") == "1",
        )
    except (InvalidInput, Conflict) as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Recorded."))
    return redirect("familydoctor:visits")


@login_required
@require_POST
@translate_domain_errors
def bed_discharge(request: HttpRequest, bed_id: int) -> HttpResponse:
    scope = _clinical(request)
    bed = selectors.bed_get_for(scope=scope, bed_id=bed_id)
    try:
        services.home_bed_discharge(actor=request.user, bed=bed, note=request.POST.get("note", "")[:300])
    except (InvalidInput, Conflict) as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The home bed was closed."))
    return redirect("familydoctor:visits")


# --- the resident -----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def mine(request: HttpRequest) -> HttpResponse:
    """The resident's own contract and plan; with none open, the form to apply online."""
    scope = request_scope(request)
    if not scope.self_patient_only:
        raise PermissionDenied(_("This page is for residents."))
    patient = Patient.objects.filter(user_id=scope.user_id or 0).first()
    current = selectors.current_contract_for_user(scope=scope)
    open_now = current is not None and current.status in (ContractStatus.PENDING, ContractStatus.ACTIVE)
    form = None
    if patient is not None and not open_now:
        form = forms.SignForm(request.POST or None, teams=selectors.teams_for_patient(patient), resident=True)
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                services.contract_sign(
                    actor=request.user,
                    patient=patient,
                    team=d["team"],
                    packages=list(d["packages"]),
                    groups=d["groups"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                messages.success(request, _("Your application was sent to the team."))
                return redirect("familydoctor:mine")
    elif request.method == "POST":
        messages.error(request, _("You already have a contract."))
        return redirect("familydoctor:mine")
    context: dict[str, Any] = {
        "current": current,
        "form": form,
        "patient": patient,
        "today": services.today(),
    }
    if current is not None:
        selectors.contract_get_for(scope=scope, contract_id=current.pk, reader=request.user)
        context["tasks"] = list(current.tasks.select_related("item").order_by("due_on", "id"))
        context["fulfilment"] = selectors.contract_fulfilment(current)
        context["visits"] = current.home_visits.order_by("-scheduled_on")[:10]
        context["doctor"] = next(
            (m for m in current.team.members.all() if m.role == TeamRole.FAMILY_DOCTOR), None
        )
    status = 422 if form is not None and form.errors else 200
    return render(request, "familydoctor/mine.html", context, status=status)
