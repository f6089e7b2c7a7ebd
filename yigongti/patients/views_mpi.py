"""Master patient index pages: the registration desk with live matching, the review queue, merges.

Registrars (staff who may write at a member institution) register residents at their active
institution and, while they type, see which residents the index would consider the same person
(masked, nothing written). The consortium office, the index's steward, works the review queue:
both records side by side (opening one is audited), "same person" merges, "different people" is
remembered, and a merge can be undone from the review or from the merge history.

Writes go through ``matching.services`` and reads through ``matching.selectors``; a domain error
becomes a form error beside its field, a message, or the translated 403/404 page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yigongti.core import idnumbers
from yigongti.core.access import Scope, request_scope
from yigongti.core.errors import Conflict, InvalidInput
from yigongti.core.views import apply_domain_error, paginate, translate_domain_errors
from yigongti.institutions.choices import InstitutionKind
from yigongti.institutions.models import Institution

from .forms import RegistrationForm, village_choices
from .matching.engine import Candidate
from .matching.merging import patients_unmerge, review_decide
from .matching.selectors import (
    match_preview_for,
    merge_list_for,
    require_registrar,
    require_steward,
    review_counts_for,
    review_get_for,
    review_list_for,
)
from .matching.services import Registered, registration_create
from .models import Decision, IdProblem, Patient, Registration, ReviewStatus

#: Candidates below this match probability are not shown while typing: they are not "likely",
#: and showing every namesake's masked data to a desk would tell it nothing useful.
MIN_SHOWN = 0.01

FIELD_LABELS: dict[str, Any] = {
    "id_number": gettext_lazy("ID number"),
    "name": gettext_lazy("Name"),
    "birth_date": gettext_lazy("Birth date"),
    "phone": gettext_lazy("Phone"),
    "village": gettext_lazy("Village clinic"),
    "sex": gettext_lazy("Sex"),
}

LEVEL_LABELS: dict[str, Any] = {
    "exact": pgettext_lazy("match level", "identical"),
    "near": pgettext_lazy("match level", "nearly identical"),
    "conflict": pgettext_lazy("match level", "conflicting"),
    "pinyin": pgettext_lazy("match level", "same pinyin"),
    "similar": pgettext_lazy("match level", "similar pinyin"),
    "different": pgettext_lazy("match level", "different"),
    "swap": pgettext_lazy("match level", "day and month swapped"),
    "null": pgettext_lazy("match level", "missing on one side"),
}

#: Where a level means something more precise for one field.
FIELD_LEVEL_LABELS: dict[tuple[str, str], Any] = {
    ("id_number", "near"): pgettext_lazy("match level", "one character differs"),
    ("birth_date", "near"): pgettext_lazy("match level", "one day apart"),
}

#: Why the matcher would not link a pair on its own (``engine.GUARDS``; ``sex_different`` is no
#: longer raised but stays readable in explanations stored before).
GUARD_LABELS: dict[str, Any] = {
    "id_conflict": gettext_lazy("Both ID numbers are valid and they differ"),
    "sex_different": gettext_lazy("The sexes differ"),
    "name_different": gettext_lazy("The names differ (not only in how they are written)"),
    "birth_different": gettext_lazy("The birth dates are far apart"),
    "moved_unconfirmed": gettext_lazy("Different villages, and neither the ID number nor the phone agrees"),
}


def guard_labels(guards: list[str] | tuple[str, ...] | None) -> list[Any]:
    return [GUARD_LABELS.get(g, g) for g in guards or ()]


DECISION_LABELS: dict[str, Any] = {
    Decision.LINKED: gettext_lazy("Will be linked to an existing resident"),
    Decision.REVIEW: gettext_lazy("Needs review by a person"),
    Decision.NEW: gettext_lazy("A new resident record will be filed"),
}


# --- small helpers --------------------------------------------------------------------------


def percent(probability: float) -> str:
    """A match probability as a percentage that never rounds a doubt away (99.96% is not 100%)."""
    value = probability * 100
    if probability >= 1:
        return "100%"
    if value >= 99.95:
        return ">99.9%"
    if 0 < value < 0.1:
        return "<0.1%"
    return f"{value:.1f}%"


def signed(weight: float) -> str:
    """A weight with its sign (a typographic minus); no sign when it rounds to nothing."""
    if abs(weight) < 0.05:
        return "0.0"
    return f"{weight:+.1f}".replace("-", "−")


def explained_fields(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each compared field with its translated name and level, and its weight (+ for, − against)."""
    rows = []
    for f in fields:
        field, level, weight = f.get("field", ""), f.get("level", ""), float(f.get("weight", 0.0))
        rows.append(
            {
                "field": field,
                "label": FIELD_LABELS.get(field, field),
                "level": level,
                "level_label": FIELD_LEVEL_LABELS.get((field, level)) or LEVEL_LABELS.get(level, level),
                "weight": signed(weight),
                "tone": "ok" if weight > 0 else "err" if weight < 0 else "",
            }
        )
    return rows


