"""Scoped reads of referrals, their timeline, alerts, the bed board and follow-up tasks.

Who sees a referral: the referring institution (a township centre also what its village clinics
sent), the receiving one (and a township what is sent to its villages), the grassroots that
holds its follow-up task, the consortium office (the referral service centre) everything of its
consortium, and whatever ``grassroots.VISIBILITY_EXTENSIONS`` add (the family doctor). The
county health bureau sees counts only; a resident sees their own referrals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import Scope, filter_institutions
from yigongti.core.audit import audit
from yigongti.core.errors import Forbidden, NotFound
from yigongti.core.models import AuditEvent
from yigongti.institutions.choices import InstitutionKind, Level
from yigongti.institutions.models import Department, Institution, Staff
from yigongti.patients.models import Patient

from .choices import AWAITING, Status, TaskStatus
from .grassroots import extra_visibility
from .models import Alert, Attachment, FollowUpTask, Referral, WardOccupancy

#: Worklist boxes: what is sent to me, what I sent, everything I may see.
BOX_INCOMING, BOX_OUTGOING, BOX_ALL = "incoming", "outgoing", "all"


def _staff_scope(scope: Scope) -> None:
    if scope.membership is None or scope.self_patient_only:
        raise Forbidden(_("Your role may not open referrals."))
    if scope.role == "health_bureau":
        raise Forbidden(_("The health bureau sees referral counts only."))


def visible_condition(scope: Scope) -> Q:
    ids = scope.institution_ids
    condition = (
        Q(from_institution_id__in=ids)
        | Q(to_institution_id__in=ids)
        | Q(pk__in=FollowUpTask.objects.filter(institution_id__in=ids).values("referral_id"))
    )
    extra = extra_visibility(scope)
    return condition | extra if extra is not None else condition


def referral_base_for(*, scope: Scope) -> QuerySet[Referral]:
    """Every referral the scope may read (no filters, no ordering)."""
    if scope.self_patient_only:
        if scope.user_id is None:
            return Referral.objects.none()
        return Referral.objects.filter(patient__user_id=scope.user_id).exclude(status=Status.DRAFT)
    _staff_scope(scope)
    if not scope.institution_ids:
        return Referral.objects.none()
    return Referral.objects.filter(visible_condition(scope))


def _box(qs: QuerySet[Referral], scope: Scope, box: str) -> QuerySet[Referral]:
    own = scope.membership.institution_id if scope.membership else 0
    if box == BOX_INCOMING:
        if scope.is_oversight:  # the service centre: everything the consortium receives
            return qs.filter(to_institution__consortium_id=scope.consortium_id or 0) | qs.filter(
                to_institution__level=Level.EXTERNAL
            )
        return qs.filter(to_institution_id__in=scope.institution_ids).exclude(status=Status.DRAFT)
    if box == BOX_OUTGOING:
        if scope.is_oversight:
            return qs.exclude(status=Status.DRAFT)
        return qs.filter(from_institution_id__in=scope.institution_ids).filter(
            Q(from_institution_id=own) | ~Q(status=Status.DRAFT)
        )
    return qs.filter(Q(from_institution_id=own) | ~Q(status=Status.DRAFT))


def referral_list_for(
    *,
    scope: Scope,
    box: str = BOX_ALL,
    status: str = "",
    direction: str = "",
    overdue: bool = False,
    green: bool = False,
    q: str = "",
) -> QuerySet[Referral]:
    """A worklist: overdue and green-channel referrals first, then the newest."""
    qs = referral_base_for(scope=scope)
    if not scope.self_patient_only:
        qs = _box(qs, scope, box)
    if status:
        qs = qs.filter(status=status)
    if direction:
        qs = qs.filter(direction=direction)
    now = timezone.now()
    if overdue:
        qs = qs.filter(status__in=AWAITING, deadline_at__lt=now)
    if green:
        qs = qs.filter(green_channel__isnull=False)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(number__startswith=q.upper()) | Q(patient__name__contains=q))
    qs = qs.annotate(
        priority=Case(
            When(status__in=AWAITING, deadline_at__lt=now, then=Value(0)),
            When(status__in=AWAITING, green_channel__isnull=False, then=Value(1)),
            When(status__in=AWAITING, then=Value(2)),
            default=Value(3),
            output_field=IntegerField(),
        )
    )
    return qs.select_related(
        "patient", "from_institution", "to_institution", "to_department", "green_channel", "reason"
    ).order_by("priority", "-submitted_at", "-id")


@transaction.atomic
def referral_get_for(*, scope: Scope, referral_id: int, actor: Any) -> Referral:
    """One referral with its slip: a read of personal data, audited as ``referral.read``."""
    referral = (
        referral_base_for(scope=scope)
        .select_related(
            "patient",
            "patient__village",
            "from_institution",
            "to_institution",
            "to_department",
            "assigned_doctor",
            "green_channel",
            "reason",
            "from_doctor",
            "booking__slot",
        )
        .filter(pk=referral_id)
        .first()
    )
    if referral is None:
        raise NotFound(_("No such referral."))
    audit(actor=actor, verb="referral.read", subject=referral, membership=scope.membership)
    return referral


def referral_counts_for(*, scope: Scope) -> dict[str, Any]:
    """Counts by direction and status for the oversight roles (no personal rows)."""
    if scope.membership is None or scope.self_patient_only:
        raise Forbidden(_("Your role may not open referrals."))
    if scope.is_oversight:
        qs = Referral.objects.filter(
            Q(from_institution_id__in=scope.institution_ids) | Q(to_institution_id__in=scope.institution_ids)
        ).exclude(status=Status.DRAFT)
    else:
        qs = referral_base_for(scope=scope).exclude(status=Status.DRAFT)
    by_status = dict(qs.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    by_direction = dict(qs.values_list("direction").annotate(n=Count("id")).values_list("direction", "n"))
    now = timezone.now()
    return {
        "total": sum(by_status.values()),
        "by_status": {s: by_status.get(s, 0) for s in Status.values if s != Status.DRAFT},
        "by_direction": by_direction,
        "overdue": qs.filter(status__in=AWAITING, deadline_at__lt=now).count(),
        "green_channel": qs.filter(green_channel__isnull=False).count(),
        "follow_ups_open": FollowUpTask.objects.filter(referral__in=qs, status=TaskStatus.OPEN).count(),
        "follow_ups_overdue": FollowUpTask.objects.filter(
            referral__in=qs, status=TaskStatus.OPEN, due_on__lt=timezone.localdate()
        ).count(),
    }


# --- timeline ---------------------------------------------------------------------------------

VERB_LABELS = {
    "referral.create": _("Referral written"),
    "referral.submit": _("Submitted"),
    "referral.accept": _("Accepted"),
    "referral.reject": _("Rejected"),
    "referral.redirect": _("Redirected"),
    "referral.assign": _("Department and doctor assigned"),
    "referral.arrive": _("Patient arrived"),
    "referral.start_care": _("Care started"),
    "referral.complete": _("Return slip written"),
    "referral.follow_up_task": _("Follow-up task created for the grassroots"),
    "referral.follow_up": _("Follow-up recorded"),
    "referral.cancel": _("Cancelled"),
    "referral.attach": _("Result attached"),
}


@dataclass(frozen=True)
class TimelineEntry:
    verb: str
    label: str
    at: dt.datetime
    recorded_at: dt.datetime
    actor: str
    status: str
    detail: dict[str, Any]


def _parse(value: Any, fallback: dt.datetime) -> dt.datetime:
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return fallback
        return parsed if parsed.tzinfo else timezone.make_aware(parsed)
    return fallback


def timeline_for(referral: Referral) -> list[TimelineEntry]:
    """The referral's history, read back from its audit rows (reads left out)."""
    rows = AuditEvent.objects.filter(
        object_type=Referral._meta.label_lower, object_id=str(referral.pk), verb__in=list(VERB_LABELS)
    ).order_by("seq")
    statuses = dict(Status.choices)
    entries = []
    for row in rows:
        after = row.after or {}
        detail = {k: after[k] for k in ("note", "name", "due_on") if after.get(k)}
        entries.append(
            TimelineEntry(
                verb=row.verb,
                label=str(VERB_LABELS.get(row.verb, row.verb)),
                at=_parse(after.get("at"), row.occurred_at),
                recorded_at=row.occurred_at,
                actor=row.actor_username,
                status=str(statuses.get(after.get("status", ""), "")),
                detail=detail,
            )
        )
    return entries


