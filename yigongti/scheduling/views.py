"""Appointment pages.

- staff: the sessions of their institution by day, a form to open one session or to generate a
  week or a month of them from a template, and the day list of a session with check-in, no-show
  and cancel buttons (htmx swaps the row) and a desk booking form;
- everyone in the consortium: find open slots at a hospital or centre and book (residents for
  themselves and their household; referring doctors reserved slots with "for a referral");
- residents and staff: their bookings, with cancel and reschedule.
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
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yigongti.core.access import Scope, request_scope
from yigongti.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from yigongti.core.views import (
    apply_domain_error,
    page_or_partial,
    paginate,
    require_staff_scope,
    translate_domain_errors,
    wants_partial,
)
from yigongti.institutions.choices import InstitutionKind, Level, Profession
from yigongti.institutions.models import Department, Institution, Staff
from yigongti.patients.models import Patient

from . import selectors, services
from .choices import BookingStatus, SessionStatus
from .forms import (
    BookingFilterForm,
    CancelForm,
    DeskBookingForm,
    FamilyBookingForm,
    GenerateForm,
    InstitutionPickForm,
    SessionForm,
    SlotSearchForm,
)
from .models import Booking, ClinicSession, Slot

DOCTOR_PROFESSIONS = [Profession.PHYSICIAN, Profession.TCM_PHYSICIAN, Profession.ASSISTANT_PHYSICIAN]


# --- helpers ----------------------------------------------------------------------------------


def _require_session_scope(request: HttpRequest) -> Scope:
    """Staff, the consortium office and the bureau see sessions; residents do not."""
    scope = request_scope(request)
    if scope.membership is None or scope.self_patient_only:
        raise PermissionDenied(_("Your role may not open this page."))
    return scope


def clinic_institutions(scope: Scope) -> QuerySet[Institution]:
    """The institutions in scope that hold clinics (county hospitals and township centres)."""
    return (
        Institution.objects.filter(pk__in=scope.institution_ids, level__in=[Level.COUNTY, Level.TOWNSHIP])
        .exclude(kind__in=[InstitutionKind.HEALTH_BUREAU, InstitutionKind.EMERGENCY_CENTRE])
        .order_by("code")
    )


def _picked(request: HttpRequest, institutions: QuerySet[Institution]) -> Institution | None:
    code = (request.GET.get("institution") or request.POST.get("institution") or "")[:12]
    if code:
        found = institutions.filter(code=code).first()
        if found is None:
            raise NotFound(_("No institution with this code in your scope."))
        return found
    return institutions.first() if institutions.count() == 1 else None


def _doctors(institution: Institution) -> QuerySet[Staff]:
    return (
        Staff.objects.filter(
            is_active=True,
            profession__in=DOCTOR_PROFESSIONS,
            institution__consortium_id=institution.consortium_id or 0,
        )
        .filter(Q(institution=institution) | Q(institution__level=Level.COUNTY))
        .select_related("institution")
        .order_by("institution__code", "name")
    )


def _date_param(request: HttpRequest, name: str, default: dt.date) -> dt.date:
    try:
        value = dt.date.fromisoformat((request.GET.get(name) or "")[:10])
    except ValueError:
        return default
    return selectors.clamp_date(value)


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    return target if target.startswith("/scheduling/") else fallback


# --- index ------------------------------------------------------------------------------------


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    scope = request_scope(request)
    if scope.self_patient_only:
        return redirect("scheduling:bookings")
    if scope.membership is None:
        raise PermissionDenied(_("Your role may not open this page."))
    return redirect("scheduling:sessions")


# --- sessions ---------------------------------------------------------------------------------


@login_required
@require_GET
@translate_domain_errors
def session_list(request: HttpRequest) -> HttpResponse:
    scope = _require_session_scope(request)
    institutions = clinic_institutions(scope)
    institution = _picked(request, institutions)
    today = timezone.localdate()
    date_from = _date_param(request, "date", today)
    try:
        days = max(1, min(int(request.GET.get("days") or 7), 31))
    except ValueError:
        days = 7
    rows = selectors.session_list_for(scope=scope, institution=institution, date_from=date_from, days=days)
    from .api import _with_counts

    page = paginate(request, _with_counts(rows), per_page=50)
    context = {
        "page_obj": page,
        "sessions": page.object_list,
        "institutions": institutions,
        "institution": institution,
        "date_from": date_from,
        "days": days,
        "previous": date_from - dt.timedelta(days=days),
        "next": date_from + dt.timedelta(days=days),
        "today": today,
        "can_manage": scope.can_write and scope.role in services.SESSION_ROLES and institutions.exists(),
    }
    return page_or_partial(
        request, "scheduling/session_list.html", "scheduling/_partials/session_table.html", context
    )


def _session_form_context(
    request: HttpRequest, scope: Scope, form_class: type[SessionForm] | type[GenerateForm]
) -> tuple[Institution | None, Any, dict[str, Any]]:
    scope.require_write()
    institutions = clinic_institutions(scope)
    if not institutions.exists():
        raise Forbidden(_("Only staff of a hospital or township centre manage clinic sessions."))
    institution = _picked(request, institutions)
    pick = InstitutionPickForm(
        initial={"institution": institution.code if institution else None}, institutions=institutions
    )
    form = None
    if institution is not None:
        departments = Department.objects.filter(institution=institution).order_by("code")
        data = request.POST if request.method == "POST" else None
        form = form_class(data, departments=departments, doctors=_doctors(institution))
    context = {"pick": pick, "form": form, "institution": institution, "several": institutions.count() > 1}
    return institution, form, context


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def session_new(request: HttpRequest) -> HttpResponse:
    scope = require_staff_scope(request)
    institution, form, context = _session_form_context(request, scope, SessionForm)
    status = 200
    if request.method == "POST" and form is not None and institution is not None:
        if form.is_valid():
            try:
                session = services.session_create(
                    actor=request.user,
                    institution=institution,
                    date=form.cleaned_data["date"],
                    **form.template(),
                )
            except (InvalidInput, Conflict) as exc:
                apply_domain_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("The clinic session was opened."))
                return redirect("scheduling:session_detail", session_id=session.pk)
        else:
            status = 422
    return render(request, "scheduling/session_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def session_generate(request: HttpRequest) -> HttpResponse:
    scope = require_staff_scope(request)
    institution, form, context = _session_form_context(request, scope, GenerateForm)
    status = 200
    if request.method == "POST" and form is not None and institution is not None:
        if form.is_valid():
            d = form.cleaned_data
            try:
                result = services.sessions_generate(
                    actor=request.user,
                    institution=institution,
                    first_date=d["first_date"],
                    last_date=d["last_date"],
                    weekdays=d["weekdays"],
                    **form.template(),
                )
            except (InvalidInput, Conflict) as exc:
                apply_domain_error(form, exc)
                status = exc.status
            else:
                messages.success(
                    request, _("%(count)d clinic sessions were opened.") % {"count": len(result.created)}
                )
                for day, reason in result.skipped:
                    messages.warning(
                        request, _("%(date)s skipped: %(reason)s") % {"date": day, "reason": reason}
                    )
                url = reverse("scheduling:sessions")
                return redirect(f"{url}?institution={institution.code}&date={d['first_date']}&days=31")
        else:
            status = 422
    elif form is not None and not form.is_bound:
        today = timezone.localdate()
        monday = today + dt.timedelta(days=7 - today.weekday())
        form.initial.update(first_date=monday, last_date=monday + dt.timedelta(days=27))
    return render(request, "scheduling/session_generate.html", context, status=status)


def _day_context(
    scope: Scope, session: ClinicSession, desk_form: DeskBookingForm | None = None
) -> dict[str, Any]:
    bookings = list(selectors.session_bookings(session))
    show_patients = selectors.sees_patients(scope, session)
    by_slot: dict[int, list[Booking]] = {}
    for b in bookings if show_patients else []:
        by_slot.setdefault(b.slot_id, []).append(b)
    lead = selectors.policy_for(session.institution).release_lead_hours
    now = timezone.now()
    slots = [
        {
            "slot": s,
            "bookings": by_slot.get(s.pk, []),
            "reserved_now": s.reserved_for_referral and now < s.released_at(lead),
            "future": s.starts_at > now,
        }
        for s in selectors.session_slots(session)
    ]
    counts = dict.fromkeys(BookingStatus.values, 0)
    for b in bookings:
        counts[b.status] += 1
    return {
        "session": session,
        "slots": slots,
        "counts": counts,
        "can_manage": scope.can_write
        and scope.role in services.SESSION_ROLES
        and scope.sees_institution(session.institution_id),
        "is_open": session.status == SessionStatus.OPEN,
        "desk_form": desk_form or DeskBookingForm(),
        "cancel_form": CancelForm(),
        "lead_hours": lead,
        "show_patients": show_patients,
    }


@login_required
@require_GET
@translate_domain_errors
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    scope = _require_session_scope(request)
    session = selectors.session_get_for(scope=scope, pk=session_id)
    return render(request, "scheduling/session_detail.html", _day_context(scope, session))


@login_required
@require_POST
@translate_domain_errors
def session_cancel(request: HttpRequest, session_id: int) -> HttpResponse:
    scope = require_staff_scope(request)
    session = selectors.session_get_for(scope=scope, pk=session_id)
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    services.session_cancel(actor=request.user, session=session, reason=reason)
    messages.success(request, _("The clinic session and its bookings were cancelled."))
    return redirect("scheduling:session_detail", session_id=session.pk)


@login_required
@require_POST
@translate_domain_errors
def session_book(request: HttpRequest, session_id: int) -> HttpResponse:
    """The desk: staff book a resident they know into a slot of this session."""
    scope = require_staff_scope(request)
    session = selectors.session_get_for(scope=scope, pk=session_id)
    form = DeskBookingForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            slot = selectors.slot_get_for(scope=scope, pk=_int(request.POST.get("slot")))
            if slot.session_id != session.pk:
                raise InvalidInput(_("Choose a slot of this session."), field="slot")
            patient = _patient_by_number(form.cleaned_data["health_record_number"])
            booking = services.booking_create(
                actor=request.user, slot=slot, patient=patient, for_referral=form.cleaned_data["for_referral"]
            )
        except DomainError as exc:
            if isinstance(exc, Forbidden):
                raise
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            status = exc.status
        else:
            messages.success(request, _("%(name)s was booked.") % {"name": booking.patient.name})
            return redirect("scheduling:session_detail", session_id=session.pk)
    return render(
        request, "scheduling/session_detail.html", _day_context(scope, session, form), status=status
    )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _patient_by_number(number: str) -> Patient:
    patient = Patient.objects.filter(health_record_number=number.strip(), merged_into__isnull=True).first()
    if patient is None:
        raise NotFound(_("No resident with this health record number."), field="health_record_number")
    return patient


# --- booking moves (htmx rows) ----------------------------------------------------------------


def _row_or_back(request: HttpRequest, booking: Booking, scope: Scope, error: str = "") -> HttpResponse:
    if wants_partial(request):
        booking = Booking.objects.select_related("patient", "slot", "booked_by").get(pk=booking.pk)
        context = {"b": booking, "can_manage": True, "error": error}
        return render(request, "scheduling/_partials/booking_row.html", context)
    if error:
        messages.error(request, error)
    fallback = reverse("scheduling:session_detail", args=[booking.slot.session_id])
    return redirect(_back(request, fallback))


def _move(request: HttpRequest, booking_id: int, action: str) -> HttpResponse:
    scope = request_scope(request)
    booking = selectors.booking_get_for(scope=scope, pk=booking_id)
    try:
        if action == "check_in":
            services.booking_check_in(actor=request.user, booking=booking)
        elif action == "no_show":
            services.booking_no_show(actor=request.user, booking=booking)
        else:
            form = CancelForm(request.POST)
            reason = form.cleaned_data["reason"] if form.is_valid() else ""
            services.booking_cancel(actor=request.user, booking=booking, reason=reason)
    except (Conflict, InvalidInput) as exc:
        return _row_or_back(request, booking, scope, str(exc.message))
    if not wants_partial(request):
        messages.success(request, _("Saved."))
    return _row_or_back(request, booking, scope)


@login_required
@require_POST
@translate_domain_errors
def booking_check_in(request: HttpRequest, booking_id: int) -> HttpResponse:
    return _move(request, booking_id, "check_in")


@login_required
@require_POST
@translate_domain_errors
def booking_no_show(request: HttpRequest, booking_id: int) -> HttpResponse:
    return _move(request, booking_id, "no_show")


@login_required
@require_POST
@translate_domain_errors
def booking_cancel(request: HttpRequest, booking_id: int) -> HttpResponse:
    return _move(request, booking_id, "cancel")


# --- finding and booking a slot ---------------------------------------------------------------


def _with_local_day(rows: Any) -> list[Slot]:
    """The slots, each with ``local_day``: its date in the county's time zone (for grouping)."""
    slots = list(rows)
    for s in slots:
        s.local_day = timezone.localdate(s.starts_at)
    return slots


