"""Every read of the programmes' rows, scoped: a village doctor her village, a township doctor
her villages, a resident only herself; the consortium office and the bureau get counts per
village (``village_counts_for``), never personal rows. Reading one resident's chronic page is
audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import Scope, filter_institutions, filter_residents
from yigongti.core.audit import audit
from yigongti.core.errors import Forbidden, NotFound
from yigongti.institutions.choices import InstitutionKind
from yigongti.institutions.models import Institution
from yigongti.patients.models import Patient

from .choices import Priority, Programme, TaskStatus
from .models import ElderlyService, Enrollment, FollowUp, Screening, Task

#: Worklist boxes.
DUE_WEEK = "week"
OVERDUE = "overdue"
URGENT = "urgent"
ALL_OPEN = "all"
BOXES = (DUE_WEEK, OVERDUE, URGENT, ALL_OPEN)


def _personal(scope: Scope) -> None:
    if scope.is_oversight or (not scope.resident_village_ids and not scope.self_patient_only):
        raise Forbidden(_("Your role sees these programmes as counts per village, not personal rows."))


def _villages(qs: QuerySet[Any], scope: Scope) -> QuerySet[Any]:
    if scope.self_patient_only:
        return qs.filter(patient__user_id=scope.user_id) if scope.user_id else qs.none()
    return filter_residents(qs, scope)


def week_end(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=6 - today.weekday())


def task_list_for(
    *,
    scope: Scope,
    box: str = ALL_OPEN,
    programme: str = "",
    village_id: int | None = None,
    today: dt.date | None = None,
) -> QuerySet[Task]:
    _personal(scope)
    today = today or timezone.localdate()
    qs = _villages(Task.objects.filter(status=TaskStatus.OPEN), scope)
    if box == DUE_WEEK:
        qs = qs.filter(due_on__gte=today, due_on__lte=week_end(today))
    elif box == OVERDUE:
        qs = qs.filter(due_on__lt=today)
    elif box == URGENT:
        qs = qs.filter(priority=Priority.URGENT, due_on__lte=week_end(today))
    if programme:
        qs = qs.filter(programme=programme)
    if village_id:
        qs = qs.filter(village_id=village_id)
    return qs.select_related("patient", "village").order_by("due_on", "patient__name", "id")


def task_counts_for(*, scope: Scope, today: dt.date | None = None) -> dict[str, int]:
    _personal(scope)
    today = today or timezone.localdate()
    qs = _villages(Task.objects.filter(status=TaskStatus.OPEN), scope)
    end = week_end(today)
    return qs.aggregate(
        week=Count("id", filter=Q(due_on__gte=today, due_on__lte=end)),
        overdue=Count("id", filter=Q(due_on__lt=today)),
        urgent=Count("id", filter=Q(priority=Priority.URGENT, due_on__lte=end)),
        all=Count("id"),
    )


def enrollment_list_for(
    *, scope: Scope, programme: str = "", risk_level: str = "", q: str = ""
) -> QuerySet[Enrollment]:
    _personal(scope)
    qs = _villages(Enrollment.objects.all(), scope)
    if programme:
        qs = qs.filter(programme=programme)
    if risk_level:
        qs = qs.filter(risk_level=risk_level)
    if q:
        qs = qs.filter(Q(patient__name__startswith=q) | Q(patient__health_record_number__startswith=q))
    return qs.select_related("patient", "village").order_by("village__code", "patient__name", "id")


def enrollment_get_for(*, scope: Scope, enrollment_id: int) -> Enrollment:
    _personal(scope)
    entry = _villages(Enrollment.objects.select_related("patient"), scope).filter(pk=enrollment_id).first()
    if entry is None:
        raise NotFound(_("No such registry entry in your scope."), field="enrollment")
    return entry


def follow_up_get_for(*, scope: Scope, follow_up_id: int) -> FollowUp:
    _personal(scope)
    row = (
        _villages(FollowUp.objects.select_related("patient", "enrollment"), scope)
        .filter(pk=follow_up_id)
        .first()
    )
    if row is None:
        raise NotFound(_("No such follow-up in your scope."), field="follow_up")
    return row


def follow_up_list_for(*, scope: Scope, programme: str = "", classification: str = "") -> QuerySet[FollowUp]:
    _personal(scope)
    qs = _villages(FollowUp.objects.all(), scope)
    if programme:
        qs = qs.filter(programme=programme)
    if classification:
        qs = qs.filter(classification=classification)
    return qs.select_related("patient").order_by("-visit_date", "-id")


def patient_for(*, scope: Scope, patient_id: int) -> Patient:
    """A resident the scope may record for or read (staff: their villages; a resident: herself)."""
    _personal(scope)
    qs = Patient.objects.filter(merged_into__isnull=True)
    own = qs.filter(user_id=scope.user_id or 0)
    qs = own if scope.self_patient_only else filter_residents(qs, scope)
    patient = qs.filter(pk=patient_id).first()
    if patient is None:
        raise NotFound(_("No such resident in your villages."), field="patient")
    return patient


@dataclass
class ChronicRecord:
    patient: Patient
    enrollments: list[Enrollment]
    follow_ups: list[FollowUp]
    services: list[ElderlyService]
    screenings: list[Screening]
    tasks: list[Task] = field(default_factory=list)


def record_for(*, scope: Scope, patient_id: int, actor: Any) -> ChronicRecord:
    """One resident's registry entries, follow-ups with their classification, elderly services,
    screenings and open tasks; the read is audited."""
    patient = patient_for(scope=scope, patient_id=patient_id)
    record = ChronicRecord(
        patient=patient,
        enrollments=list(Enrollment.objects.filter(patient=patient).order_by("programme")),
        follow_ups=list(FollowUp.objects.filter(patient=patient).order_by("-visit_date", "-id")[:40]),
        services=list(ElderlyService.objects.filter(patient=patient).order_by("-service_date")[:10]),
        screenings=list(Screening.objects.filter(patient=patient).order_by("-screened_on")[:10]),
        tasks=list(Task.objects.filter(patient=patient, status=TaskStatus.OPEN).order_by("due_on")),
    )
    audit(actor=actor, verb="chronic.read", subject=patient, membership=scope.membership)
    return record


def my_patient(*, scope: Scope) -> Patient | None:
    if not scope.self_patient_only or not scope.user_id:
        return None
    return Patient.objects.filter(user_id=scope.user_id, merged_into__isnull=True).first()


def village_counts_for(*, scope: Scope, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Per village clinic in scope: registry sizes, open tasks due this week / overdue / urgent,
    elderly served this year. Aggregates only, for every staff role and the office."""
    if scope.self_patient_only or not scope.institution_ids:
        raise Forbidden(_("Your role may not see these counts."))
    today = today or timezone.localdate()
    end = week_end(today)
    villages = filter_institutions(Institution.objects.filter(kind=InstitutionKind.VILLAGE_CLINIC), scope)
    rows: dict[int, dict[str, Any]] = {
        v.pk: {
            "village": v,
            "hypertension": 0,
            "diabetes": 0,
            "week": 0,
            "overdue": 0,
            "urgent": 0,
            "elderly_served": 0,
        }
        for v in villages.select_related("parent").order_by("code")
    }
    ids = list(rows)
    for vid, programme, n in (
        Enrollment.objects.filter(village_id__in=ids, is_active=True)
        .values_list("village_id", "programme")
        .annotate(n=Count("id"))
    ):
        rows[vid][programme] = n
    for vid, week, overdue, urgent in (
        Task.objects.filter(village_id__in=ids, status=TaskStatus.OPEN)
        .values("village_id")
        .annotate(
            week=Count("id", filter=Q(due_on__gte=today, due_on__lte=end)),
            overdue=Count("id", filter=Q(due_on__lt=today)),
            urgent=Count("id", filter=Q(priority=Priority.URGENT, due_on__lte=end)),
        )
        .values_list("village_id", "week", "overdue", "urgent")
    ):
        rows[vid].update(week=week, overdue=overdue, urgent=urgent)
    year_start = today.replace(month=1, day=1)
    for vid, n in (
        ElderlyService.objects.filter(village_id__in=ids, service_date__gte=year_start)
        .values("village_id")
        .annotate(n=Count("patient_id", distinct=True))
        .values_list("village_id", "n")
    ):
        rows[vid]["elderly_served"] = n
    return list(rows.values())


def elderly_due_for(*, scope: Scope, village_id: int | None = None) -> QuerySet[Task]:
    """Residents aged 65 or over whose annual service is due (the elderly tasks)."""
    qs = task_list_for(scope=scope, programme=Programme.ELDERLY, village_id=village_id)
    return qs