# --- attachments, alerts, beds, follow-ups ----------------------------------------------------


def attachment_get_for(*, scope: Scope, referral_id: int, attachment_id: int, actor: Any) -> Attachment:
    referral = referral_base_for(scope=scope).filter(pk=referral_id).first()
    attachment = Attachment.objects.filter(pk=attachment_id, referral=referral).first() if referral else None
    if attachment is None or scope.self_patient_only:
        raise NotFound(_("No such attachment."))
    audit(actor=actor, verb="referral.attachment_read", subject=attachment, membership=scope.membership)
    return attachment


def alert_list_for(*, scope: Scope) -> QuerySet[Alert]:
    """Alerts not yet acknowledged, for the receiver (or the whole consortium for the office)."""
    if scope.membership is None or scope.self_patient_only or scope.role == "health_bureau":
        return Alert.objects.none()
    qs = Alert.objects.filter(acknowledged_at__isnull=True)
    if scope.manages_consortium:
        qs = filter_institutions(qs, scope, "institution_id")
    else:
        qs = qs.filter(institution_id=scope.membership.institution_id)
    return qs.select_related("referral", "referral__patient", "referral__green_channel", "department")


@dataclass(frozen=True)
class BedRow:
    department: Department
    beds: int
    occupied: int
    held: int

    @property
    def free(self) -> int:
        return self.beds - self.occupied - self.held


