"""Every write of a referral: create, the state machine's moves, assignment, attachments, the bed
board, alerts and the follow-up tasks.

Each service is atomic, checks the actor's role and scope, validates, writes, appends an audit
row on the referral (the timeline reads them back) and sends ``referrals_changed`` inside the
transaction. ``actor=None`` is the system (the demo generator); it may pass ``at`` to record a
past moment, which the audit row keeps as ``after.at`` beside its own recording time.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core.access import Scope, scope_for
from yigongti.core.audit import audit
from yigongti.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from yigongti.institutions.choices import InstitutionKind, Level
from yigongti.institutions.models import Department, Institution, Staff
from yigongti.patients.models import Patient

from . import diagnoses
from .choices import (
    ASSIGNABLE,
    FINAL,
    AlertKind,
    CareMode,
    Direction,
    ReasonDirection,
    Status,
    TaskStatus,
    Urgency,
    can_move,
)
from .grassroots import responsible_grassroots
from .models import (
    AcceptanceDeadline,
    Alert,
    Attachment,
    FollowUpTask,
    GreenChannelKind,
    Referral,
    ReferralReason,
    WardOccupancy,
)
from .signals import send_changed

#: The national rule for chronic patients: follow up within two weeks.
FOLLOW_UP_DAYS = 14
#: Used when the office has not configured a deadline for an urgency.
DEFAULT_DEADLINE_MINUTES: dict[str, int] = {
    Urgency.EMERGENCY: 10,
    Urgency.URGENT: 30,
    Urgency.ROUTINE: 24 * 60,
}
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".txt": "text/plain",
}
_RANK: dict[str, int] = {Level.VILLAGE: 0, Level.TOWNSHIP: 1, Level.COUNTY: 2}
_NOT_RECEIVERS = frozenset({InstitutionKind.HEALTH_BUREAU, InstitutionKind.EMERGENCY_CENTRE})
#: The fields an audit row of a referral keeps before and after.
_TRACKED = (
    "status",
    "to_institution_id",
    "to_department_id",
    "assigned_doctor_id",
    "care_mode",
    "bed_held",
    "refusal_reason",
    "cancel_reason",
)


# --- who acts ---------------------------------------------------------------------------------


class Actor:
    """The actor's scope and institution (None for the system)."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.scope: Scope | None = None
        self.institution_id: int | None = None
        if user is not None:
            scope = scope_for(user)
            scope.require_write()
            scope.require(scope.membership is not None and not scope.self_patient_only)
            self.scope = scope
            self.institution_id = scope.membership.institution_id if scope.membership else None

    @property
    def system(self) -> bool:
        return self.user is None

    @property
    def office(self) -> bool:
        return self.scope is not None and self.scope.manages_consortium

    @property
    def membership(self) -> Any:
        return self.scope.membership if self.scope else None

    def sees(self, institution_id: int) -> bool:
        return self.system or bool(self.scope and self.scope.sees_institution(institution_id))


def _is_sender(actor: Actor, referral: Referral) -> bool:
    return actor.system or actor.institution_id == referral.from_institution_id


def _is_receiver(actor: Actor, referral: Referral) -> bool:
    """The receiving institution's staff, or the referral service centre (the consortium office)
    for anything its consortium receives, and for the external hospitals it writes to."""
    if actor.system or actor.institution_id == referral.to_institution_id:
        return True
    if not actor.office:
        return False
    external = referral.to_institution.level == Level.EXTERNAL
    return actor.sees(referral.to_institution_id) and (external or not _is_sender(actor, referral))


def _visible(actor: Actor, referral: Referral) -> bool:
    if actor.system:
        return True
    return actor.sees(referral.from_institution_id) or actor.sees(referral.to_institution_id)


def _require_receiver(actor: Actor, referral: Referral) -> None:
    if not _visible(actor, referral):
        raise NotFound(_("No such referral."))
    own = not actor.system and actor.institution_id == referral.from_institution_id
    if own and not (actor.office and referral.to_institution.level == Level.EXTERNAL):
        raise Forbidden(_("Your institution sent this referral: only the receiver may answer it."))
    if not _is_receiver(actor, referral):
        raise Forbidden(_("Only the receiving institution or the referral service centre may do this."))


