"""Pages: the village doctor's worklist, a resident's chronic page, the follow-up, elderly,
screening and enrolment forms, closing a registry entry, the one-click referral, registries,
elderly due lists, the office's overview per township and village, and the resident's own page
(a phone)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yigongti.core.access import Scope, request_scope
from yigongti.core.errors import DomainError
from yigongti.core.views import apply_domain_error, paginate, translate_domain_errors

from . import forms, selectors, services
from .choices import REGISTRIES, Classification, Programme, RiskLevel, SelfCareBand
from .models import Enrollment


def _staff(request: HttpRequest) -> Scope:
    scope = request_scope(request)
    if scope.membership is None or scope.self_patient_only or not scope.resident_village_ids:
        raise PermissionDenied(_("Your role may not open this page."))
    return scope


BOX_LABELS = {
    selectors.DUE_WEEK: gettext_lazy("Due this week"),
    selectors.OVERDUE: gettext_lazy("Overdue"),
    selectors.URGENT: gettext_lazy("Urgent"),
    selectors.ALL_OPEN: gettext_lazy("All open"),
}


@login_required
@require_GET
@translate_domain_errors
def worklist(request: HttpRequest) -> HttpResponse:
    """Due this week, overdue, urgent: one click to record."""
    scope = request_scope(request)
    if scope.self_patient_only:
        return redirect("chronic:me")
    if scope.is_oversight or not scope.resident_village_ids:
        return redirect("chronic:overview")
    box = request.GET.get("box") or selectors.DUE_WEEK
    if box not in BOX_LABELS:
        box = selectors.DUE_WEEK
    programme = request.GET.get("programme", "")
    if programme not in Programme.values:
        programme = ""
    rows = selectors.task_list_for(scope=scope, box=box, programme=programme)
    counts = selectors.task_counts_for(scope=scope)
    page = paginate(request, rows)
    entries = {
        (e.patient_id, e.programme): e.pk
        for e in Enrollment.objects.filter(
            patient_id__in=[t.patient_id for t in page], programme__in=REGISTRIES, is_active=True
        )
    }
    for t in page:
        t.enrollment_id = entries.get((t.patient_id, t.programme))
    context = {
        "page_obj": page,
        "box": box,
        "boxes": [(k, str(v), counts[k]) for k, v in BOX_LABELS.items()],
        "programme": programme,
        "programmes": Programme.choices,
        "today": timezone.localdate(),
    }
    return render(request, "chronic/worklist.html", context)


@login_required
@require_GET
@translate_domain_errors
def patient(request: HttpRequest, patient_id: int) -> HttpResponse:
    scope = _staff(request)
    record = selectors.record_for(scope=scope, patient_id=patient_id, actor=request.user)
    enrolled = {e.programme for e in record.enrollments}
    age = record.patient.age_on(timezone.localdate()) or 0
    context = {
        "record": record,
        "age": age,
        "may_enrol": any(p not in enrolled for p in REGISTRIES),
        "referable": (Classification.URGENT, Classification.REFER),
    }
    return render(request, "chronic/patient.html", context)


def _form_page(
    request: HttpRequest,
    form: Any,
    template: str,
    context: dict[str, Any],
    run: Any,
    done: str,
    done_kwargs: dict[str, Any],
) -> HttpResponse:
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                run(form.cleaned_data)
            except DomainError as exc:
                if exc.status in (403, 404):
                    raise
                apply_domain_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("Saved."))
                return redirect(done, **done_kwargs)
    return render(request, template, {**context, "form": form}, status=status)


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if v is not None else None) for k, v in data.items()}


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def follow_up(request: HttpRequest, enrollment_id: int) -> HttpResponse:
    """高血压 / 2型糖尿病患者随访服务记录表."""
    scope = _staff(request)
    entry = selectors.enrollment_get_for(scope=scope, enrollment_id=enrollment_id)
    initial = {"visit_date": timezone.localdate(), "mode": "clinic", "adherence": "regular"}
    form = forms.FollowUpForm(request.POST or None, initial=initial)
    saved: dict[str, Any] = {}

    def run(data: dict[str, Any]) -> None:
        for key in ("smoking_per_day", "drinking_per_day", "exercise_per_week"):
            data[key] = data[key] or 0
        saved["row"] = services.follow_up_record(actor=request.user, enrollment=entry, **_clean(data))

    response = _form_page(
        request,
        form,
        "chronic/follow_up.html",
        {"entry": entry, "patient": entry.patient},
        run,
        "chronic:patient",
        {"patient_id": entry.patient_id},
    )
    row = saved.get("row")
    if row is not None and row.classification in (Classification.URGENT, Classification.REFER):
        messages.warning(
            request,
            _("%(c)s: refer the patient with one click below.") % {"c": row.get_classification_display()},
        )
    return response


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def elderly(request: HttpRequest, patient_id: int) -> HttpResponse:
    scope = _staff(request)
    resident = selectors.patient_for(scope=scope, patient_id=patient_id)
    form = forms.ElderlyForm(request.POST or None, initial={"service_date": timezone.localdate()})

    def run(data: dict[str, Any]) -> None:
        services.elderly_service_record(actor=request.user, patient=resident, **data)

    context = {"patient": resident, "bands": SelfCareBand.choices}
    return _form_page(
        request,
        form,
        "chronic/elderly_form.html",
        context,
        run,
        "chronic:patient",
        {"patient_id": patient_id},
    )


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def screening(request: HttpRequest, patient_id: int) -> HttpResponse:
    scope = _staff(request)
    resident = selectors.patient_for(scope=scope, patient_id=patient_id)
    form = forms.ScreeningForm(request.POST or None, initial={"screened_on": timezone.localdate()})

    def run(data: dict[str, Any]) -> None:
        services.screening_record(actor=request.user, patient=resident, **data)

    return _form_page(
        request,
        form,
        "chronic/screening_form.html",
        {"patient": resident},
        run,
        "chronic:patient",
        {"patient_id": patient_id},
    )


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def enrol(request: HttpRequest, patient_id: int) -> HttpResponse:
    scope = _staff(request)
    resident = selectors.patient_for(scope=scope, patient_id=patient_id)
    form = forms.EnrollForm(request.POST or None)

    def run(data: dict[str, Any]) -> None:
        services.enrollment_create(actor=request.user, patient=resident, **data)

    return _form_page(
        request,
        form,
        "chronic/enrol_form.html",
        {"patient": resident},
        run,
        "chronic:patient",
        {"patient_id": patient_id},
    )


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def close(request: HttpRequest, enrollment_id: int) -> HttpResponse:
    """Take the resident off the register; her family-doctor contract's group follows."""
    scope = _staff(request)
    entry = selectors.enrollment_get_for(scope=scope, enrollment_id=enrollment_id)
    form = forms.CloseForm(request.POST or None)

    def run(data: dict[str, Any]) -> None:
        services.enrollment_close(actor=request.user, enrollment=entry, reason=data["reason"])

    return _form_page(
        request,
        form,
        "chronic/close_form.html",
        {"patient": entry.patient, "entry": entry},
        run,
        "chronic:patient",
        {"patient_id": entry.patient_id},
    )