def bed_board_for(*, scope: Scope, institution: Institution | None = None) -> list[BedRow]:
    """Beds per department: approved, occupied (the ward's count), held for green channels, free."""
    if scope.membership is None or scope.self_patient_only:
        raise Forbidden(_("Your role may not open the bed board."))
    target = institution or scope.membership.institution
    if not scope.sees_institution(target.pk):
        raise NotFound(_("No such institution."))
    depts = list(Department.objects.filter(institution=target, beds__gt=0).order_by("code"))
    occupied = dict(
        WardOccupancy.objects.filter(department__in=depts).values_list("department_id", "occupied")
    )
    held = dict(
        Referral.objects.filter(bed_held=True, to_department__in=depts)
        .values_list("to_department_id")
        .annotate(n=Count("id"))
        .values_list("to_department_id", "n")
    )
    return [BedRow(d, d.beds, occupied.get(d.pk, 0), held.get(d.pk, 0)) for d in depts]


def follow_up_list_for(*, scope: Scope, status: str = TaskStatus.OPEN) -> QuerySet[FollowUpTask]:
    if scope.membership is None or scope.self_patient_only or scope.role == "health_bureau":
        raise Forbidden(_("Your role may not open follow-up tasks."))
    qs = filter_institutions(FollowUpTask.objects.all(), scope, "institution_id")
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("patient", "institution", "referral", "staff").order_by("due_on", "id")


def follow_up_get_for(*, scope: Scope, task_id: int) -> FollowUpTask:
    task = follow_up_list_for(scope=scope, status="").filter(pk=task_id).first()
    if task is None:
        raise NotFound(_("No such follow-up task."))
    return task


# --- choices for the forms --------------------------------------------------------------------


def receivers_for(*, scope: Scope) -> QuerySet[Institution]:
    """Where a referral may go: the consortium's members and the external hospitals (a public
    directory, not personal rows)."""
    if scope.consortium_id is None:
        return Institution.objects.none()
    return (
        Institution.objects.filter(
            Q(consortium_id=scope.consortium_id)
            | Q(parent__consortium_id=scope.consortium_id)
            | Q(parent__parent__consortium_id=scope.consortium_id)
            | Q(level=Level.EXTERNAL)
        )
        .filter(is_active=True)
        .exclude(kind__in=[InstitutionKind.HEALTH_BUREAU, InstitutionKind.EMERGENCY_CENTRE])
        .order_by("level", "code")
    )


def departments_of(institution_ids: list[int]) -> QuerySet[Department]:
    return Department.objects.filter(institution_id__in=institution_ids).select_related("institution")


def doctors_of(institution: Institution) -> QuerySet[Staff]:
    return Staff.objects.filter(institution=institution, is_active=True).select_related("department")


def patient_lookup_for(
    *, scope: Scope, q: str = "", name: str = "", birth_date: dt.date | None = None, id_number: str = ""
) -> list[Patient]:
    """Patients a referring doctor may pick: her own residents by name, pinyin or number, and
    for a county hospital the master patient index's likely matches for name + birth date or ID."""
    from yigongti.patients.selectors import patient_list_for

    found: list[Patient] = []
    if q.strip() and scope.resident_village_ids:
        found = list(patient_list_for(scope=scope, q=q)[:10])
    if name.strip() and (birth_date or id_number.strip()):
        from yigongti.patients.matching.selectors import match_preview_for
        from yigongti.patients.matching.services import Entry

        preview = match_preview_for(
            scope=scope,
            entry=Entry(name=name.strip(), birth_date=birth_date, id_number=id_number.strip()),
        )
        for candidate in preview.result.candidates:
            patient = preview.patients.get(candidate.patient_id)
            if patient is not None and candidate.scored.probability >= 0.5 and patient not in found:
                found.append(patient)
    return found
