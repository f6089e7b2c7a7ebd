"""Encounter pages: the list of one's own encounters, the counts for the consortium office and the
bureau (no personal data), one encounter (audited read), and "record a visit" for the staff of a
township centre or village clinic."""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.access import Scope, filter_residents, request_scope
from yigongti.core.errors import DomainError
from yigongti.core.views import apply_domain_error, page_or_partial, paginate, translate_domain_errors
from yigongti.institutions.models import Department
from yigongti.institutions.selectors import institution_list_for
from yigongti.patients.models import Patient

from .choices import EncounterKind
from .codes import diagnosis_name
from .forms import EncounterFilterForm, RecordForm
from .selectors import encounter_get_for, encounter_list_for, encounter_summary_for, sees_rows
from .services import encounter_record

RECORDING_ROLES = frozenset({Role.COUNTY_DOCTOR, Role.TOWNSHIP_DOCTOR, Role.VILLAGE_DOCTOR, Role.NURSE})


def _records_visits(scope: Scope) -> bool:
    """Staff who look after residents (township and village) and may write."""
    return scope.can_write and scope.role in RECORDING_ROLES and bool(scope.resident_village_ids)


@login_required
@require_GET
@translate_domain_errors
def encounter_list(request: HttpRequest) -> HttpResponse:
    """One's own encounters; the oversight roles are sent to the counts."""
    scope = request_scope(request)
    if scope.membership is None and not scope.self_patient_only:
        raise PermissionDenied(_("Your role may not open this page."))
    if not sees_rows(scope):
        return redirect("encounters:summary")
    institutions = institution_list_for(scope=scope)
    form = EncounterFilterForm(request.GET or None, institutions=institutions)
    f = form.values()
    rows = encounter_list_for(
        scope=scope,
        institution_id=f["institution"].pk if f["institution"] else None,
        kind=f["kind"],
        month=f["month"],
    )
    page = paginate(request, rows)
    context = {
        "form": form,
        "page_obj": page,
        "show_institution_filter": not scope.self_patient_only and len(scope.institution_ids) > 1,
        "rows": [
            {
                "encounter": e,
                "id_masked": idnumbers.mask(e.patient.id_number) if e.patient.id_number else "",
                "diagnosis_name": diagnosis_name(e.diagnosis_code),
            }
            for e in page.object_list
        ],
        "can_record": _records_visits(scope),
        "is_resident": scope.self_patient_only,
    }
    return page_or_partial(
        request, "encounters/list.html", "encounters/_partials/encounter_results.html", context
    )


def _pivot(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per institution with a count per kind, TCM, bed days and costs."""
    lines: OrderedDict[Any, dict[str, Any]] = OrderedDict()
    for r in rows:
        line = lines.setdefault(
            r["institution_id"],
            {
                "name": r["institution_name"] or _("Outside the county (hospital not in the directory)"),
                "level": r["level"],
                "counts": dict.fromkeys(EncounterKind.values, 0),
                "encounters": 0,
                "tcm": 0,
                "bed_days": 0,
                "total_cost": Decimal("0.00"),
                "out_of_pocket": Decimal("0.00"),
            },
        )
        line["counts"][r["kind"]] += r["encounters"]
        for key in ("encounters", "tcm", "bed_days", "total_cost", "out_of_pocket"):
            line[key] += r[key]
    result = []
    for line in lines.values():
        line["kinds"] = [line["counts"][k] for k in EncounterKind.values]
        total = line["total_cost"]
        line["own_share"] = (line["out_of_pocket"] / total * 100) if total else None
        result.append(line)
    return result


@login_required
@require_GET
@translate_domain_errors
def encounter_summary(request: HttpRequest) -> HttpResponse:
    """Counts by institution and kind for a month (default: this month); no personal data."""
    scope = request_scope(request)
    institutions = institution_list_for(scope=scope)
    data = request.GET.copy()
    if "month" not in data:
        data["month"] = timezone.localdate().strftime("%Y-%m")
    form = EncounterFilterForm(data, institutions=institutions)
    f = form.values()
    month = f["month"]
    rows = encounter_summary_for(
        scope=scope,
        month=month,
        institution_id=f["institution"].pk if f["institution"] else None,
        kind=f["kind"],
    )
    lines = _pivot(rows)
    totals = _pivot([{**r, "institution_id": 0, "institution_name": "", "level": ""} for r in rows])
    context = {
        "form": form,
        "month": month,
        "lines": lines,
        "totals": totals[0] if totals else None,
        "kinds": EncounterKind.choices,
        "sees_rows": sees_rows(scope),
    }
    return render(request, "encounters/summary.html", context)


@login_required
@require_GET
@translate_domain_errors
def encounter_detail(request: HttpRequest, encounter_id: int) -> HttpResponse:
    """One encounter (audited as encounter.read)."""
    scope = request_scope(request)
    encounter = encounter_get_for(scope=scope, pk=encounter_id, actor=request.user)
    patient = encounter.patient
    context = {
        "encounter": encounter,
        "patient": patient,
        "id_masked": idnumbers.mask(patient.id_number) if patient.id_number else "",
        "diagnosis_name": diagnosis_name(encounter.diagnosis_code),
        "link_patient": bool(scope.resident_village_ids) and patient.village_id in scope.resident_village_ids,
    }
    return render(request, "encounters/detail.html", context)


def _patient_for(scope: Scope, text: str) -> Patient | None:
    """A resident the scope looks after, by health-record number or ID number (exact)."""
    text = text.strip()
    if not text:
        return None
    number = idnumbers.normalize(text)
    qs = filter_residents(Patient.objects.filter(merged_into__isnull=True), scope)
    return qs.filter(Q(health_record_number=text) | Q(id_number=number)).select_related("village").first()


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def encounter_record_view(request: HttpRequest) -> HttpResponse:
    """Record a visit or stay at one's own institution (township and village staff)."""
    scope = request_scope(request)
    if not _records_visits(scope) or scope.membership is None:
        raise PermissionDenied(
            _("Only doctors and nurses of a township centre or village clinic record visits here.")
        )
    institution = scope.membership.institution
    departments = Department.objects.filter(institution=institution).order_by("code")
    initial = {"patient": request.GET.get("patient", "")[:20]}
    form = RecordForm(
        request.POST if request.method == "POST" else None, departments=departments, initial=initial
    )
    if not departments.exists():  # a village clinic has no departments
        del form.fields["department"]
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            patient = _patient_for(scope, data["patient"])
            if patient is None:
                form.add_error("patient", _("No resident you look after has this number."))
                status = 422
            else:
                try:
                    encounter, _created = encounter_record(
                        actor=request.user,
                        patient=patient,
                        institution=institution,
                        kind=data["kind"],
                        started_at=data["started_at"],
                        department=data.get("department"),
                        discharged_on=data["discharged_on"],
                        is_tcm=data["is_tcm"],
                        total_cost=data["total_cost"],
                        insurance_paid=data["insurance_paid"],
                        diagnosis_code=data["diagnosis_code"],
                    )
                except DomainError as exc:
                    if exc.status not in (409, 422):
                        raise
                    apply_domain_error(form, exc)
                    status = exc.status
                else:
                    messages.success(
                        request,
                        _("The %(kind)s of %(name)s was recorded.")
                        % {"kind": encounter.get_kind_display(), "name": patient.name},
                    )
                    return redirect("encounters:list")
        else:
            status = 422
    context = {"form": form, "institution": institution}
    return render(request, "encounters/record.html", context, status=status)