def _village_name(patient: Patient) -> str:
    village = patient.village
    return (village.short_name or village.name) if village is not None else ""


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    ok = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and ok else ""


def _require_registrar(request: HttpRequest) -> Scope:
    scope = request_scope(request)
    if scope.membership is None:
        raise PermissionDenied(_("Your role may not open this page."))
    require_registrar(scope)
    return scope


def _require_steward(request: HttpRequest) -> Scope:
    scope = request_scope(request)
    if scope.membership is None:
        raise PermissionDenied(_("Your role may not open this page."))
    require_steward(scope)
    return scope


# --- the registration desk ------------------------------------------------------------------


def _registration_villages(scope: Scope) -> QuerySet[Institution]:
    """Every village clinic of the consortium: a resident seen at the county hospital or a
    township centre may live in any of them. Clinic names are a public directory, not personal
    rows, so this needs no resident scope."""
    if scope.consortium_id is None:
        return Institution.objects.none()
    return Institution.objects.filter(kind=InstitutionKind.VILLAGE_CLINIC, consortium_id=scope.consortium_id)


def _registration_form(request: HttpRequest, scope: Scope) -> RegistrationForm:
    villages = village_choices(_registration_villages(scope))
    return RegistrationForm(request.POST if request.method == "POST" else None, villages=villages)


def _field_label(form: RegistrationForm, field: str | None) -> str:
    return str(form.fields[field].label) if field and field in form.fields else ""


def _candidate(candidate: Candidate, patient: Patient) -> dict[str, Any]:
    explanation = candidate.scored.explanation()
    return {
        "name": patient.name,
        "sex": patient.get_sex_display(),
        "birth_date": patient.birth_date,
        "id_masked": idnumbers.mask(patient.id_number) if patient.id_number else "",
        "village": _village_name(patient),
        "probability": percent(candidate.scored.probability),
        "weight": signed(explanation["weight"]),
        "fields": explained_fields(explanation["fields"]),
        "name_frequency_adjustment": explanation["name_frequency_adjustment"],
        "guards": guard_labels(explanation["guards"]),
    }


def _preview_context(scope: Scope, form: RegistrationForm) -> dict[str, Any]:
    """What the match panel shows for the form as typed so far (a hint, errors, or matches)."""
    if not str(form.data.get("name", "")).strip():
        return {"state": "hint"}
    if not form.is_valid():
        errors = [(_field_label(form, f), e) for f, errs in form.errors.items() for e in errs]
        return {"state": "invalid", "errors": errors}
    try:
        preview = match_preview_for(scope=scope, entry=form.entry())
    except InvalidInput as exc:
        return {"state": "invalid", "errors": [(_field_label(form, exc.field), str(exc.message))]}
    result = preview.result
    shown = [
        _candidate(c, preview.patients[c.patient_id])
        for c in result.candidates
        if c.scored.probability >= MIN_SHOWN and c.patient_id in preview.patients
    ]
    return {
        "state": "ready",
        "decision": result.decision,
        "decision_label": DECISION_LABELS.get(result.decision, result.decision),
        "candidates": shown,
        "config_version": result.config.version,
    }