def _search(request: HttpRequest, scope: Scope) -> dict[str, Any]:
    institutions = selectors.bookable_institutions_for(scope=scope).order_by("level", "code")
    code = (request.GET.get("institution") or "")[:12]
    institution = institutions.filter(code=code).first() if code else None
    departments = (
        Department.objects.filter(
            institution=institution,
            clinic_sessions__status=SessionStatus.OPEN,
            clinic_sessions__starts_at__gt=timezone.now(),
        )
        .distinct()
        .order_by("code")
        if institution
        else Department.objects.none()
    )
    staff = selectors.is_staff(scope)
    form = SlotSearchForm(
        request.GET or None, institutions=institutions, departments=departments, staff=staff
    )
    slots: list[Slot] = []
    page = None
    if form.is_bound and form.is_valid() and institution is not None:
        d = form.cleaned_data
        qs = selectors.slots_open_for(
            scope=scope,
            institution=institution,
            department=d.get("department"),
            start=d.get("start"),
            days=14,
            for_referral=bool(d.get("for_referral")),
        )
        page = paginate(request, qs, per_page=40)
        slots = _with_local_day(page.object_list)
    return {
        "form": form,
        "institution": institution,
        "slots": slots,
        "page_obj": page,
        "staff": staff,
        "for_referral": bool(form.is_bound and form.is_valid() and form.cleaned_data.get("for_referral")),
    }