def _require_sender(actor: Actor, referral: Referral) -> None:
    if not _visible(actor, referral):
        raise NotFound(_("No such referral."))
    if not _is_sender(actor, referral):
        raise Forbidden(_("Only the referring institution may do this."))


# --- helpers ----------------------------------------------------------------------------------


def _now(at: dt.datetime | None, actor: Actor) -> dt.datetime:
    if at is not None and actor.system:
        return at
    return timezone.now()


def _state(referral: Referral) -> dict[str, Any]:
    return {name: getattr(referral, name) for name in _TRACKED}


def _keys(referral: Referral) -> set[tuple[int, dt.date]]:
    month = referral.month_key
    if month is None:
        return set()
    return {(referral.from_institution_id, month), (referral.to_institution_id, month)}


def _changed(referral: Referral, extra: set[tuple[int, dt.date]] | None = None) -> None:
    send_changed(Referral, _keys(referral) | (extra or set()))


def _record(
    actor: Actor,
    referral: Referral,
    verb: str,
    before: dict[str, Any] | None,
    at: dt.datetime,
    **extra: Any,
) -> None:
    after = {**_state(referral), "at": at, **extra}
    audit(
        actor=actor.user,
        verb=verb,
        subject=referral,
        before=before,
        after=after,
        membership=actor.membership,
    )


def _lock(referral: Referral, who: Actor) -> Referral:
    """The referral's row, locked for this transaction and read afresh (a concurrent answer
    cannot slip in between the check and the write). The system actor (the demo generator)
    runs alone inside one transaction and keeps working on the instance it holds."""
    if who.system and referral.pk:
        return referral
    locked = Referral.objects.select_for_update().filter(pk=referral.pk).first()
    if locked is None:
        raise NotFound(_("No such referral."))
    return locked


def _move(referral: Referral, target: str) -> None:
    if not can_move(referral.status, target):
        raise Conflict(
            _("A referral that is %(current)s cannot become %(target)s.")
            % {"current": referral.get_status_display(), "target": Status(target).label},
            code="illegal_transition",
        )
    referral.status = target


def direction_between(source: Institution, target: Institution) -> str:
    if target.level == Level.EXTERNAL:
        return Direction.OUT_OF_COUNTY
    a, b = _RANK.get(source.level, 2), _RANK.get(target.level, 2)
    if b > a:
        return Direction.UPWARD
    if b < a:
        return Direction.DOWNWARD
    return Direction.LATERAL


def _check_target(source: Institution, target: Institution, department: Department | None) -> None:
    if target.pk == source.pk:
        raise InvalidInput(
            _("A referral cannot go to the referring institution itself."), field="to_institution"
        )
    if not target.is_active:
        raise InvalidInput(_("This institution is closed."), field="to_institution")
    if target.kind in _NOT_RECEIVERS:
        raise InvalidInput(_("This institution does not receive patients."), field="to_institution")
    if target.level != Level.EXTERNAL and target.consortium_id != source.consortium_id:
        root = target.parent
        while root is not None and root.consortium_id is None:
            root = root.parent
        if root is None or root.consortium_id != source.consortium_id:
            raise InvalidInput(
                _(
                    "This institution is neither a member of the consortium nor a hospital marked "
                    "as external: out-of-county referrals go to external hospitals."
                ),
                field="to_institution",
            )
    if department is not None and department.institution_id != target.pk:
        raise InvalidInput(_("This department is not at the receiving institution."), field="to_department")


def _deadline(urgency: str, start: dt.datetime) -> dt.datetime:
    row = AcceptanceDeadline.objects.filter(urgency=urgency).first()
    minutes = row.minutes if row else DEFAULT_DEADLINE_MINUTES.get(urgency, 24 * 60)
    return start + dt.timedelta(minutes=minutes)


def _green_department(referral: Referral) -> Department | None:
    if referral.to_department_id or referral.green_channel is None:
        return referral.to_department
    depts = Department.objects.filter(institution_id=referral.to_institution_id)
    return (
        depts.filter(category=referral.green_channel.department_category).first()
        or depts.filter(category="emergency").first()
    )


def _alert(referral: Referral, kind: str) -> None:
    Alert.objects.create(
        referral=referral,
        institution_id=referral.to_institution_id,
        department_id=referral.to_department_id,
        kind=kind,
    )