def _report(request: HttpRequest, done: Registered) -> None:
    """Say what the registration did: linked, sent to review or filed, and any ID problem."""
    patient, registration = done.patient, done.registration
    names = {"name": patient.name, "number": patient.health_record_number or ""}
    if not done.created:
        messages.info(
            request,
            _("This local record number was already registered with the same details; nothing was changed."),
        )
    elif done.decision == Decision.LINKED:
        messages.success(request, _("Linked to the existing resident %(name)s.") % names)
    elif done.decision == Decision.REVIEW and registration.reviews.exists():  # none if all were non-matches
        messages.warning(
            request,
            _(
                "%(name)s was filed as a new resident and sent to the consortium office for review: "
                "they may be the same person as an existing resident."
            )
            % names,
        )
    else:
        messages.success(request, _("New resident %(name)s was filed.") % names)
    if patient.health_record_number:
        messages.info(request, _("Health record number: %(number)s.") % names)
    else:
        messages.info(
            request,
            _("No health record number yet: it is given once the village clinic of residence is known."),
        )
    if registration.id_problem == IdProblem.CHECK:
        messages.warning(
            request,
            _(
                "The ID number's check character is wrong: "
                "it was flagged and not used as a verified identity."
            ),
        )
    elif registration.id_problem == IdProblem.FORMAT:
        messages.warning(
            request,
            _("What was entered is not an ID number: it was kept as entered and not used for matching."),
        )


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def register(request: HttpRequest) -> HttpResponse:
    """Register a resident at the active membership's institution (audited as patient.register)."""
    scope = _require_registrar(request)
    if scope.membership is None:  # refused above already; this tells the type checker
        raise PermissionDenied
    institution = scope.membership.institution
    form = _registration_form(request, scope)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                done = registration_create(actor=request.user, institution=institution, entry=form.entry())
            except (InvalidInput, Conflict) as exc:
                apply_domain_error(form, exc)
                status = exc.status
            else:
                _report(request, done)
                return redirect("patients:register")
        else:
            status = 422
    context = {
        "form": form,
        "institution": institution,
        "preview": _preview_context(scope, form) if form.is_bound else {"state": "hint"},
    }
    return render(request, "patients/register.html", context, status=status)


@login_required
@require_POST
@translate_domain_errors
def register_match(request: HttpRequest) -> HttpResponse:
    """The match panel for what is typed so far (htmx); writes nothing. Always 200, so that
    htmx swaps a validation hint in like any other answer."""
    scope = _require_registrar(request)
    form = _registration_form(request, scope)
    return render(request, "patients/_partials/match_panel.html", {"preview": _preview_context(scope, form)})


# --- the review queue -----------------------------------------------------------------------

STATUS_ALL = "all"


def _status_tabs(counts: dict[str, int], current: str) -> list[dict[str, Any]]:
    tabs = [
        {"value": str(value), "label": label, "count": counts.get(value, 0)}
        for value, label in ReviewStatus.choices
    ]
    tabs.append({"value": STATUS_ALL, "label": _("All"), "count": sum(counts.values())})
    for tab in tabs:
        tab["current"] = tab["value"] == current
    return tabs


@login_required
@require_GET
@translate_domain_errors
def review_list(request: HttpRequest) -> HttpResponse:
    """Possible duplicates, the most likely first, by status (open by default)."""
    scope = _require_steward(request)
    status = request.GET.get("status", ReviewStatus.OPEN)
    if status not in (*ReviewStatus.values, STATUS_ALL):
        status = ReviewStatus.OPEN
    rows = review_list_for(scope=scope, status="" if status == STATUS_ALL else status)
    page = paginate(request, rows)
    context = {
        "page_obj": page,
        "rows": [{"review": r, "probability": percent(r.probability)} for r in page.object_list],
        "tabs": _status_tabs(review_counts_for(scope=scope), status),
        "status": status,
    }
    return render(request, "patients/review_list.html", context)


@login_required
@require_GET
@translate_domain_errors
def review_count(request: HttpRequest) -> HttpResponse:
    """The open-review count for the navigation badge (loaded by htmx after the page)."""
    scope = _require_steward(request)
    count = review_counts_for(scope=scope).get(ReviewStatus.OPEN, 0)
    return render(request, "patients/_partials/review_count.html", {"count": count})


def _display(patient: Patient, field: str) -> str:
    if field == "sex":
        return str(patient.get_sex_display()) if patient.sex else ""
    if field == "birth_date":
        return patient.birth_date.isoformat() if patient.birth_date else ""
    if field == "village_id":
        return _village_name(patient)
    return str(getattr(patient, field) or "")