@login_required
@require_GET
@translate_domain_errors
def book(request: HttpRequest) -> HttpResponse:
    scope = request_scope(request)
    if scope.membership is None:
        raise PermissionDenied(_("Your role may not open this page."))
    context = _search(request, scope)
    if scope.self_patient_only and context["institution"] is not None:
        context["paused_until"] = selectors.no_show_block_until(
            user=request.user, institution=context["institution"], patient=selectors.own_patient(scope)
        )
    return page_or_partial(request, "scheduling/book.html", "scheduling/_partials/slot_results.html", context)


def _booking_form(scope: Scope, data: Any) -> FamilyBookingForm | DeskBookingForm:
    if scope.self_patient_only:
        return FamilyBookingForm(data, family=selectors.family_for(scope=scope))
    return DeskBookingForm(data)


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def book_slot(request: HttpRequest, slot_id: int) -> HttpResponse:
    scope = request_scope(request)
    if scope.membership is None:
        raise PermissionDenied(_("Your role may not open this page."))
    slot = selectors.slot_get_for(scope=scope, pk=slot_id)
    form = _booking_form(scope, request.POST if request.method == "POST" else None)
    if isinstance(form, DeskBookingForm) and request.method == "GET":
        form.initial["for_referral"] = request.GET.get("for_referral") == "1"
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                if isinstance(form, FamilyBookingForm):
                    patient = services.patient_for_booking(
                        scope=scope, patient_id=form.cleaned_data["patient"]
                    )
                    for_referral = False
                else:
                    patient = _patient_by_number(form.cleaned_data["health_record_number"])
                    for_referral = form.cleaned_data["for_referral"]
                booking = services.booking_create(
                    actor=request.user, slot=slot, patient=patient, for_referral=for_referral
                )
            except (InvalidInput, Conflict, NotFound) as exc:
                apply_domain_error(form, exc)
                status = exc.status
            else:
                messages.success(
                    request,
                    _("Booked: %(name)s, %(when)s.")
                    % {
                        "name": booking.patient.name,
                        "when": timezone.localtime(slot.starts_at).strftime("%Y-%m-%d %H:%M"),
                    },
                )
                return redirect("scheduling:bookings")
    lead = selectors.policy_for(slot.session.institution).release_lead_hours
    context = {
        "slot": slot,
        "form": form,
        "reserved_now": slot.reserved_for_referral and timezone.now() < slot.released_at(lead),
    }
    return render(request, "scheduling/book_slot.html", context, status=status)


