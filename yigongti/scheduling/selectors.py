"""Reads of sessions, slots and bookings, each scoped to the caller.

Who sees what here:

- everyone with a membership in the consortium sees the *open slots* of its member institutions
  (booking is public), but a slot reserved for referrals only once it is released, unless the
  caller is staff of that institution or books for a referral;
- staff see the sessions of the institutions in their scope, with their bookings, and the
  bookings they made themselves elsewhere (referrals);
- a resident sees the bookings of their own record and those they made for their household.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.accounts.choices import Role
from yigongti.core.access import Scope, filter_institutions
from yigongti.core.errors import NotFound
from yigongti.institutions.choices import Level
from yigongti.institutions.models import Institution
from yigongti.patients.models import Patient

from .choices import BookingStatus, SessionStatus
from .models import Booking, ClinicSession, SchedulingPolicy, Slot

#: The most days one query of open slots may span.
MAX_DAYS = 62
#: Ids beyond a 64-bit integer are no row at all (and would overflow the database driver).
MAX_ID = 2**63 - 1


def valid_id(pk: Any) -> bool:
    return isinstance(pk, int) and 0 < pk <= MAX_ID


def clamp_date(value: dt.date) -> dt.date:
    """Keep a requested date within ten years of today, so date arithmetic cannot overflow."""
    today = timezone.localdate()
    return min(max(value, today - dt.timedelta(days=3660)), today + dt.timedelta(days=3660))


def policy_for(institution: Institution) -> SchedulingPolicy:
    """The institution's own policy, else its consortium's default, else the built-in defaults."""
    own = SchedulingPolicy.objects.filter(institution_id=institution.pk).first()
    if own is not None:
        return own
    consortium_id = institution.consortium_id or 0
    default = SchedulingPolicy.objects.filter(consortium_id=consortium_id, institution__isnull=True).first()
    return default or SchedulingPolicy(consortium_id=consortium_id)


def is_staff(scope: Scope) -> bool:
    """Someone working at a member institution who may write (not a resident, not the bureau)."""
    return scope.can_write and not scope.self_patient_only


def may_take_reserved(scope: Scope, institution: Institution, *, for_referral: bool) -> bool:
    """Staff of the institution itself, or staff of the same consortium booking for a referral."""
    if not is_staff(scope) or institution.consortium_id != scope.consortium_id:
        return False
    return scope.sees_institution(institution.pk) or for_referral


def bookable_institutions_for(*, scope: Scope) -> QuerySet[Institution]:
    """Member institutions of the caller's consortium (where one may look for slots)."""
    if scope.membership is None or scope.consortium_id is None:
        return Institution.objects.none()
    return Institution.objects.filter(consortium_id=scope.consortium_id, is_active=True).exclude(
        level__in=[Level.EXTERNAL, Level.VILLAGE]
    )


def institution_for_booking(*, scope: Scope, code: str) -> Institution:
    institution = bookable_institutions_for(scope=scope).filter(code=code).first()
    if institution is None:
        raise NotFound(_("No member institution with this code."), field="institution")
    return institution


def slots_open_for(
    *,
    scope: Scope,
    institution: Institution,
    department: Any = None,
    start: dt.datetime | dt.date | None = None,
    days: int = 14,
    for_referral: bool = False,
) -> QuerySet[Slot]:
    """Future slots of ``institution`` with a free place that this scope may book.

    A slot reserved for referrals is included only when it is released (its session starts
    within the release lead time) or when ``may_take_reserved`` says the caller may take it.
    """
    if scope.membership is None or institution.consortium_id != scope.consortium_id:
        return Slot.objects.none()
    now = timezone.now()
    if start is None:
        begin = now
    else:
        day = start.date() if isinstance(start, dt.datetime) else start
        if day != clamp_date(day):
            return Slot.objects.none()
        begin = (
            start
            if isinstance(start, dt.datetime)
            else timezone.make_aware(dt.datetime.combine(start, dt.time.min))
        )
    begin = max(begin, now)
    days = max(1, min(days, MAX_DAYS))
    qs = Slot.objects.filter(
        session__institution_id=institution.pk,
        session__status=SessionStatus.OPEN,
        starts_at__gt=now,
        starts_at__gte=begin,
        starts_at__lt=begin + dt.timedelta(days=days),
        booked__lt=F("capacity"),
    )
    if department is not None:
        qs = qs.filter(session__department_id=getattr(department, "pk", department))
    if not may_take_reserved(scope, institution, for_referral=for_referral):
        lead = policy_for(institution).release_lead_hours
        qs = qs.filter(
            Q(reserved_for_referral=False) | Q(session__starts_at__lte=now + dt.timedelta(hours=lead))
        )
    return qs.select_related(
        "session__department", "session__doctor__institution", "session__institution"
    ).order_by("starts_at", "pk")