COMPARED_ROWS: tuple[tuple[str, Any], ...] = (
    ("name", gettext_lazy("Name")),
    ("sex", gettext_lazy("Sex")),
    ("birth_date", gettext_lazy("Birth date")),
    ("id_number", gettext_lazy("ID number")),
    ("phone", gettext_lazy("Phone")),
    ("village_id", gettext_lazy("Village clinic")),
    ("address", gettext_lazy("Address")),
)


def _comparison(left: Patient, right: Patient, differences: dict[str, bool]) -> list[dict[str, Any]]:
    """One row per compared field. ``diff`` when both sides have a value and they differ; ``gap``
    when one side has none (a missing phone is no evidence either way, so it is not flagged as a
    difference)."""
    rows = []
    for field, label in COMPARED_ROWS:
        a, b = _display(left, field), _display(right, field)
        state = "same"
        if differences.get(field, a != b):
            state = "diff" if a and b else "gap"
        rows.append({"field": field, "label": label, "left": a, "right": b, "state": state})
    return rows


def _registration_rows(registrations: list[Registration]) -> list[dict[str, Any]]:
    return [
        {
            "registration": r,
            "institution": r.institution.short_name or r.institution.name,
            "id_flag": r.get_id_problem_display() if r.id_problem else "",
        }
        for r in registrations
    ]


@login_required
@require_GET
@translate_domain_errors
def review_detail(request: HttpRequest, review_id: int) -> HttpResponse:
    """Both residents side by side with the matcher's explanation (audited as patient.review_read)."""
    scope = _require_steward(request)
    view = review_get_for(scope=scope, review_id=review_id, actor=request.user)
    review = view.review
    explanation = review.explanation or {}
    context = {
        "review": review,
        "left": view.left.patient,
        "right": view.right.patient,
        "rows": _comparison(view.left.patient, view.right.patient, view.differences),
        "left_registrations": _registration_rows(view.left.registrations),
        "right_registrations": _registration_rows(view.right.registrations),
        "fields": explained_fields(view.fields),
        "probability": percent(review.probability),
        "weight": signed(float(explanation.get("weight", 0.0))),
        "name_frequency_adjustment": signed(float(explanation.get("name_frequency_adjustment", 0.0))),
        "guards": guard_labels(explanation.get("guards")),
        "merge": view.merge,
        "is_open": review.status == ReviewStatus.OPEN,
    }
    return render(request, "patients/review_detail.html", context)


@login_required
@require_POST
@translate_domain_errors
def review_decide_view(request: HttpRequest, review_id: int) -> HttpResponse:
    """ "Same person" merges the new resident into the candidate; "different people" is remembered."""
    _require_steward(request)
    decision = request.POST.get("decision", "")
    if decision not in ("same", "different"):
        raise InvalidInput(_("Choose same person or different people."), field="decision")
    try:
        review = review_decide(actor=request.user, review_id=review_id, same=decision == "same")
    except Conflict as exc:
        messages.error(request, str(exc.message))
        return redirect("patients:review_detail", review_id=review_id)
    names = {"new": review.patient.name, "candidate": review.candidate.name}
    if decision == "same":
        messages.success(request, _("Merged: %(new)s is now part of the record of %(candidate)s.") % names)
    else:
        messages.success(
            request,
            _("%(new)s and %(candidate)s are recorded as different people and will not be proposed again.")
            % names,
        )
    return redirect("patients:reviews")


# --- merges ---------------------------------------------------------------------------------


@login_required
@require_GET
@translate_domain_errors
def merge_list(request: HttpRequest) -> HttpResponse:
    """Every merge, newest first, with an undo button for those still in force."""
    scope = _require_steward(request)
    page = paginate(request, merge_list_for(scope=scope).select_related("undone_by"))
    return render(request, "patients/merge_list.html", {"page_obj": page})


@login_required
@require_POST
@translate_domain_errors
def merge_undo(request: HttpRequest, merge_id: int) -> HttpResponse:
    """Undo a merge exactly (audited as patient.unmerge); back to where the button was."""
    _require_steward(request)
    try:
        merged = patients_unmerge(actor=request.user, merge_id=merge_id)
    except Conflict as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request, _("The merge was undone: %(name)s is a separate resident again.") % {"name": merged.name}
        )
    return redirect(_safe_next(request) or "patients:merges")


__all__ = [
    "merge_list",
    "merge_undo",
    "register",
    "register_match",
    "review_count",
    "review_decide_view",
    "review_detail",
    "review_list",
]