# --- bookings ---------------------------------------------------------------------------------


@login_required
@require_GET
@translate_domain_errors
def booking_list(request: HttpRequest) -> HttpResponse:
    scope = request_scope(request)
    if scope.membership is None:
        raise PermissionDenied(_("Your role may not open this page."))
    form = BookingFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if form.is_bound and form.is_valid() else ""
    show = request.GET.get("show", "upcoming")
    rows = selectors.booking_list_for(scope=scope, status=status)
    now = timezone.now()
    if show == "upcoming":
        rows = rows.filter(slot__ends_at__gte=now)
    else:
        show = "past"
        rows = rows.filter(slot__ends_at__lt=now).order_by("-slot__starts_at", "-pk")
    page = paginate(request, rows)
    context = {
        "form": form,
        "page_obj": page,
        "bookings": page.object_list,
        "show": show,
        "resident": scope.self_patient_only,
        "now": now,
        "user_id": scope.user_id,
    }
    return page_or_partial(
        request, "scheduling/booking_list.html", "scheduling/_partials/booking_table.html", context
    )


@login_required
@require_http_methods(["GET", "POST"])
@translate_domain_errors
def booking_reschedule(request: HttpRequest, booking_id: int) -> HttpResponse:
    scope = request_scope(request)
    booking = selectors.booking_get_for(scope=scope, pk=booking_id)
    error = ""
    status = 200
    if request.method == "POST":
        try:
            slot = selectors.slot_get_for(scope=scope, pk=_int(request.POST.get("slot")))
            new = services.booking_reschedule(actor=request.user, booking=booking, slot=slot)
        except (InvalidInput, Conflict, NotFound) as exc:
            error = str(exc.message)
            status = exc.status
        else:
            messages.success(
                request,
                _("Moved to %(when)s.")
                % {"when": timezone.localtime(new.slot.starts_at).strftime("%Y-%m-%d %H:%M")},
            )
            return redirect("scheduling:bookings")
    session = booking.slot.session
    slots = _with_local_day(
        selectors.slots_open_for(
            scope=scope,
            institution=session.institution,
            department=session.department_id,
            for_referral=booking.for_referral and selectors.is_staff(scope),
        ).exclude(pk=booking.slot_id)[:60]
    )
    context = {
        "booking": booking,
        "slots": slots,
        "error": error,
        "movable": booking.status == BookingStatus.BOOKED,
    }
    return render(request, "scheduling/reschedule.html", context, status=status)