def _clear_alerts(referral: Referral, at: dt.datetime, user: Any) -> None:
    Alert.objects.filter(referral=referral, acknowledged_at__isnull=True).update(
        acknowledged_at=at, acknowledged_by=user
    )


def _release_booking(who: Actor, referral: Referral, reason: str) -> None:
    """Give the appointment back when the referral will not bring the patient to it."""
    if referral.booking_id is None:
        return
    from yigongti.scheduling.choices import BookingStatus
    from yigongti.scheduling.services import booking_cancel

    booking = referral.booking
    if booking is not None and booking.status == BookingStatus.BOOKED:
        booking_cancel(actor=who.user, booking=booking, reason=reason)


def _patient_referable(actor: Actor, patient: Patient) -> bool:
    """A grassroots doctor refers the residents she looks after (or patients referred to her);
    a county hospital refers whom it treats, found through the master patient index."""
    if actor.system or actor.scope is None:
        return True
    if patient.merged_into_id is not None:
        return False
    if patient.village_id in actor.scope.resident_village_ids:
        return True
    institution = actor.membership.institution
    if institution.level == Level.COUNTY or actor.office:
        return True
    return Referral.objects.filter(patient=patient, to_institution_id=actor.institution_id).exists()


def _text(value: str, field: str, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise InvalidInput(_("This text is too long."), field=field)
    return value


# --- create and submit ------------------------------------------------------------------------


@transaction.atomic
def referral_create(
    *,
    actor: Any,
    patient: Patient,
    to_institution: Institution,
    diagnosis_code: str,
    diagnosis_name: str,
    reason: ReferralReason | None,
    to_department: Department | None = None,
    urgency: str = Urgency.ROUTINE,
    green_channel: GreenChannelKind | None = None,
    history: str = "",
    treatment: str = "",
    reason_note: str = "",
    from_institution: Institution | None = None,
    slot: Any = None,
    submit: bool = False,
    at: dt.datetime | None = None,
) -> Referral:
    """A referral-out slip, kept as a draft unless ``submit``. ``slot`` (a scheduling slot at
    the receiver, usually one reserved for referrals) books the patient's appointment in the
    same transaction; cancelling, rejecting or redirecting the referral cancels it."""
    who = Actor(actor)
    if not who.system:
        who.scope.require(  # type: ignore[union-attr]
            not who.scope.is_oversight,  # type: ignore[union-attr]
            _("Referrals are written by the clinical staff of a member institution."),
        )
        from_institution = who.membership.institution
    if from_institution is None:
        raise InvalidInput(_("The referring institution is required."), field="from_institution")
    if from_institution.level not in _RANK:
        raise Forbidden(_("Only member hospitals, township centres and village clinics refer patients."))
    if not _patient_referable(who, patient):
        raise NotFound(_("No such patient in your scope."), field="patient")
    _check_target(from_institution, to_institution, to_department)
    code = diagnoses.normalize(diagnosis_code)
    name = _text(diagnosis_name, "diagnosis_name", 120) or diagnoses.name(code) or ""
    if not name:
        raise InvalidInput(_("Write the preliminary diagnosis."), field="diagnosis_name")
    if urgency not in Urgency.values:
        raise InvalidInput(_("Unknown urgency."), field="urgency")
    direction = direction_between(from_institution, to_institution)
    if reason is None or not reason.is_active:
        raise InvalidInput(_("Choose the reason for the referral."), field="reason")
    wanted = ReasonDirection.DOWNWARD if direction == Direction.DOWNWARD else ReasonDirection.UPWARD
    if reason.direction != wanted:
        raise InvalidInput(
            _("This reason is not a criterion for a referral in this direction."), field="reason"
        )
    if green_channel is not None:
        if not green_channel.is_active:
            raise InvalidInput(_("This green-channel kind is no longer used."), field="green_channel")
        if direction == Direction.DOWNWARD:
            raise InvalidInput(_("The green channel is for referrals up, not down."), field="green_channel")
        urgency = Urgency.EMERGENCY
        if slot is not None:
            raise InvalidInput(_("The green channel needs no appointment."), field="slot")
    if slot is not None and slot.session.institution_id != to_institution.pk:
        raise InvalidInput(_("This appointment is not at the receiving institution."), field="slot")
    now = _now(at, who)
    referral = Referral(
        number="",
        direction=direction,
        urgency=urgency,
        green_channel=green_channel,
        patient=patient,
        from_institution=from_institution,
        from_doctor=actor,
        to_institution=to_institution,
        to_department=to_department,
        diagnosis_code=code,
        diagnosis_name=name,
        history=_text(history, "history", 4000),
        treatment=_text(treatment, "treatment", 4000),
        reason=reason,
        reason_note=_text(reason_note, "reason_note", 300),
    )
    referral.number = f"T{now:%y%m%d%H%M%S%f}"[:20]
    referral.save()
    referral.number = f"ZZ{timezone.localtime(now):%Y%m%d}{referral.pk:06d}"
    Referral.objects.filter(pk=referral.pk).update(number=referral.number)
    if slot is not None:
        from yigongti.scheduling.services import booking_create

        referral.booking = booking_create(actor=actor, slot=slot, patient=patient, for_referral=True)
        Referral.objects.filter(pk=referral.pk).update(booking=referral.booking)
    _record(
        who,
        referral,
        "referral.create",
        None,
        now,
        number=referral.number,
        direction=direction,
        booking_id=referral.booking_id,
    )
    if submit:
        _submit(who, referral, now)
    return referral


def _submit(who: Actor, referral: Referral, now: dt.datetime) -> None:
    before = _state(referral)
    _move(referral, Status.SUBMITTED)
    referral.submitted_at = now
    referral.deadline_at = _deadline(referral.urgency, now)
    kind = None
    if referral.green_channel_id:
        referral.to_department = _green_department(referral)
        referral.bed_held = referral.to_department is not None
        kind = AlertKind.GREEN_CHANNEL
    elif referral.urgency != Urgency.ROUTINE:
        kind = AlertKind.URGENT
    referral.save()
    if kind:
        _alert(referral, kind)
    _record(who, referral, "referral.submit", before, now, deadline_at=referral.deadline_at)
    _changed(referral)


@transaction.atomic
def referral_submit(*, actor: Any, referral: Referral, at: dt.datetime | None = None) -> Referral:
    who = Actor(actor)
    referral = _lock(referral, who)
    _require_sender(who, referral)
    _submit(who, referral, _now(at, who))
    return referral


# --- the receiver's answers -------------------------------------------------------------------


def _assignment(
    referral: Referral, department: Department | None, doctor: Staff | None
) -> tuple[Department | None, Staff | None]:
    if department is not None and department.institution_id != referral.to_institution_id:
        raise InvalidInput(_("This department is not at the receiving institution."), field="department")
    if doctor is not None:
        if doctor.institution_id != referral.to_institution_id or not doctor.is_active:
            raise InvalidInput(_("This doctor does not work at the receiving institution."), field="doctor")
        department = department or doctor.department
    return department, doctor


def _set_department(referral: Referral, department: Department | None) -> None:
    if department is not None:
        referral.to_department = department
        if referral.bed_held:  # the hold follows the patient's department
            referral.bed_held = True


@transaction.atomic
def referral_accept(
    *,
    actor: Any,
    referral: Referral,
    department: Department | None = None,
    doctor: Staff | None = None,
    at: dt.datetime | None = None,
) -> Referral:
    who = Actor(actor)
    referral = _lock(referral, who)
    _require_receiver(who, referral)
    now = _now(at, who)
    before = _state(referral)
    _move(referral, Status.ACCEPTED)
    department, doctor = _assignment(referral, department, doctor)
    _set_department(referral, department)
    if doctor is not None:
        referral.assigned_doctor = doctor
    referral.accepted_at = now
    referral.save()
    _clear_alerts(referral, now, actor)
    _record(who, referral, "referral.accept", before, now)
    if referral.direction == Direction.DOWNWARD:
        _open_follow_up(who, referral, now)
    _changed(referral)
    return referral


@transaction.atomic
def referral_reject(
    *, actor: Any, referral: Referral, reason: str, at: dt.datetime | None = None
) -> Referral:
    who = Actor(actor)
    referral = _lock(referral, who)
    _require_receiver(who, referral)
    reason = _text(reason, "reason", 300)
    if not reason:
        raise InvalidInput(_("Say why the referral is rejected."), field="reason")
    now = _now(at, who)
    before = _state(referral)
    _move(referral, Status.REJECTED)
    referral.refusal_reason = reason
    referral.bed_held = False
    referral.closed_at = now
    referral.save()
    _release_booking(who, referral, reason)
    _clear_alerts(referral, now, actor)
    _record(who, referral, "referral.reject", before, now)
    _changed(referral)
    return referral


@transaction.atomic
def referral_redirect(
    *,
    actor: Any,
    referral: Referral,
    to_institution: Institution,
    to_department: Department | None = None,
    note: str = "",
    at: dt.datetime | None = None,
) -> Referral:
    """Send the referral on to another institution or department; it waits for acceptance again."""
    who = Actor(actor)
    referral = _lock(referral, who)
    _require_receiver(who, referral)
    _check_target(referral.from_institution, to_institution, to_department)
    if to_institution.pk == referral.to_institution_id and (
        to_department is None or to_department.pk == referral.to_department_id
    ):
        raise InvalidInput(_("Choose another institution or department."), field="to_institution")
    note = _text(note, "note", 300)
    now = _now(at, who)
    before = _state(referral)
    old_target = referral.to_institution_id
    _move(referral, Status.REDIRECTED)
    if to_institution.pk != old_target:
        _release_booking(who, referral, note)
        referral.booking = None
    referral.to_institution = to_institution
    referral.to_department = to_department
    referral.assigned_doctor = None
    referral.direction = direction_between(referral.from_institution, to_institution)
    referral.deadline_at = _deadline(referral.urgency, now)
    if referral.green_channel_id:
        referral.to_department = _green_department(referral)
        referral.bed_held = referral.to_department is not None
    referral.save()
    _clear_alerts(referral, now, actor)
    _alert(referral, AlertKind.GREEN_CHANNEL if referral.green_channel_id else AlertKind.REDIRECTED)
    _record(who, referral, "referral.redirect", before, now, note=note)
    month = referral.month_key
    _changed(referral, {(old_target, month)} if month else None)
    return referral


@transaction.atomic
def referral_assign(
    *, actor: Any, referral: Referral, department: Department | None, doctor: Staff | None
) -> Referral:
    """The referral service centre (or the receiver) names the department and doctor."""
    who = Actor(actor)
    referral = _lock(referral, who)
    _require_receiver(who, referral)
    if referral.status not in ASSIGNABLE:
        raise Conflict(_("This referral can no longer be assigned."), code="illegal_transition")
    if department is None and doctor is None:
        raise InvalidInput(_("Choose a department or a doctor."), field="department")
    department, doctor = _assignment(referral, department, doctor)
    now = timezone.now()
    before = _state(referral)
    _set_department(referral, department)
    if doctor is not None:
        referral.assigned_doctor = doctor
    referral.save()
    _record(who, referral, "referral.assign", before, now)
    _changed(referral)
    return referral


@transaction.atomic
def referral_arrive(*, actor: Any, referral: Referral, at: dt.datetime | None = None) -> Referral:
    who = Actor(actor)
    referral = _lock(referral, who)
    _require_receiver(who, referral)
    now = _now(at, who)
    before = _state(referral)
    _move(referral, Status.ARRIVED)
    referral.arrived_at = now
    referral.bed_held = False
    referral.save()
    _record(who, referral, "referral.arrive", before, now)
    _changed(referral)
    return referral


@transaction.atomic
def referral_start_care(
    *, actor: Any, referral: Referral, mode: str, at: dt.datetime | None = None
) -> Referral:
    who = Actor(actor)
    referral = _lock(referral, who)
    _require_receiver(who, referral)
    if mode not in CareMode.values:
        raise InvalidInput(_("Choose outpatient care or admission."), field="mode")
    now = _now(at, who)
    before = _state(referral)
    _move(referral, Status.IN_CARE)
    referral.care_mode = mode
    referral.treated_at = now
    referral.save()
    _record(who, referral, "referral.start_care", before, now)
    _changed(referral)
    return referral


@transaction.atomic
def referral_complete(
    *,
    actor: Any,
    referral: Referral,
    diagnosis_code: str,
    diagnosis_name: str,
    results: str = "",
    treatment: str = "",
    advice: str = "",
    at: dt.datetime | None = None,
) -> Referral:
    """Write the return slip. An upward (or lateral, out-of-county) referral then asks the
    patient's grassroots doctor for a follow-up within two weeks."""
    who = Actor(actor)
    referral = _lock(referral, who)
    _require_receiver(who, referral)
    if not can_move(referral.status, Status.COMPLETED):
        _move(referral, Status.COMPLETED)
    code = diagnoses.normalize(diagnosis_code, field="diagnosis_code")
    name = _text(diagnosis_name, "diagnosis_name", 120) or diagnoses.name(code) or ""
    if not name:
        raise InvalidInput(_("Write the diagnosis on the return slip."), field="diagnosis_name")
    advice = _text(advice, "advice", 4000)
    if not advice:
        raise InvalidInput(_("Write the advice for continued care at the grassroots."), field="advice")
    now = _now(at, who)
    before = _state(referral)
    _move(referral, Status.COMPLETED)
    referral.return_diagnosis_code = code
    referral.return_diagnosis_name = name
    referral.return_results = _text(results, "results", 4000)
    referral.return_treatment = _text(treatment, "treatment", 4000)
    referral.return_advice = advice
    referral.completed_at = now
    referral.save()
    _record(who, referral, "referral.complete", before, now)
    tasks = referral.follow_ups.exclude(status=TaskStatus.CANCELLED)
    if referral.direction != Direction.DOWNWARD:
        _open_follow_up(who, referral, now)
    elif tasks.exists() and not tasks.filter(status=TaskStatus.OPEN).exists():
        # the grassroots already saw the patient after the downward referral: the loop is closed
        before = _state(referral)
        _move(referral, Status.FOLLOWED_UP)
        referral.followed_up_at = tasks.order_by("-done_at").values_list("done_at", flat=True).first() or now
        referral.closed_at = now
        referral.save()
        _record(who, referral, "referral.follow_up", before, now)
    _changed(referral)
    return referral


@transaction.atomic
def referral_cancel(
    *, actor: Any, referral: Referral, reason: str, at: dt.datetime | None = None
) -> Referral:
    """Cancel from any state that is not final; releases a held bed and closes open tasks."""
    who = Actor(actor)
    referral = _lock(referral, who)
    if not _visible(who, referral):
        raise NotFound(_("No such referral."))
    if not (_is_sender(who, referral) or _is_receiver(who, referral) or who.office):
        raise Forbidden(_("Only the referring or receiving institution may cancel this referral."))
    reason = _text(reason, "reason", 300)
    if not reason:
        raise InvalidInput(_("Say why the referral is cancelled."), field="reason")
    now = _now(at, who)
    before = _state(referral)
    _move(referral, Status.CANCELLED)
    referral.cancel_reason = reason
    referral.bed_held = False
    referral.closed_at = now
    referral.save()
    _release_booking(who, referral, reason)
    referral.follow_ups.filter(status=TaskStatus.OPEN).update(status=TaskStatus.CANCELLED)
    _clear_alerts(referral, now, actor)
    _record(who, referral, "referral.cancel", before, now)
    _changed(referral)
    return referral


# --- the closed loop --------------------------------------------------------------------------


def _open_follow_up(who: Actor, referral: Referral, now: dt.datetime) -> FollowUpTask | None:
    if referral.follow_ups.filter(status=TaskStatus.OPEN).exists():
        return None
    institution, staff = responsible_grassroots(referral.patient)
    if institution is None:
        for side in (referral.to_institution, referral.from_institution):
            if side.level in (Level.TOWNSHIP, Level.VILLAGE):
                institution = side
                break
    if institution is None:
        return None
    task = FollowUpTask.objects.create(
        referral=referral,
        patient=referral.patient,
        institution=institution,
        staff=staff,
        due_on=timezone.localtime(now).date() + dt.timedelta(days=FOLLOW_UP_DAYS),
    )
    _record(
        who,
        referral,
        "referral.follow_up_task",
        None,
        now,
        task_id=task.pk,
        task_institution_id=institution.pk,
        due_on=task.due_on,
    )
    return task


@transaction.atomic
def follow_up_record(
    *, actor: Any, task: FollowUpTask, note: str, at: dt.datetime | None = None
) -> FollowUpTask:
    """The grassroots saw the patient: the task closes, and a completed referral is followed up."""
    who = Actor(actor)
    found = FollowUpTask.objects.select_for_update().select_related("referral").filter(pk=task.pk).first()
    if found is None or not who.sees(found.institution_id):
        raise NotFound(_("No such follow-up task."))
    task = found
    if not who.system:
        who.scope.require(  # type: ignore[union-attr]
            not who.scope.is_oversight,  # type: ignore[union-attr]
            _("The grassroots doctor records the follow-up."),
        )
    if task.status != TaskStatus.OPEN:
        raise Conflict(_("This follow-up is already closed."), code="illegal_transition")
    note = _text(note, "note", 4000)
    if not note:
        raise InvalidInput(_("Write what the follow-up found."), field="note")
    now = _now(at, who)
    task.status = TaskStatus.DONE
    task.done_at = now
    task.done_by = actor
    task.note = note
    task.save()
    referral = _lock(task.referral, who)
    before = _state(referral)
    if referral.status == Status.COMPLETED:
        _move(referral, Status.FOLLOWED_UP)
        referral.followed_up_at = now
        referral.closed_at = now
        referral.save()
    _record(who, referral, "referral.follow_up", before, now, task_id=task.pk, note=note)
    _changed(referral)
    return task


# --- attachments, alerts, beds ----------------------------------------------------------------


@transaction.atomic
def attachment_add(
    *, actor: Any, referral: Referral, upload: UploadedFile, description: str = ""
) -> Attachment:
    who = Actor(actor)
    referral = _lock(referral, who)
    if not _visible(who, referral):
        raise NotFound(_("No such referral."))
    if not (_is_sender(who, referral) or _is_receiver(who, referral)):
        raise Forbidden(_("Only the referring or receiving institution may attach results."))
    if referral.status in FINAL:
        raise Conflict(_("This referral is closed."), code="illegal_transition")
    name = os.path.basename(upload.name or "")[:200]
    ext = os.path.splitext(name)[1].lower()
    if ext not in ATTACHMENT_TYPES:
        raise InvalidInput(_("Attach a PDF, JPEG, PNG or text file."), field="file")
    size = upload.size or 0
    if size == 0:
        raise InvalidInput(_("The file is empty."), field="file")
    if size > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(_("The file is larger than 10 MB."), field="file")
    attachment = Attachment(
        referral=referral,
        original_name=name,
        content_type=ATTACHMENT_TYPES[ext],
        size=size,
        description=_text(description, "description", 200),
        uploaded_by=actor,
    )
    attachment.file.save(f"{referral.number}{ext}", upload, save=False)
    attachment.save()
    _record(who, referral, "referral.attach", None, timezone.now(), attachment_id=attachment.pk, name=name)
    return attachment


@transaction.atomic
def alert_acknowledge(*, actor: Any, alert: Alert) -> Alert:
    who = Actor(actor)
    locked = Alert.objects.select_for_update().filter(pk=alert.pk).first()
    if locked is None:
        raise NotFound(_("No such alert."))
    alert = locked
    if not (who.institution_id == alert.institution_id or (who.office and who.sees(alert.institution_id))):
        raise NotFound(_("No such alert."))
    if alert.acknowledged_at is not None:
        raise Conflict(_("This alert was already acknowledged."))
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = actor
    alert.save()
    audit(
        actor=actor,
        verb="referral.alert_acknowledge",
        subject=alert,
        after={"referral_id": alert.referral_id},
        membership=who.membership,
    )
    return alert


@transaction.atomic
def occupancy_set(*, actor: Any, department: Department, occupied: int) -> WardOccupancy:
    """The ward (or the referral service centre) says how many beds are in use."""
    who = Actor(actor)
    if not who.system and not (
        who.institution_id == department.institution_id
        or (who.office and who.sees(department.institution_id))
    ):
        raise NotFound(_("No such department."))
    if occupied < 0 or occupied > department.beds:
        raise InvalidInput(
            _("Occupied beds must be between 0 and the %(beds)s approved beds.") % {"beds": department.beds},
            field="occupied",
        )
    row, _created = WardOccupancy.objects.select_for_update().get_or_create(department=department)
    before = {"occupied": row.occupied}
    row.occupied = occupied
    row.save()
    audit(
        actor=actor,
        verb="referral.ward_occupancy",
        subject=row,
        before=before,
        after={"occupied": occupied, "department_id": department.pk},
        membership=who.membership,
    )
    return row
