"""Residents pages for the staff who look after villages, and a resident's own record.

The list shows masked ID numbers and is not audited row by row; opening one record goes through
``patient_get_for``, which writes the ``patient.read`` audit row.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from yigongti.core import idnumbers
from yigongti.core.access import Scope, request_scope
from yigongti.core.views import page_or_partial, paginate, translate_domain_errors
from yigongti.institutions.choices import Level
from yigongti.institutions.selectors import institution_list_for

from .forms import PatientFilterForm
from .models import Patient
from .selectors import household_members_for, my_record_for, patient_get_for, patient_list_for


def _require_village_care(request: HttpRequest) -> Scope:
    """Staff of a township centre or village clinic: the people who look after residents."""
    scope = request_scope(request)
    if scope.membership is None or scope.self_patient_only or not scope.resident_village_ids:
        raise PermissionDenied(_("Your role does not look after residents."))
    return scope


def record_context(scope: Scope, patient: Patient, *, masked: bool) -> dict[str, Any]:
    """What ``patients/_record.html`` shows: used by the record pages and the resident's home."""
    today = timezone.localdate()
    id_number = patient.id_number or ""
    return {
        "patient": patient,
        "age": patient.age_on(today),
        "id_display": idnumbers.mask(id_number) if masked and id_number else id_number,
        "members": [
            {"patient": m, "age": m.age_on(today)}
            for m in household_members_for(scope=scope, patient=patient)
        ],
        "link_members": not scope.self_patient_only,
    }


@login_required
@require_GET
@translate_domain_errors
def patient_list(request: HttpRequest) -> HttpResponse:
    scope = _require_village_care(request)
    villages = institution_list_for(scope=scope, level=Level.VILLAGE)
    form = PatientFilterForm(request.GET or None, villages=villages)
    f = form.values()
    rows = patient_list_for(scope=scope, q=f["q"])
    if f["village"] is not None:
        rows = rows.filter(village_id=f["village"].pk)
    page = paginate(request, rows)
    today = timezone.localdate()
    context = {
        "form": form,
        "page_obj": page,
        "show_village_filter": len(scope.resident_village_ids) > 1,
        "rows": [
            {
                "patient": p,
                "age": p.age_on(today),
                "id_masked": idnumbers.mask(p.id_number) if p.id_number else "",
            }
            for p in page.object_list
        ],
    }
    return page_or_partial(request, "patients/list.html", "patients/_partials/patient_results.html", context)


@login_required
@require_GET
@translate_domain_errors
def patient_detail(request: HttpRequest, health_record_number: str) -> HttpResponse:
    """One resident's record for the staff who look after them (audited as patient.read)."""
    scope = _require_village_care(request)
    patient = patient_get_for(
        scope=scope,
        health_record_number=health_record_number,
        actor=request.user,
        membership=scope.membership,
    )
    return render(request, "patients/detail.html", record_context(scope, patient, masked=False))


@login_required
@require_GET
@translate_domain_errors
def my_record(request: HttpRequest) -> HttpResponse:
    """The resident's own record (audited as patient.read)."""
    scope = request_scope(request)
    if not scope.self_patient_only:
        raise PermissionDenied(_("Only a resident has their own record here."))
    patient = my_record_for(scope=scope, actor=request.user)
    context: dict[str, Any] = {"patient": None}
    if patient is not None:
        context = record_context(scope, patient, masked=True)
    return render(request, "patients/my_record.html", context)