def slot_get_for(*, scope: Scope, pk: int) -> Slot:
    """One slot of a consortium member (booking is public within the consortium)."""
    if not valid_id(pk):
        raise NotFound(_("No such slot."), field="slot")
    slot = (
        Slot.objects.select_related(
            "session__institution", "session__department", "session__doctor__institution"
        )
        .filter(pk=pk, session__institution__consortium_id=scope.consortium_id or 0)
        .first()
        if scope.membership is not None
        else None
    )
    if slot is None:
        raise NotFound(_("No such slot."), field="slot")
    return slot


def session_list_for(
    *,
    scope: Scope,
    institution: Institution | None = None,
    date_from: dt.date | None = None,
    days: int = 7,
    department_id: int | None = None,
) -> QuerySet[ClinicSession]:
    """Sessions of the institutions in scope (staff, the office, the bureau), by date."""
    qs = filter_institutions(ClinicSession.objects.all(), scope, "institution")
    if institution is not None:
        qs = qs.filter(institution_id=institution.pk)
    if department_id is not None:
        qs = qs.filter(department_id=department_id)
    if date_from is not None:
        date_from = clamp_date(date_from)
        qs = qs.filter(
            date__gte=date_from, date__lt=date_from + dt.timedelta(days=max(1, min(days, MAX_DAYS)))
        )
    return qs.select_related("institution", "department", "doctor__institution").order_by(
        "starts_at", "department__code", "pk"
    )


def session_get_for(*, scope: Scope, pk: int) -> ClinicSession:
    if not valid_id(pk):
        raise NotFound(_("No such clinic session."), field="session")
    session = session_list_for(scope=scope).filter(pk=pk).first()
    if session is None:
        raise NotFound(_("No such clinic session."), field="session")
    return session


def session_slots(session: ClinicSession) -> list[Slot]:
    return list(session.slots.order_by("starts_at", "pk"))


def booking_list_for(
    *, scope: Scope, status: str = "", institution_id: int | None = None
) -> QuerySet[Booking]:
    """A resident's bookings (own record, or made by them); staff's institutions' and their own."""
    if scope.membership is None or scope.user_id is None:
        return Booking.objects.none()
    if scope.self_patient_only:
        where = Q(patient__user_id=scope.user_id) | Q(booked_by_id=scope.user_id)
    elif scope.is_oversight:  # the office and the bureau see counts, not residents' bookings
        where = Q(booked_by_id=scope.user_id)
    else:
        where = Q(slot__session__institution_id__in=scope.institution_ids) | Q(booked_by_id=scope.user_id)
    qs = Booking.objects.filter(where)
    if status:
        qs = qs.filter(status=status)
    if institution_id is not None:
        qs = qs.filter(slot__session__institution_id=institution_id)
    return qs.select_related(
        "patient", "slot__session__institution", "slot__session__department", "slot__session__doctor"
    ).order_by("slot__starts_at", "pk")


def booking_get_for(*, scope: Scope, pk: int) -> Booking:
    if not valid_id(pk):
        raise NotFound(_("No such booking."), field="booking")
    booking = booking_list_for(scope=scope).filter(pk=pk).first()
    if booking is None:
        raise NotFound(_("No such booking."), field="booking")
    return booking


def sees_patients(scope: Scope, session: ClinicSession) -> bool:
    """Whether the day list may show names: staff of the session's institution, not oversight."""
    return (
        not scope.is_oversight
        and not scope.self_patient_only
        and scope.sees_institution(session.institution_id)
    )


def session_bookings(session: ClinicSession) -> QuerySet[Booking]:
    """Every booking of a session (the caller already holds the session through ``session_get_for``)."""
    return (
        Booking.objects.filter(slot__session_id=session.pk)
        .select_related("patient", "slot", "booked_by")
        .order_by("slot__starts_at", "pk")
    )


def own_patient(scope: Scope) -> Patient | None:
    if not scope.self_patient_only or scope.user_id is None:
        return None
    return Patient.objects.filter(user_id=scope.user_id, merged_into__isnull=True).first()


def family_for(*, scope: Scope) -> list[Patient]:
    """Whom a resident may book for: their own record first, then their household's members."""
    own = own_patient(scope)
    if own is None:
        return []
    if own.household_id is None:
        return [own]
    others = Patient.objects.filter(household_id=own.household_id, merged_into__isnull=True).exclude(
        pk=own.pk
    )
    return [own, *others.order_by("birth_date", "pk")]


def no_show_block_until(
    *, user: Any, institution: Institution, patient: Patient | None = None
) -> dt.datetime | None:
    """Until when the policy stops this login booking online, or None when it may book."""
    policy = policy_for(institution)
    now = timezone.now()
    where = Q(booked_by_id=user.pk)
    if patient is not None:
        where |= Q(patient_id=patient.pk)
    misses = list(
        Booking.objects.filter(
            where,
            status=BookingStatus.NO_SHOW,
            slot__starts_at__gte=now - dt.timedelta(days=policy.no_show_window_days),
        )
        .order_by("-slot__starts_at")
        .values_list("slot__starts_at", flat=True)[: policy.no_show_limit]
    )
    if len(misses) < policy.no_show_limit:
        return None
    until = misses[0] + dt.timedelta(days=policy.block_days)
    return until if until > now else None


def role_label(role: str) -> str:
    return str(dict(Role.choices).get(role, role))
