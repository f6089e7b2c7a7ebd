"""Referral pages: worklists per role, the referral form with the patient lookup, one referral
with its slip, timeline and next moves, the printable slip, attachments, the bed board, the
follow-up tasks and the alert banner (polled by htmx)."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yigongti.core import idnumbers
from yigongti.core.access import Scope, request_scope
from yigongti.core.errors import Conflict, DomainError, InvalidInput
from yigongti.core.views import apply_domain_error, page_or_partial, paginate, translate_domain_errors
from yigongti.institutions.choices import Level
from yigongti.institutions.models import Institution

from . import diagnoses, forms, lookups, services
from .choices import AWAITING, Status, TaskStatus
from .selectors import (
    BOX_ALL,
    BOX_INCOMING,
    BOX_OUTGOING,
    alert_list_for,
    attachment_get_for,
    bed_board_for,
    departments_of,
    doctors_of,
    follow_up_get_for,
    follow_up_list_for,
    patient_lookup_for,
    receivers_for,
    referral_base_for,
    referral_counts_for,
    referral_get_for,
    referral_list_for,
    timeline_for,
)
from .slip import slip_pdf


def _staff(request: HttpRequest) -> Scope:
    scope = request_scope(request)
    if scope.membership is None or scope.self_patient_only:
        raise PermissionDenied(_("Your role may not open this page."))
    return scope


def _clinician(request: HttpRequest) -> Scope:
    scope = _staff(request)
    if not scope.can_write or scope.is_oversight:
        raise PermissionDenied(_("Referrals are written by the clinical staff of a member institution."))
    return scope


def _receiver_choices(scope: Scope, exclude: int | None) -> list[tuple[str, str]]:
    levels = dict(Level.choices)
    return [
        (i.code, f"{i.name}（{levels.get(i.level, i.level)}）")
        for i in receivers_for(scope=scope)
        if i.pk != exclude
    ]


def _department_choices(institutions: list[Institution]) -> list[tuple[Any, str]]:
    return [
        (d.pk, f"{d.institution.short_name or d.institution.name} · {d.name}")
        for d in departments_of([i.pk for i in institutions]).order_by("institution__code", "code")
    ]


def _row(r: Any) -> dict[str, Any]:
    return {
        "r": r,
        "id_masked": idnumbers.mask(r.patient.id_number) if r.patient.id_number else "",
        "overdue": r.status in AWAITING and r.deadline_at and r.deadline_at < timezone.now(),
    }


# --- worklists --------------------------------------------------------------------------------


def _default_box(scope: Scope) -> str:
    if scope.is_oversight:
        return BOX_ALL
    if scope.membership and scope.membership.institution.level == Level.COUNTY:
        return BOX_INCOMING
    return BOX_OUTGOING


@login_required
@require_GET
@translate_domain_errors
def worklist(request: HttpRequest) -> HttpResponse:
    """Village doctor: what she sent and what came back; county department: what comes in;
    the referral service centre: everything, overdue and green channel first."""
    scope = request_scope(request)
    if scope.membership is None:
        raise PermissionDenied(_("Your role may not open this page."))
    if scope.self_patient_only:
        rows = referral_list_for(scope=scope).select_related("from_institution", "to_institution")
        return render(request, "referrals/mine.html", {"page_obj": paginate(request, rows)})
    if scope.role == "health_bureau":
        counts = referral_counts_for(scope=scope)
        status_rows = [(Status(s).label, n) for s, n in counts["by_status"].items()]
        return render(request, "referrals/counts.html", {"counts": counts, "status_rows": status_rows})
    box = request.GET.get("box") or _default_box(scope)
    if box not in (BOX_INCOMING, BOX_OUTGOING, BOX_ALL):
        box = _default_box(scope)
    form = forms.FilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v}
    qs = referral_list_for(scope=scope, box=box, **filters)
    page = paginate(request, qs)
    overdue = referral_list_for(scope=scope, box=box, overdue=True).count()
    tasks = follow_up_list_for(scope=scope).aggregate(n=Count("id"))["n"] if not scope.is_oversight else 0
    context = {
        "form": form,
        "box": box,
        "boxes": [(BOX_INCOMING, _("Incoming")), (BOX_OUTGOING, _("Outgoing")), (BOX_ALL, _("All"))],
        "page_obj": page,
        "rows": [_row(r) for r in page.object_list],
        "overdue": overdue,
        "tasks_open": tasks,
        "can_write": scope.can_write and not scope.is_oversight,
        "is_office": scope.is_oversight,
    }
    return page_or_partial(request, "referrals/worklist.html", "referrals/_partials/rows.html", context)


@login_required
@require_GET
@translate_domain_errors
def alerts(request: HttpRequest) -> HttpResponse:
    """The alert banner, polled every 30 seconds by the worklist."""
    return _alerts_partial(request, _staff(request))


def _alerts_partial(request: HttpRequest, scope: Scope) -> HttpResponse:
    rows = list(alert_list_for(scope=scope)[:20])
    return render(request, "referrals/_partials/alerts.html", {"alerts": rows})


@login_required
@require_POST
@translate_domain_errors
def alert_ack(request: HttpRequest, alert_id: int) -> HttpResponse:
    scope = _staff(request)
    alert = alert_list_for(scope=scope).filter(pk=alert_id).first()
    if alert is None:
        from django.http import Http404

        raise Http404
    with contextlib.suppress(Conflict):  # a colleague acknowledged it meanwhile: refresh either way
        services.alert_acknowledge(actor=request.user, alert=alert)
    return _alerts_partial(request, scope)


# --- the referral form ------------------------------------------------------------------------


def _referral_form(request: HttpRequest, scope: Scope) -> forms.ReferralForm:
    own = scope.membership.institution_id if scope.membership else None
    receivers = list(receivers_for(scope=scope).exclude(pk=own or 0))
    return forms.ReferralForm(
        request.POST if request.method == "POST" else None,
        receivers=_receiver_choices(scope, own),
        departments=_department_choices(receivers),
        initial={"patient": request.GET.get("patient")} if request.GET.get("patient", "").isdigit() else None,
    )


def _chosen_patient(request: HttpRequest, form: forms.ReferralForm) -> Any:
    raw = str(form.data.get("patient") or form.initial.get("patient") or "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    patient = lookups.Patient.objects.select_related("village").filter(pk=int(raw)).first()
    if patient is None or not services._patient_referable(services.Actor(request.user), patient):
        return None
    return patient


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def new(request: HttpRequest) -> HttpResponse:
    scope = _clinician(request)
    form = _referral_form(request, scope)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                referral = services.referral_create(
                    actor=request.user,
                    patient=lookups.patient_by_id(data["patient"]),
                    to_institution=lookups.institution_by_code(scope, data["to_institution"]),
                    to_department=lookups.department_by_id(data["to_department"]),
                    urgency=data["urgency"],
                    green_channel=lookups.green_by_code(data["green_channel"]),
                    diagnosis_code=data["diagnosis_code"],
                    diagnosis_name=data["diagnosis_name"],
                    history=data["history"],
                    treatment=data["treatment"],
                    reason=lookups.reason_by_code(data["reason"]),
                    reason_note=data["reason_note"],
                    slot=lookups.slot_by_id(scope, data.get("slot")),
                    submit=request.POST.get("submit") == "1",
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("Referral %(number)s was saved.") % {"number": referral.number})
                return redirect("referrals:detail", referral_id=referral.pk)
        else:
            status = 422
    context = {
        "form": form,
        "lookup": forms.LookupForm(),
        "patient": _chosen_patient(request, form),
        "icd10": diagnoses.search("", 200),
        "institution": scope.membership.institution if scope.membership else None,
    }
    return render(request, "referrals/new.html", context, status=status)


@login_required
@require_GET
@translate_domain_errors
def slots(request: HttpRequest) -> HttpResponse:
    """The appointment picker of the referral form (htmx): open slots at the chosen receiver,
    those reserved for referrals included. Always 200, so htmx swaps a hint in as well."""
    scope = _clinician(request)
    code = request.GET.get("to_institution", "")
    rows: list[Any] = []
    hint = _("Choose the receiving institution to see its appointments.")
    if code:
        try:
            institution = lookups.institution_by_code(scope, code)
            raw = request.GET.get("to_department", "")
            department = (
                lookups.department_by_id(int(raw))
                if raw.isascii() and raw.isdigit() and len(raw) < 10
                else None
            )
            rows = lookups.open_slots(scope, institution, department)
            hint = (
                "" if rows else _("No open appointment in the next two weeks; the receiver will arrange one.")
            )
        except DomainError as exc:
            hint = str(exc.message)
    chosen = request.GET.get("slot", "")
    return render(request, "referrals/_partials/slots.html", {"rows": rows, "hint": hint, "chosen": chosen})


@login_required
@require_GET
@translate_domain_errors
def patients(request: HttpRequest) -> HttpResponse:
    """The patient lookup beside the referral form (htmx): own residents by name, pinyin or
    number; the master patient index by name with birth date or ID number (masked)."""
    scope = _clinician(request)
    form = forms.LookupForm(request.GET)
    found: list[Any] = []
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            found = patient_lookup_for(
                scope=scope,
                q=data["q"],
                name=data["name"],
                birth_date=data["birth_date"],
                id_number=data["id_number"],
            )
        except DomainError as exc:
            error = str(exc.message)
    else:
        error = " ".join(str(e) for errs in form.errors.values() for e in errs)
    rows = [{"p": p, "id_masked": idnumbers.mask(p.id_number) if p.id_number else ""} for p in found]
    return render(
        request,
        "referrals/_partials/patients.html",
        {"rows": rows, "error": error, "asked": bool(request.GET)},
    )


# --- one referral -----------------------------------------------------------------------------


def _action_forms(
    scope: Scope, referral: Any, actions: list[str], data: Any = None, which: str = ""
) -> dict[str, Any]:
    built: dict[str, Any] = {}
    to = referral.to_institution
    for action in actions:
        bound = data if action == which else None
        if action in ("accept", "assign"):
            built[action] = forms.AssignForm(
                bound,
                departments=_department_choices([to]),
                doctors=[
                    (s.pk, f"{s.name}{' · ' + s.department.name if s.department else ''}")
                    for s in doctors_of(to)
                ],
                prefix=action,
            )
        elif action == "redirect":
            receivers = list(receivers_for(scope=scope).exclude(pk=referral.from_institution_id))
            built[action] = forms.RedirectForm(
                bound,
                receivers=_receiver_choices(scope, referral.from_institution_id),
                departments=_department_choices(receivers),
                prefix=action,
            )
        elif action in ("reject", "cancel"):
            built[action] = forms.ReasonForm(bound, prefix=action)
        elif action == "start_care":
            built[action] = forms.CareForm(bound, prefix=action)
        elif action == "complete":
            built[action] = forms.CompleteForm(bound, prefix=action)
        elif action == "follow_up":
            built[action] = forms.NoteForm(bound, prefix=action)
        elif action == "attach":
            built[action] = forms.AttachForm(
                bound, getattr(data, "_files", None) if action == which else None, prefix=action
            )
        else:
            built[action] = forms.EmptyForm(bound, prefix=action)
    return built


ACTION_LABELS = {
    "submit": gettext_lazy("Submit"),
    "accept": gettext_lazy("Accept"),
    "reject": gettext_lazy("Reject"),
    "redirect": gettext_lazy("Redirect"),
    "assign": gettext_lazy("Assign department and doctor"),
    "arrive": gettext_lazy("Patient arrived"),
    "start_care": gettext_lazy("Start care"),
    "complete": gettext_lazy("Write the return slip"),
    "follow_up": gettext_lazy("Record the follow-up"),
    "cancel": gettext_lazy("Cancel the referral"),
    "attach": gettext_lazy("Attach a result"),
}


def _detail_context(
    request: HttpRequest, scope: Scope, referral: Any, bound: dict[str, Any] | None = None
) -> dict[str, Any]:
    actions = lookups.actions_for(request.user, scope, referral)
    action_forms = bound or _action_forms(scope, referral, actions)
    return {
        "r": referral,
        "patient": referral.patient,
        "id_masked": idnumbers.mask(referral.patient.id_number) if referral.patient.id_number else "",
        "timeline": timeline_for(referral),
        "attachments": [] if scope.self_patient_only else list(referral.attachments.all()),
        "follow_ups": list(referral.follow_ups.select_related("institution", "staff")),
        "actions": [
            {"name": a, "label": str(ACTION_LABELS.get(a, a)), "form": action_forms.get(a)} for a in actions
        ],
        "overdue": referral.is_overdue,
        "icd10": diagnoses.search("", 200) if "complete" in actions else [],
        "is_resident": scope.self_patient_only,
    }


@login_required
@require_GET
@translate_domain_errors
def detail(request: HttpRequest, referral_id: int) -> HttpResponse:
    scope = request_scope(request)
    if scope.membership is None:
        raise PermissionDenied(_("Your role may not open this page."))
    referral = referral_get_for(scope=scope, referral_id=referral_id, actor=request.user)
    return render(request, "referrals/detail.html", _detail_context(request, scope, referral))


def _run(request: HttpRequest, scope: Scope, referral: Any, action: str, data: dict[str, Any]) -> None:
    user = request.user
    if action == "submit":
        services.referral_submit(actor=user, referral=referral)
    elif action == "accept":
        services.referral_accept(
            actor=user,
            referral=referral,
            department=lookups.department_by_id(data.get("department"), "department"),
            doctor=lookups.staff_by_id(data.get("doctor")),
        )
    elif action == "assign":
        services.referral_assign(
            actor=user,
            referral=referral,
            department=lookups.department_by_id(data.get("department"), "department"),
            doctor=lookups.staff_by_id(data.get("doctor")),
        )
    elif action == "reject":
        services.referral_reject(actor=user, referral=referral, reason=data["reason"])
    elif action == "redirect":
        services.referral_redirect(
            actor=user,
            referral=referral,
            to_institution=lookups.institution_by_code(scope, data["to_institution"]),
            to_department=lookups.department_by_id(data.get("to_department")),
            note=data.get("note", ""),
        )
    elif action == "arrive":
        services.referral_arrive(actor=user, referral=referral)
    elif action == "start_care":
        services.referral_start_care(actor=user, referral=referral, mode=data["mode"])
    elif action == "complete":
        services.referral_complete(actor=user, referral=referral, **data)
    elif action == "follow_up":
        task = lookups.open_task(referral)
        if task is None:
            raise Conflict(_("This referral has no open follow-up task."))
        services.follow_up_record(actor=user, task=task, note=data["note"])
    elif action == "cancel":
        services.referral_cancel(actor=user, referral=referral, reason=data["reason"])
    elif action == "attach":
        services.attachment_add(
            actor=user, referral=referral, upload=data["file"], description=data["description"]
        )


@login_required
@require_POST
@translate_domain_errors
def act(request: HttpRequest, referral_id: int, action: str) -> HttpResponse:
    """One move from the detail page; errors are shown beside the form that caused them."""
    scope = _staff(request)
    referral = referral_base_for(scope=scope).filter(pk=referral_id).first()
    if referral is None or action not in ACTION_LABELS:
        from django.http import Http404

        raise Http404
    post = request.POST.copy()
    post._files = request.FILES  # type: ignore[attr-defined]
    built = _action_forms(scope, referral, [action], post, action)
    form = built[action]
    status = 422
    if form.is_valid():
        try:
            _run(request, scope, referral, action, form.cleaned_data)
        except DomainError as exc:
            if isinstance(exc, (InvalidInput, Conflict)) or exc.status in (403, 409, 422):
                apply_domain_error(form, exc)
                status = exc.status
            else:
                raise
        else:
            messages.success(request, _("Done: %(action)s.") % {"action": ACTION_LABELS[action]})
            if referral_base_for(scope=scope).filter(pk=referral_id).exists():
                return redirect("referrals:detail", referral_id=referral_id)
            return redirect("referrals:worklist")
    referral = referral_get_for(scope=scope, referral_id=referral_id, actor=request.user)
    actions = lookups.actions_for(request.user, scope, referral)
    forms_now = _action_forms(scope, referral, actions)
    forms_now[action] = form
    context = _detail_context(request, scope, referral, forms_now)
    context["open_action"] = action
    return render(request, "referrals/detail.html", context, status=status)


@login_required
@require_GET
@translate_domain_errors
def slip(request: HttpRequest, referral_id: int) -> HttpResponse:
    scope = request_scope(request)
    if scope.membership is None:
        raise PermissionDenied(_("Your role may not open this page."))
    referral = referral_get_for(scope=scope, referral_id=referral_id, actor=request.user)
    response = HttpResponse(slip_pdf(referral), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{referral.number}.pdf"'
    return response


@login_required
@require_GET
@translate_domain_errors
def attachment(request: HttpRequest, referral_id: int, attachment_id: int) -> Any:
    scope = _staff(request)
    found = attachment_get_for(
        scope=scope, referral_id=referral_id, attachment_id=attachment_id, actor=request.user
    )
    return FileResponse(found.file.open("rb"), content_type=found.content_type, filename=found.original_name)


# --- bed board and follow-ups -----------------------------------------------------------------


@login_required
@require_GET
@translate_domain_errors
def beds(request: HttpRequest) -> HttpResponse:
    scope = _staff(request)
    if scope.role == "health_bureau":
        raise PermissionDenied(_("The health bureau sees referral counts only."))
    code = request.GET.get("institution", "")
    institution = None
    choices: list[Institution] = []
    if scope.is_oversight:
        choices = list(
            Institution.objects.filter(pk__in=scope.institution_ids, departments__beds__gt=0)
            .distinct()
            .order_by("code")
        )
        institution = next((i for i in choices if i.code == code), None) or (
            scope.membership.institution if scope.membership else None
        )
    rows = bed_board_for(scope=scope, institution=institution)
    shown = institution or (scope.membership.institution if scope.membership else None)
    context = {"rows": rows, "institution": shown, "choices": choices, "may_edit": scope.can_write}
    return render(request, "referrals/beds.html", context)


@login_required
@require_POST
@translate_domain_errors
def bed_set(request: HttpRequest, department_id: int) -> HttpResponse:
    _staff(request)
    department = lookups.department_by_id(department_id, "department")
    form = forms.OccupancyForm(request.POST)
    if department is None or not form.is_valid():
        messages.error(request, _("Give the number of occupied beds."))
    else:
        try:
            services.occupancy_set(
                actor=request.user, department=department, occupied=form.cleaned_data["occupied"]
            )
        except InvalidInput as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Bed occupancy saved."))
    code = department.institution.code if department else ""
    return redirect(f"{reverse('referrals:beds')}?{urlencode({'institution': code})}")


@login_required
@require_GET
@translate_domain_errors
def follow_ups(request: HttpRequest) -> HttpResponse:
    scope = _staff(request)
    status = request.GET.get("status", TaskStatus.OPEN)
    if status not in TaskStatus.values:
        status = TaskStatus.OPEN
    page = paginate(request, follow_up_list_for(scope=scope, status=status))
    today = timezone.localdate()
    return render(
        request,
        "referrals/follow_ups.html",
        {
            "page_obj": page,
            "status": status,
            "statuses": TaskStatus.choices,
            "today": today,
            "may_record": scope.can_write and not scope.is_oversight,
            "form": forms.NoteForm(),
        },
    )


@login_required
@require_POST
@translate_domain_errors
def follow_up_record(request: HttpRequest, task_id: int) -> HttpResponse:
    scope = _staff(request)
    task = follow_up_get_for(scope=scope, task_id=task_id)
    form = forms.NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write what the follow-up found."))
    else:
        try:
            services.follow_up_record(actor=request.user, task=task, note=form.cleaned_data["note"])
        except (InvalidInput, Conflict) as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Follow-up recorded."))
    return redirect("referrals:follow_ups")