@login_required
@require_POST
@translate_domain_errors
def refer(request: HttpRequest, follow_up_id: int) -> HttpResponse:
    """The one-click referral: a draft pre-filled with the finding, opened for checking."""
    scope = _staff(request)
    row = selectors.follow_up_get_for(scope=scope, follow_up_id=follow_up_id)
    try:
        referral = services.referral_from_follow_up(actor=request.user, follow_up=row)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, str(exc.message))
        return redirect("chronic:patient", patient_id=row.patient_id)
    messages.success(request, _("A draft referral was written with the readings: check it and submit."))
    return redirect("referrals:detail", referral_id=referral.pk)


@login_required
@require_GET
@translate_domain_errors
def registries(request: HttpRequest) -> HttpResponse:
    scope = _staff(request)
    programme = request.GET.get("programme", "")
    programme = programme if programme in REGISTRIES else ""
    risk = request.GET.get("risk_level", "")
    risk = risk if risk in RiskLevel.values else ""
    q = request.GET.get("q", "").strip()[:40]
    rows = selectors.enrollment_list_for(scope=scope, programme=programme, risk_level=risk, q=q)
    context = {
        "page_obj": paginate(request, rows),
        "programme": programme,
        "risk_level": risk,
        "q": q,
        "programmes": [(p, Programme(p).label) for p in REGISTRIES],
        "risks": RiskLevel.choices,
    }
    return render(request, "chronic/registries.html", context)


@login_required
@require_GET
@translate_domain_errors
def elderly_due(request: HttpRequest) -> HttpResponse:
    """Due lists per village: residents aged 65 or over whose annual service is open."""
    scope = _staff(request)
    rows = selectors.elderly_due_for(scope=scope)
    return render(
        request,
        "chronic/elderly_due.html",
        {"page_obj": paginate(request, rows), "today": timezone.localdate()},
    )


@login_required
@require_GET
@translate_domain_errors
def overview(request: HttpRequest) -> HttpResponse:
    """Counts per township and village: the office's and the bureau's view (no personal rows)."""
    scope = request_scope(request)
    if scope.membership is None or scope.self_patient_only:
        raise PermissionDenied(_("Your role may not open this page."))
    rows = selectors.village_counts_for(scope=scope)
    keys = ("hypertension", "diabetes", "week", "overdue", "urgent", "elderly_served")
    totals = {k: sum(r[k] for r in rows) for k in keys}
    return render(request, "chronic/overview.html", {"rows": rows, "totals": totals})


@login_required
@require_GET
@translate_domain_errors
def me(request: HttpRequest) -> HttpResponse:
    """The resident's own registry entries, plan (due tasks) and follow-up results."""
    scope = request_scope(request)
    if not scope.self_patient_only:
        raise PermissionDenied(_("This page is for residents."))
    mine = selectors.my_patient(scope=scope)
    record = selectors.record_for(scope=scope, patient_id=mine.pk, actor=request.user) if mine else None
    return render(request, "chronic/me.html", {"record": record})
